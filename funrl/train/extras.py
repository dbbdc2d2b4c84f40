"""The light install (``pip install .`` without extras) has the reward and data preparation only. The
commands that need the ``train`` extra say so, in one line and before doing any work, instead of a
``ModuleNotFoundError`` traceback: ``require_train_extra("funrl.train", TRAIN_MODULES)``.

Standard library only (and ``funrl.train``'s package ``__init__`` imports OmegaConf only when present), so
this module imports on the light install.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.util import find_spec

TRAIN_MODULES = ("omegaconf", "hydra", "torch", "verl")
"""What ``python -m funrl.train`` imports (Hydra/OmegaConf to compose, verl and torch to check and run)."""

INSTALL_HINT = (
    'pip install torch==2.13.0 (on CPU; on GPUs the gpu extra brings it), then pip install -e ".[train]" '
    "in the FunRL checkout"
)
EXIT_STATUS = 2


def missing_modules(modules: Sequence[str]) -> list[str]:
    """The top-level modules of ``modules`` that cannot be imported here (found without importing them)."""
    missing = []
    for name in modules:
        try:
            found = find_spec(name) is not None
        except (ImportError, ValueError):  # a finder refusing it, or a broken half-imported module
            found = False
        if not found:
            missing.append(name)
    return missing


def require_train_extra(command: str, modules: Sequence[str] = TRAIN_MODULES) -> None:
    """Exit with status 2 and one line naming the extra to install when any of ``modules`` is missing."""
    missing = missing_modules(modules)
    if missing:
        print(
            f"{command}: needs FunRL's train extra ({', '.join(missing)} not installed): {INSTALL_HINT}",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(EXIT_STATUS)
