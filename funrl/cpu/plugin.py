"""verl plugin (entry point ``funrl_cpu`` of group ``verl.plugins``): CPU mode in every process of a CPU run.

verl imports this module on every ``import verl``, in the driver and in every Ray worker. In a process
whose environment has ``VERL_PLATFORM=cpu`` (set for the whole Ray job by the CPU profile,
``recipes/hardware/rl/cpu.yaml``), it switches the process to verl's CPU platform
(``funrl.cpu.rollout_process.activate_cpu_process``); anywhere else it does nothing.

A failure is logged as a warning and never breaks ``import verl``; the run then fails loudly in verl on
the missing device, with this warning above it.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

try:
    from funrl.cpu.rollout_process import activate_cpu_process, cpu_mode_requested

    if cpu_mode_requested():
        activate_cpu_process()
except Exception:  # never break `import verl`
    logger.warning("funrl: could not switch this process to verl's CPU platform", exc_info=True)
