"""CPU mode for verl: run verl's real trainers on a machine without an accelerator.

For tests and laptop debugging on tiny models; not for speed. ``python -m funrl.train +recipe=<name>
hardware=cpu`` does everything below (the profile sets ``trainer.device=cpu``; ``funrl.train.runners``
then prepares the device and, for SFT, the gloo group). By hand::

    import funrl.cpu
    funrl.cpu.activate()            # before building any verl trainer / worker in this process
    funrl.cpu.init_process_group()  # gloo; reads torchrun's RANK / WORLD_SIZE / MASTER_* (or a 1-process default)

What ``activate()`` does, each through a verl extension point:

1. registers ``PlatformCPU`` (``funrl/cpu/platform.py``) with ``verl.plugin.platform.PlatformRegistry`` under
   the name ``cpu`` and makes it the process's platform (``set_platform``): device ``cpu``, collectives
   over gloo, a stand-in device module whose memory statistics are zeros;
2. registers verl's FSDP engines (``language_model`` and ``value_model``, backends ``fsdp`` and ``fsdp2``)
   for device ``cpu`` with ``verl.workers.engine.EngineRegistry`` (verl registers them for cuda/npu only).

Why ``init_process_group()``: verl builds the backend string ``cpu:gloo,<device>:<backend>``, which on CPU
is ``cpu:gloo,cpu:gloo``, rejected by torch as a duplicate; a plain ``gloo`` group started first makes
verl's own initialisation (which checks ``is_initialized()``) a no-op.

The CPU hardware profiles (``recipes/hardware/sft/cpu.yaml``, ``recipes/hardware/rl/cpu.yaml``) hold the
config side: flash-attention and remove-padding kernels are CUDA-only (``sdpa`` attention and
``use_remove_padding=False`` instead), ``torch.compile`` is slow to warm up on CPU, and FSDP2 runs on
gloo while FSDP1 expects a device; fp32 everywhere keeps results exact and comparable across splits.

Ray workers (GRPO) are separate processes: the ``verl.plugins`` entry point ``funrl_cpu``
(``funrl.cpu.plugin``) switches each one over when ``VERL_PLATFORM=cpu`` is in its environment
(``funrl.cpu.rollout_process``).
"""

from __future__ import annotations

import os
from datetime import timedelta

_ACTIVE = False  # set by activate() in this process


def activate() -> None:
    """Make this process run verl on CPU (idempotent). See the module docstring."""
    global _ACTIVE
    if _ACTIVE:
        return
    from verl.plugin.platform import PlatformRegistry, get_platform, set_platform

    from funrl.cpu.platform import PLATFORM_NAME, PlatformCPU

    if PlatformRegistry.get(PLATFORM_NAME) is not PlatformCPU:
        PlatformRegistry.register(platform=PLATFORM_NAME)(PlatformCPU)
    set_platform(PlatformCPU())
    if get_platform().device_name != "cpu":
        raise RuntimeError("funrl.cpu.activate(): verl's platform is not the CPU platform after activation")
    _register_cpu_engines()
    _ACTIVE = True


def _register_cpu_engines() -> None:
    """Register verl's own FSDP engine classes (LM head, value head) for device ``cpu`` too.

    verl registers them for cuda and npu only (``@EngineRegistry.register(..., device=["cuda", "npu"])``);
    the classes themselves run on CPU once the platform is ``PlatformCPU``.
    """
    from verl.workers.engine import EngineRegistry
    from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead, FSDPEngineWithValueHead

    for model_type, engine in (
        ("language_model", FSDPEngineWithLMHead),
        ("value_model", FSDPEngineWithValueHead),
    ):
        try:
            EngineRegistry.register(model_type=model_type, backend=["fsdp", "fsdp2"], device="cpu")(engine)
        except AssertionError:  # verl's "already registered" (another activate() in this process's past)
            pass


def is_active() -> bool:
    """True if ``activate()`` has run in this process."""
    return _ACTIVE


def init_process_group(timeout_s: int = 600) -> tuple[int, int]:
    """Start a gloo process group unless one exists; return ``(rank, world_size)``.

    Reads torchrun's ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``; a plain
    ``python`` process (none set) becomes rank 0 of 1 on 127.0.0.1 with a free port.
    """
    import torch.distributed as dist

    if not dist.is_initialized():
        if "RANK" not in os.environ:
            os.environ.update({"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1"})
            os.environ.setdefault("MASTER_PORT", str(free_port()))
        dist.init_process_group(backend="gloo", timeout=timedelta(seconds=timeout_s))
    return dist.get_rank(), dist.get_world_size()


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for a 1-process gloo group, or a torchrun master)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
