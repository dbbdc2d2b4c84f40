"""CPU mode for verl: run verl's real trainers on a machine without an accelerator.

For tests and laptop debugging on tiny models; not for speed. One call switches it on::

    import funrl.cpu
    funrl.cpu.activate()            # before building any verl trainer / worker in this process
    funrl.cpu.init_process_group()  # gloo; reads torchrun's RANK / WORLD_SIZE / MASTER_* (or a 1-process default)

and the trainer config gets ``funrl.cpu.HYDRA_OVERRIDES`` (``python -m funrl.sft_trainer
trainer.device=cpu ...`` does all three). What ``activate()`` does, each through a verl extension point:

1. registers ``PlatformCPU`` (``funrl/cpu/platform.py``) with ``verl.plugin.platform.PlatformRegistry`` under
   the name ``cpu`` and makes it the process's platform (``set_platform``): device ``cpu``, collectives
   over gloo, a stand-in device module whose memory statistics are zeros;
2. registers verl's FSDP engines (``language_model`` and ``value_model``, backends ``fsdp`` and ``fsdp2``)
   for device ``cpu`` with ``verl.workers.engine.EngineRegistry`` (verl registers them for cuda/npu only).

Why ``init_process_group()``: verl builds the backend string ``cpu:gloo,<device>:<backend>``, which on CPU
is ``cpu:gloo,cpu:gloo``, rejected by torch as a duplicate; a plain ``gloo`` group started first makes
verl's own initialisation (which checks ``is_initialized()``) a no-op.

Why the overrides: flash-attention and remove-padding kernels are CUDA-only (``sdpa`` attention and
``use_remove_padding=False`` instead), ``torch.compile`` is slow to warm up on CPU, and FSDP2 runs on
gloo while FSDP1 expects a device; fp32 everywhere keeps results exact and comparable across splits.

Ray workers (GRPO) are separate processes: each must call ``activate()`` (and have a gloo group) before
verl builds its worker, e.g. from a ``verl.plugins`` entry point when ``VERL_PLATFORM=cpu`` is set.
"""

from __future__ import annotations

import os
from datetime import timedelta

HYDRA_OVERRIDES: tuple[str, ...] = (
    "trainer.device=cpu",
    "engine.strategy=fsdp2",
    "engine.use_torch_compile=False",
    "engine.model_dtype=fp32",
    "+engine.mixed_precision.param_dtype=fp32",
    "+engine.mixed_precision.reduce_dtype=fp32",
    "+engine.mixed_precision.buffer_dtype=fp32",
    "model.use_remove_padding=False",
    "model.enable_gradient_checkpointing=False",
    "+model.override_config.attn_implementation=sdpa",
)
"""Hydra overrides that a verl trainer config needs in CPU mode (``sft_trainer_engine`` key layout)."""

_ENGINE_MODEL_TYPES = ("language_model", "value_model")
_ENGINE_BACKENDS = ("fsdp", "fsdp2")


def activate() -> None:
    """Make this process run verl on CPU (idempotent). See the module docstring."""
    from verl.plugin.platform import PlatformRegistry, get_platform, set_platform

    from funrl.cpu.platform import PLATFORM_NAME, PlatformCPU

    if PlatformRegistry.get(PLATFORM_NAME) is not PlatformCPU:
        PlatformRegistry.register(platform=PLATFORM_NAME)(PlatformCPU)
    if not _platform_is_cpu():
        set_platform(PlatformCPU())
    if get_platform().device_name != "cpu":
        raise RuntimeError("funrl.cpu.activate(): verl's platform is not the CPU platform after activation")
    _register_cpu_engines()


def _platform_is_cpu() -> bool:
    from verl.plugin.platform import platform_manager

    from funrl.cpu.platform import PlatformCPU

    return isinstance(platform_manager._current_platform, PlatformCPU)


def _register_cpu_engines() -> None:
    from verl.workers.engine import EngineRegistry

    for model_type in _ENGINE_MODEL_TYPES:
        for backend in _ENGINE_BACKENDS:
            registry = EngineRegistry._engines.get(model_type, {}).get(backend, {})
            if "cpu" in registry:
                continue
            if "cuda" not in registry:
                raise RuntimeError(
                    f"funrl.cpu: verl has no cuda engine for model_type={model_type!r} backend={backend!r} "
                    "to reuse on CPU; verl's engine registry changed"
                )
            EngineRegistry.register(model_type=model_type, backend=backend, device="cpu")(registry["cuda"])


def is_active() -> bool:
    """True if ``activate()`` has run in this process."""
    try:
        return _platform_is_cpu()
    except ImportError:
        return False


def init_process_group(timeout_s: int = 600) -> tuple[int, int]:
    """Start a gloo process group unless one exists; return ``(rank, world_size)``.

    Reads torchrun's ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``; a plain
    ``python`` process (none set) becomes rank 0 of 1 on 127.0.0.1 with a free port.
    """
    import torch.distributed as dist

    if not dist.is_initialized():
        if "RANK" not in os.environ:
            os.environ.update({"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1"})
            os.environ.setdefault("MASTER_PORT", str(_free_port()))
        dist.init_process_group(backend="gloo", timeout=timedelta(seconds=timeout_s))
    return dist.get_rank(), dist.get_world_size()


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
