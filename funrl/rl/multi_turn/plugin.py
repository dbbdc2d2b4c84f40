"""verl plugin (entry point ``funrl_multi_turn`` of group ``verl.plugins``): the ``bfcl_multi_turn``
agent loop.

verl imports this module on every ``import verl``, in the driver and in every Ray worker. Registering
the loop means importing :mod:`funrl.rl.multi_turn.loop`, which imports verl's agent-loop module (~1.4 s
of CPU: fastapi, datasets, pandas, ...); most processes of a run never run an agent loop (the driver, the
training and reward workers, the rollout server). So the registration waits for verl's own
``verl.experimental.agent_loop.agent_loop`` to be imported, and happens right after it, through verl's
``@register`` (the loop module's decorator): every process that can look the loop up has it, and the
others pay nothing. Where verl's module is already imported, the loop is registered at once.

A failure (e.g. bfcl-eval not installed) is logged as a warning and never breaks ``import verl`` or the
import of verl's agent-loop module; a run that selects the loop then fails in verl (``Agent loop
bfcl_multi_turn not registered``) with this warning above it.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import sys
from typing import Any

logger = logging.getLogger(__name__)

VERL_AGENT_LOOP = "verl.experimental.agent_loop.agent_loop"
"""The verl module whose ``@register`` and registry the loop needs."""


def register_loop() -> None:
    """Import :mod:`funrl.rl.multi_turn.loop` (its ``@register`` registers the agent loop); never raises."""
    try:
        from funrl.rl.multi_turn import loop  # noqa: F401  (registers the agent loop)
    except Exception:  # never break `import verl`
        logger.warning("funrl: could not register the bfcl_multi_turn agent loop", exc_info=True)


class _RegisterAfter(importlib.abc.Loader):
    """Runs verl's module as its own loader does, then registers the loop."""

    def __init__(self, inner: importlib.abc.Loader) -> None:
        self.inner = inner

    def create_module(self, spec: Any) -> Any:
        return self.inner.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.inner.exec_module(module)
        register_loop()

    def __getattr__(self, name: str) -> Any:  # get_source, get_code, ...: the inner loader's
        return getattr(self.inner, name)


class _WhenImported(importlib.abc.MetaPathFinder):
    """One-shot finder: the spec of verl's agent-loop module, with a loader that registers the loop."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != VERL_AGENT_LOOP:
            return None
        try:
            sys.meta_path.remove(self)  # one shot, and the other finders find the real spec
        except ValueError:  # another thread's import got here first
            return None
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisterAfter(spec.loader)
        return spec


def install() -> None:
    """Register the loop now if verl's agent-loop module is imported, else right after it is (idempotent)."""
    if VERL_AGENT_LOOP in sys.modules:
        register_loop()
    elif not any(isinstance(f, _WhenImported) for f in sys.meta_path):
        sys.meta_path.insert(0, _WhenImported())


install()
