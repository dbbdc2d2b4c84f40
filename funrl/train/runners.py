"""What ``python -m funrl.train`` does with a composed config: resolve, check, prepare the device, run.

- RL: ``verl.trainer.main_ppo.run_ppo`` with ``funrl.rl.trainer_hook.FunRLTaskRunner`` (verl's V1 task runner
  whose sync trainer feeds entropy to ``grpo_entropy``; for other estimators it is verl's own behaviour).
  ``run_ppo`` starts a local Ray, or joins the cluster when Ray is already up (``ray job submit``).
- SFT: ``funrl.sft.trainer.run_srml_sft`` in every torchrun process. Started without torchrun, a
  one-node run of several GPUs re-launches itself under ``torchrun --standalone``; a several-node run must
  be started by torchrun on each node (``recipes/launch/slurm_sft.sbatch``).

Device set-up lives here and nowhere else: ``prepare_device`` (``DEVICE_PREPARERS``: device name ->
function of the config) runs in the RL driver and in every SFT training process, just before a trainer is
built (a process that only re-launches torchrun skips it): ``cpu`` switches
on ``funrl.cpu`` (verl's CPU platform); anything else is verl's ``auto_set_device``. SFT then starts its
process group (``sft_process_group``: gloo on CPU, verl's own initialisation otherwise). Ray workers of a
CPU RL run switch themselves over from the ``verl.plugins`` entry point (``funrl.cpu.rollout_process``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from omegaconf import DictConfig

from funrl.train import RL, stage_of, world_size
from funrl.train.checks import check_config, resolve_config


def _prepare_cpu(cfg: DictConfig) -> None:
    import funrl.cpu

    funrl.cpu.activate()


def _prepare_accelerator(cfg: DictConfig) -> None:
    from verl.utils.device import auto_set_device

    auto_set_device(cfg)  # verl's own: switches trainer.device to npu on Ascend machines


DEVICE_PREPARERS: dict[str, Callable[[DictConfig], None]] = {"cpu": _prepare_cpu}
"""``trainer.device`` -> set-up run in the driver before training; anything else: ``_prepare_accelerator``."""


def prepare(cfg: DictConfig) -> list[str]:
    """Resolve ``cfg`` in place (FunRL's resolvers exist only in this process) and check it; return the
    summary lines. Raises ValueError naming the key on a bad config: the config itself
    (``funrl.train.checks``), then what it reads: data files, model path, tokenizer (``funrl.train.inputs``)."""
    from funrl.train.inputs import check_inputs

    resolve_config(cfg)
    inputs = check_inputs(cfg)  # first: a missing file fails before verl is imported
    return [*check_config(cfg), *inputs]


def prepare_device(cfg: DictConfig) -> None:
    """Set up ``trainer.device`` in a process that trains (not in one that only re-launches torchrun)."""
    DEVICE_PREPARERS.get(cfg.trainer.device, _prepare_accelerator)(cfg)


def run(cfg: DictConfig, *, overrides: Sequence[str] = ()) -> None:
    """Run a prepared config; ``overrides`` are the command line's, for an SFT torchrun re-launch."""
    if stage_of(cfg) == RL:
        run_rl(cfg)
    else:
        run_sft(cfg, overrides=overrides)


def run_rl(cfg: DictConfig) -> None:
    """verl's PPO trainer with FunRL's task runner (V1), or verl's legacy runner (``trainer.use_v1=false``)."""
    from verl.trainer.main_ppo import run_ppo

    prepare_device(cfg)
    if cfg.trainer.get("use_v1", True):
        from funrl.rl.trainer_hook import FunRLTaskRunner as runner
    else:
        from verl.trainer.main_ppo_v0 import TaskRunner as runner
    run_ppo(cfg, task_runner_class=runner)


@contextmanager
def sft_process_group(cfg: DictConfig) -> Iterator[None]:
    """The SFT trainer's process group: gloo on CPU (``funrl.cpu.init_process_group``), verl's own
    initialisation on an accelerator; destroyed when the run ends."""
    from verl.utils.distributed import destroy_global_process_group, initialize_global_process_group

    if cfg.trainer.device == "cpu":
        import funrl.cpu

        funrl.cpu.init_process_group()
    else:
        initialize_global_process_group()
    try:
        yield
    finally:
        destroy_global_process_group()


def _sft_in_this_process(cfg: DictConfig) -> None:
    from funrl.sft.trainer import run_srml_sft

    prepare_device(cfg)
    with sft_process_group(cfg):
        run_srml_sft(cfg)


def run_sft(cfg: DictConfig, *, overrides: Sequence[str] = ()) -> None:
    """``run_srml_sft`` in this process, or re-launched under torchrun for a one-node multi-GPU run."""
    expected = world_size(cfg)
    if "RANK" in os.environ:  # started by torchrun
        got = int(os.environ["WORLD_SIZE"])
        if got != expected:
            raise ValueError(
                f"torchrun started {got} process(es) but the config says trainer.nnodes x "
                f"trainer.n_gpus_per_node = {expected}; make them agree"
            )
        _sft_in_this_process(cfg)
    elif expected == 1:
        _sft_in_this_process(cfg)
    elif int(cfg.trainer.nnodes) == 1:
        sys.exit(relaunch_under_torchrun(expected, overrides))
    else:
        raise ValueError(
            f"trainer.nnodes={cfg.trainer.nnodes}: start torchrun on every node "
            "(recipes/launch/slurm_sft.sbatch, or torchrun --nnodes=N --nproc_per_node=G --rdzv_backend=c10d "
            "--rdzv_endpoint=<head>:29500 -m funrl.train ...)"
        )


def relaunch_under_torchrun(nproc: int, overrides: Sequence[str]) -> int:
    """Run ``torchrun --standalone --nproc_per_node=nproc -m funrl.train <overrides>``; its exit status."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    cmd += ["-m", "funrl.train", *overrides]
    print(f"[funrl.train] {' '.join(cmd)}", flush=True)
    return subprocess.run(cmd).returncode
