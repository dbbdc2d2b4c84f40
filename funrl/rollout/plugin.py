"""verl plugin (entry point ``funrl_rollout`` of group ``verl.plugins``): the ``funrl_hf`` rollout engine.

verl imports this module on every ``import verl``, in the driver and in every Ray worker:

- registers the ``funrl_hf`` rollout engine (``funrl.rollout.register``);
- in a process whose environment has ``VERL_PLATFORM=cpu`` (set for the whole Ray job by the CPU
  profile, ``recipes/hardware/rl/cpu.yaml``), switches the process to verl's CPU platform
  (``funrl.rollout.cpu_process.activate_cpu_process``).

A failure is logged as a warning and never breaks ``import verl``; a run that needs the engine then fails
loudly in verl (``Unknown rollout mode: funrl_hf``) with this warning above it.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

try:
    from funrl.rollout import register
    from funrl.rollout.cpu_process import activate_cpu_process, cpu_mode_requested

    register()
    if cpu_mode_requested():
        activate_cpu_process()
except Exception:  # never break `import verl`
    logger.warning("funrl: could not set up the funrl_hf rollout engine / CPU platform", exc_info=True)
