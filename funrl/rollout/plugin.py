"""verl plugin (entry point ``funrl_rollout`` of group ``verl.plugins``): the ``funrl_hf`` rollout engine.

verl imports this module on every ``import verl``, in the driver and in every Ray worker, and it registers
the ``funrl_hf`` rollout engine (``funrl.rollout.register``). CPU mode is a separate plugin
(``funrl.cpu.plugin``).

A failure is logged as a warning and never breaks ``import verl``; a run that needs the engine then fails
loudly in verl (``Unknown rollout mode: funrl_hf``) with this warning above it.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

try:
    from funrl.rollout import register

    register()
except Exception:  # never break `import verl`
    logger.warning("funrl: could not register the funrl_hf rollout engine", exc_info=True)
