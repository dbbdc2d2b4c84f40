"""The trainer hook that feeds per-token entropy and the CoT mask to ``grpo_entropy``, and its task runner.

Use (what ``python -m funrl.train`` does):

    from verl.trainer.main_ppo import run_ppo
    from funrl.rl.trainer_hook import FunRLTaskRunner, validate_funrl_config

    validate_funrl_config(config)      # fail before Ray starts
    run_ppo(config, task_runner_class=FunRLTaskRunner)

Why the trainer route and not the actor-loss route (overriding verl's PPO actor loss with ``set_loss_fn``):
- verl's V1 trainer already computes the *old* policy's per-token entropy in ``_compute_old_log_prob``
  (always, ``calculate_entropy=True``) and stores it in the TransferQueue; only ``_compute_advantage``
  drops it. Overriding that one method, and calling verl's own implementation inside it, is the smallest
  hook: KL-in-reward, rollout correction, multi-trajectory handling and the write-back stay verl's.
- The bonus then is a real advantage estimator, as the method defines it: computed once per batch from
  the policy that sampled the responses, identical across PPO epochs and mini-batches, with whole-group
  statistics for the metrics. In the actor loss it would see the *current* policy's entropy per
  micro-batch, change as the policy moves, and need ``set_loss_fn`` to replace verl's entire PPO loss in
  every worker.
- Everything runs in the driver (the task-runner actor): no worker-side code, no extra forward pass.

What it needs from verl 0.9.1 (``tests/rl/test_trainer_hook.py`` fails when any of it moves):
``PPOTrainerSync`` and the trainer registry name ``"sync"``; ``_compute_old_log_prob`` writing the field
``entropy`` (response-aligned, nested) next to ``responses`` and ``response_mask`` in the TransferQueue;
``_compute_advantage`` fetching rows by ``batch.keys`` in order and calling the registered estimator
through ``compute_advantage``; ``TaskRunnerV1.run`` choosing the trainer with ``get_trainer_cls``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import ray
import torch
import transfer_queue as tq
from transfer_queue import KVBatchMeta
from verl.trainer.main_ppo import TaskRunnerV1
from verl.trainer.ppo.v1 import trainer_base
from verl.trainer.ppo.v1.trainer_sync import PPOTrainerSync

from funrl.config import FunRLConfig, funrl_config_from
from funrl.rl import estimator
from funrl.rl.cot_guard import NoCotGuard
from funrl.rl.cot_mask import CotMasker
from funrl.rl.estimator import ESTIMATOR_NAME, EntropyInputs, entropy_inputs
from funrl.rl.multi_turn.metrics import step_metrics as multi_turn_step_metrics
from funrl.rl.multi_turn.settings import settings_from as multi_turn_settings_from

DUMP_ENV = "FUNRL_MULTI_TURN_DUMP_DIR"

estimator.register()  # also when the entry point is switched off (VERL_USE_EXTERNAL_PLUGINS=none)

METRIC_PREFIX = "funrl/"


def validate_funrl_config(config: Any) -> FunRLConfig:
    """Check a full training config for ``grpo_entropy``; raise ValueError naming the key. Cheap, no Ray.

    Checks the ``funrl`` block (types, unknown keys, ranges) and, when the estimator is ``grpo_entropy``,
    the verl settings it depends on.
    """
    funrl = funrl_config_from(config)
    multi_turn_settings_from(config)  # the bfcl_multi_turn agent loop's block, when there is one
    if config.algorithm.adv_estimator != ESTIMATOR_NAME:
        return funrl
    if not config.trainer.get("use_v1", True):
        raise ValueError(
            f"algorithm.adv_estimator={ESTIMATOR_NAME} needs verl's V1 trainer: trainer.use_v1=true"
        )
    mode = config.trainer.v1.trainer_mode
    if mode != "sync":
        raise ValueError(
            f"algorithm.adv_estimator={ESTIMATOR_NAME} supports trainer.v1.trainer_mode=sync, got {mode!r}"
        )
    correction = config.algorithm.get("rollout_correction") or {}
    if correction.get("bypass_mode", False):
        raise ValueError(
            f"algorithm.adv_estimator={ESTIMATOR_NAME} needs the old policy's entropy, which "
            "algorithm.rollout_correction.bypass_mode=true skips computing; set it to false"
        )
    return funrl


class FunRLTrainerSync(PPOTrainerSync):
    """verl's synchronous V1 trainer with two overrides: ``_compute_advantage`` for ``grpo_entropy``, and
    ``_build_replay_buffer`` for ``funrl.sampler.poll_interval_s``."""

    def __init__(self, config: Any) -> None:
        self.funrl = validate_funrl_config(config)  # the same check as the driver's, for direct use
        super().__init__(config)
        self._cot_masker: CotMasker | None = None
        cot = self.funrl.cot
        self.no_cot_guard = NoCotGuard(
            self.funrl.entropy.no_cot_stop_after, cot.open_tag, cot.close_tag, cot.starts_inside
        )

    def _build_replay_buffer(self) -> Any:
        """verl's replay buffer, polled every ``funrl.sampler.poll_interval_s`` when that is set (verl's
        sync sampler sleeps 2 s between polls, which rounds a CPU demo's ~1 s rollout up to 2-4 s)."""
        buffer = super()._build_replay_buffer()
        poll = self.funrl.sampler.poll_interval_s
        if poll is not None:
            if not hasattr(buffer, "poll_interval"):
                raise ValueError(
                    f"funrl.sampler.poll_interval_s={poll} is set but the sampler {type(buffer).__name__} "
                    "has no poll_interval; unset it"
                )
            buffer.poll_interval = poll
        return buffer

    @property
    def cot_masker(self) -> CotMasker:
        """Built on first use from ``self.tokenizer`` (set by verl's ``init()``)."""
        if self._cot_masker is None:
            cot = self.funrl.cot
            self._cot_masker = CotMasker(
                self.tokenizer,
                open_tag=cot.open_tag,
                close_tag=cot.close_tag,
                starts_inside=cot.starts_inside,
            )
        return self._cot_masker

    def _compute_advantage(self, batch: KVBatchMeta, metrics: dict) -> KVBatchMeta:
        if self.config.algorithm.adv_estimator != ESTIMATOR_NAME:
            return super()._compute_advantage(batch, metrics)
        inputs = self._entropy_inputs(batch)
        with entropy_inputs(inputs):
            batch = super()._compute_advantage(batch, metrics)
        if not inputs.stats:
            raise RuntimeError(f"verl's _compute_advantage did not call the {ESTIMATOR_NAME} estimator")
        metrics.update({METRIC_PREFIX + name: value for name, value in inputs.stats.items()})
        metrics.update(
            {METRIC_PREFIX + name: value for name, value in self._multi_turn_metrics(batch).items()}
        )
        if self.funrl.entropy.alpha > 0:  # alpha 0 is plain GRPO on purpose
            step = getattr(self, "global_steps", None)
            no_cot = self.no_cot_guard.observe(inputs.stats["cot_response_frac"], step=step)
            metrics[METRIC_PREFIX + "no_cot_steps"] = no_cot  # raises NoCotError above at the limit
        return batch

    def _entropy_inputs(self, batch: KVBatchMeta) -> EntropyInputs:
        """Entropy (bs, T) and CoT mask (bs, T) for the rows of ``batch``, in verl's row order and width."""
        _require_single_output_sessions(batch.keys)
        fields = ["entropy", "responses", "response_mask"]
        data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id, select_fields=fields)
        missing = [name for name in fields if name not in data.keys()]
        if missing:
            raise RuntimeError(
                f"{ESTIMATOR_NAME}: the TransferQueue batch has no field(s) {missing}; verl's old log-prob "
                "pass (_compute_old_log_prob) is expected to have stored the per-token entropy"
            )
        padded = data.to_padded_tensor()  # the same padding verl's _compute_advantage applies
        response_mask = padded["response_mask"]  # (bs, T)
        entropy = padded["entropy"]  # (bs, T)
        # each assistant reply of a multi-turn trajectory on its own; one reply: the single-turn mask
        cot_mask = self.cot_masker.per_segment(padded["responses"], response_mask)  # (bs, T)
        _dump_for_tests(batch.keys, padded, cot_mask, getattr(self, "global_steps", None))
        if entropy.shape != response_mask.shape or cot_mask.shape != response_mask.shape:
            raise RuntimeError(
                f"{ESTIMATOR_NAME}: entropy {tuple(entropy.shape)}, CoT mask {tuple(cot_mask.shape)} and "
                f"response mask {tuple(response_mask.shape)} differ in shape"
            )
        return EntropyInputs(
            entropy=entropy.float(),
            cot_mask=cot_mask,
            response_mask=response_mask.bool(),  # the estimator's check reads it: 1 byte a token
            settings=self.funrl.entropy,
        )

    def _multi_turn_metrics(self, batch: KVBatchMeta) -> dict[str, float]:
        """Step means of the ``bfcl_multi_turn`` loop's per-trajectory metrics ({} for other rows)."""
        data = tq.kv_batch_get(
            keys=batch.keys, partition_id=batch.partition_id, select_fields=["extra_fields"]
        )
        if "extra_fields" not in data.keys():
            return {}
        values = data["extra_fields"]  # a NonTensorStack or tensordict's LinkedList of dicts
        return multi_turn_step_metrics(values.tolist() if hasattr(values, "tolist") else list(values))


def _dump_for_tests(keys: list[str], padded: Any, cot_mask: Any, step: int | None) -> None:
    """With ``FUNRL_MULTI_TURN_DUMP_DIR`` set (tests, debugging): the rows the estimator gets, per step."""
    directory = os.environ.get(DUMP_ENV)
    if directory:
        os.makedirs(directory, exist_ok=True)
        rows = {name: padded[name].cpu() for name in ("responses", "response_mask", "entropy")}
        torch.save({"keys": list(keys), "cot_mask": cot_mask.cpu(), **rows}, f"{directory}/hook_{step}.pt")


def _require_single_output_sessions(keys: list[str]) -> None:
    """grpo_entropy groups rows by uid; verl's GRPO instead scores multi-output agent sessions by their
    last output. Keys are ``{uid}_{session}_{index}``: any index other than 0 means a multi-output session."""
    multi = [key for key in keys if key.rsplit("_", 2)[-1] != "0"]
    if multi:
        raise NotImplementedError(
            f"{ESTIMATOR_NAME} supports one output per agent-loop session (single-turn rollouts, and the "
            "bfcl_multi_turn loop, whose whole trajectory is one output); "
            f"got keys such as {multi[:3]}"
        )


@contextlib.contextmanager
def sync_trainer_replaced_by(cls: type[PPOTrainerSync]) -> Iterator[None]:
    """Within the block, verl's trainer registry gives ``cls`` for trainer mode ``"sync"``.

    The mode name stays ``"sync"`` on purpose: verl tests ``trainer_mode != "sync"`` in several places and
    would switch to asynchronous behaviour under a new name. Used only inside the task-runner actor, a
    process of its own; restored on exit.
    """
    registry = trainer_base.TRAINER_REGISTRY
    original = registry.get("sync")
    if original is not PPOTrainerSync:
        raise RuntimeError(
            f"verl's trainer registry maps 'sync' to {original!r}, not PPOTrainerSync: verl moved"
        )
    registry["sync"] = cls
    try:
        yield
    finally:
        registry["sync"] = original


class FunRLTaskRunnerImpl(TaskRunnerV1.__ray_actor_class__):
    """verl's V1 task runner, with ``FunRLTrainerSync`` as the sync trainer. Use ``FunRLTaskRunner``."""

    def run(self, config: Any) -> None:
        validate_funrl_config(config)  # a task runner started without funrl.train fails before verl starts
        with sync_trainer_replaced_by(FunRLTrainerSync):
            return super().run(config)


FunRLTaskRunner = ray.remote(FunRLTaskRunnerImpl)
"""The Ray actor class for ``verl.trainer.main_ppo.run_ppo(config, task_runner_class=FunRLTaskRunner)``."""

__all__ = [
    "FunRLTaskRunner",
    "FunRLTaskRunnerImpl",
    "FunRLTrainerSync",
    "sync_trainer_replaced_by",
    "validate_funrl_config",
]
