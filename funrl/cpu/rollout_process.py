"""Switch a Ray worker process of a CPU run to verl's CPU platform before verl builds anything in it.

``funrl.cpu.activate()`` switches only the process it runs in; a GRPO run has many (the task runner,
the training workers, agent-loop and reward workers, the rollout server). The CPU profile
(``recipes/hardware/rl/cpu.yaml``) puts ``VERL_PLATFORM=cpu`` into the Ray job's environment, and the
``verl.plugins`` entry point (``funrl.cpu.plugin``) calls ``activate_cpu_process()`` on ``import
verl`` in every process that has it. Three things happen:

1. ``funrl.cpu.activate()``: verl's platform is ``PlatformCPU`` (gloo collectives, CPU device module)
   and verl's FSDP engines are registered for device ``cpu``.
2. ``torch.distributed.init_process_group`` accepts the backend string verl builds on CPU. verl's
   ``initialize_global_process_group_ray`` (called in ``TrainingWorker.__init__``) asks for
   ``cpu:gloo,<device>:<backend>`` = ``cpu:gloo,cpu:gloo``, which torch rejects as a duplicate device;
   a thin wrapper turns exactly that string into ``gloo`` (the same process group) and passes every
   other call through unchanged. The SFT path avoids this by starting its gloo group first
   (``funrl.cpu.init_process_group``); a Ray worker has no hook that runs before verl's call.
3. verl's FSDP2 engine builds the reference model (forward only) with ``CPUOffloadPolicy(pin_memory=True)``,
   and pinning memory needs an accelerator (torch raises "Cannot access accelerator device"). The name
   ``CPUOffloadPolicy`` in verl's engine module is pointed to a subclass that never pins; with no
   accelerator, pinning would buy nothing anyway.
"""

from __future__ import annotations

import functools
import os
from typing import Any

CPU_PLATFORM_ENV = "VERL_PLATFORM"


def cpu_mode_requested() -> bool:
    """True when this process's environment selects verl's CPU platform (``VERL_PLATFORM=cpu``)."""
    return os.environ.get(CPU_PLATFORM_ENV, "").strip().lower() == "cpu"


def _is_duplicate_cpu_gloo(backend: Any) -> bool:
    if not isinstance(backend, str) or "," not in backend:
        return False
    parts = [p.strip() for p in backend.split(",")]
    return all(p == "cpu:gloo" for p in parts)


def gloo_for_cpu_backend_strings() -> None:
    """Make ``torch.distributed.init_process_group`` read ``cpu:gloo,cpu:gloo`` as ``gloo`` (idempotent)."""
    import torch.distributed as dist

    original = dist.init_process_group
    if getattr(original, "__funrl_cpu__", False):
        return

    @functools.wraps(original)
    def init_process_group(*args: Any, **kwargs: Any) -> Any:
        if args and _is_duplicate_cpu_gloo(args[0]):
            args = ("gloo", *args[1:])
        if _is_duplicate_cpu_gloo(kwargs.get("backend")):
            kwargs["backend"] = "gloo"
        return original(*args, **kwargs)

    init_process_group.__funrl_cpu__ = True  # type: ignore[attr-defined]
    dist.init_process_group = init_process_group


def unpinned_cpu_offload_for_verl_fsdp2() -> None:
    """Make verl's FSDP2 engine build ``CPUOffloadPolicy`` with ``pin_memory=False`` (idempotent)."""
    from verl.workers.engine.fsdp import transformer_impl

    policy = transformer_impl.CPUOffloadPolicy
    if getattr(policy, "__funrl_cpu__", False):
        return

    class UnpinnedCPUOffloadPolicy(policy):  # type: ignore[misc, valid-type]
        """torch's ``CPUOffloadPolicy``, never pinning memory (no accelerator to copy to)."""

        __funrl_cpu__ = True

        def __init__(self, pin_memory: bool = False) -> None:
            super().__init__(pin_memory=False)

    transformer_impl.CPUOffloadPolicy = UnpinnedCPUOffloadPolicy


def activate_cpu_process() -> None:
    """The three steps of the module docstring."""
    import funrl.cpu

    funrl.cpu.activate()
    gloo_for_cpu_backend_strings()
    unpinned_cpu_offload_for_verl_fsdp2()
