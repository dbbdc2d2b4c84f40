"""grpo_entropy wired into verl 0.9.1: the plugin entry point, the trainer hook, the task runner.

The main test drives verl's real code path on a hand-built batch: a real TransferQueue (on a local Ray),
verl's real ``_compute_old_log_prob`` (only the GPU worker is stood in for: it writes per-token entropy the
way verl's actor worker does) and verl's real ``_compute_advantage`` through FunRL's override, then checks
the advantages verl writes back against hand-computed values. It fails when the verl internals the hook
relies on move (field names, row order, the estimator call path, the trainer registry).
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import ray
import torch
import transfer_queue as tq
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transfer_queue import KVBatchMeta
from transformers import PreTrainedTokenizerFast
from verl.trainer.main_ppo import TaskRunnerV1
from verl.trainer.ppo.core_algos import get_adv_estimator_fn
from verl.trainer.ppo.ray_trainer import compute_advantage
from verl.trainer.ppo.v1 import get_trainer_cls
from verl.trainer.ppo.v1.trainer_sync import PPOTrainerSync
from verl.utils.tensordict_utils import list_of_dict_to_tensordict

from funrl.config import EntropyConfig
from funrl.rl.advantage import entropy_shaped_grpo_advantage
from funrl.rl.cot_guard import NoCotError
from funrl.rl.estimator import ESTIMATOR_NAME, EntropyInputs, compute_grpo_entropy_advantage, entropy_inputs
from funrl.rl.trainer_hook import (
    FunRLTaskRunner,
    FunRLTaskRunnerImpl,
    FunRLTrainerSync,
    sync_trainer_replaced_by,
    validate_funrl_config,
)

PIECES = [
    "<think>",
    "</think>",
    "<",
    "think",
    ">",
    "</",
    "ok",
    " go",
    "hm",
    "x",
    "y",
    "[f()]",
    "[g()]",
    "[h()]",
]


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    """A real byte-level BPE tokenizer holding all 256 bytes plus PIECES as tokens."""
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    vocab: dict[str, int] = {ch: i for i, ch in enumerate(pre_tokenizers.ByteLevel.alphabet())}
    for piece in PIECES:
        vocab.setdefault("".join(p for p, _ in byte_level.pre_tokenize_str(piece)), len(vocab))
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="[h()]")


TOKENIZER = tiny_tokenizer()


def ids(pieces: list[str]) -> list[int]:
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    return [
        TOKENIZER.convert_tokens_to_ids("".join(p for p, _ in byte_level.pre_tokenize_str(s))) for s in pieces
    ]


# (uid, session, response pieces, reward, per-token entropy, CoT flags by hand)
ROWS = [
    ("pA", 0, ["<think>", "ok", " go", "</think>", "[f()]"], 1.0, [0.9, 0.2, 0.6, 0.3, 0.1], [0, 1, 1, 0, 0]),
    (
        "pA",
        1,
        ["<", "think", ">", "hm", "</", "think", ">", "[g()]"],
        0.0,
        [0.5] * 8,
        [0, 0, 0, 1, 0, 0, 0, 0],
    ),
    ("pB", 0, ["<think>", "ok", "</think>", "[f()]"], 1.0, [1.0] * 4, [0, 1, 0, 0]),
    ("pB", 1, ["<think>", "hm", "</think>", "[f()]"], 1.0, [1.0] * 4, [0, 1, 0, 0]),
    ("pC", 0, ["<think>", "y", "[f()]"], 1.0, [1.5] * 3, [0, 0, 0]),  # never closed: no CoT, no bonus
    ("pC", 1, ["<think>", "x", "</think>", "[h()]"], 0.0, [2.0] * 4, [0, 1, 0, 0]),
]
PROMPT = [5, 6, 7]


def config(estimator: str = ESTIMATOR_NAME, *overrides: str):
    with initialize_config_module("verl.trainer.config", version_base=None):
        return compose(
            "ppo_trainer",
            overrides=[f"algorithm.adv_estimator={estimator}", "actor_rollout_ref.rollout.n=2", *overrides],
        )


class StandInActorWorkers:
    """Stands in for verl's GPU actor worker group in ``_compute_old_log_prob``: like the real worker, it
    writes nested ``log_probs`` and ``entropy`` over the whole sequence (prompt + response), where the value
    at position p belongs to token p + 1."""

    def __init__(self, entropy_by_key: dict[str, list[float]]):
        self.entropy_by_key = entropy_by_key

    def compute_log_prob(self, batch: KVBatchMeta) -> KVBatchMeta:
        assert batch.extra_info["calculate_entropy"] is True  # verl asks for entropy in this pass
        entropy, log_probs = [], []
        for key in batch.keys:
            response = self.entropy_by_key[key]
            full = torch.zeros(len(PROMPT) + len(response))
            full[len(PROMPT) - 1 : len(PROMPT) - 1 + len(response)] = torch.tensor(response)
            entropy.append(full)
            log_probs.append(-full)
        fields = {
            "entropy": torch.nested.as_nested_tensor(entropy, layout=torch.jagged),
            "log_probs": torch.nested.as_nested_tensor(log_probs, layout=torch.jagged),
        }
        tq.kv_batch_put(
            keys=batch.keys,
            partition_id=batch.partition_id,
            fields=list_of_dict_to_tensordict(
                [{name: value[i] for name, value in fields.items()} for i in range(len(batch))]
            ),
        )
        return batch


@pytest.fixture(scope="module")
def transfer_queue():
    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=4, include_dashboard=False, log_to_driver=False)
    tq.init(OmegaConf.create({"backend": {"SimpleStorage": {"num_data_storage_units": 1}}}))
    yield
    tq.close()
    if started:
        ray.shutdown()


def put_batch(partition: str) -> tuple[KVBatchMeta, dict[str, list[float]]]:
    samples, keys, entropy_by_key = [], [], {}
    for uid, session, pieces, reward, entropy, _ in ROWS:
        key = f"{uid}_{session}_0"
        response = torch.tensor(ids(pieces), dtype=torch.int64)
        rm_scores = torch.zeros(len(pieces))
        rm_scores[-1] = reward
        samples.append(
            {
                "uid": uid,
                "prompts": torch.tensor(PROMPT),
                "responses": response,
                "response_mask": torch.ones(len(pieces), dtype=torch.int64),
                "rm_scores": rm_scores,
                "rollout_log_probs": -torch.tensor(entropy),
            }
        )
        keys.append(key)
        entropy_by_key[key] = entropy
    tags = [{"status": "success"} for _ in keys]
    tq.kv_batch_put(keys=keys, partition_id=partition, fields=list_of_dict_to_tensordict(samples), tags=tags)
    return KVBatchMeta(keys=keys, tags=tags, partition_id=partition), entropy_by_key


def run_hook(cfg, partition: str) -> tuple[list[torch.Tensor], dict]:
    trainer = FunRLTrainerSync(cfg)
    trainer.tokenizer = TOKENIZER  # what verl's init() sets from the model path
    batch, entropy_by_key = put_batch(partition)
    trainer.actor_rollout_wg = StandInActorWorkers(entropy_by_key)
    metrics: dict = {}
    batch = trainer._compute_old_log_prob(batch, metrics)  # verl's own: stores old_log_probs + entropy
    batch = trainer._compute_advantage(batch, metrics)  # FunRL's override around verl's own
    out = tq.kv_batch_get(keys=batch.keys, partition_id=partition, select_fields=["advantages"])
    return [out["advantages"][i] for i in range(len(ROWS))], metrics


def expected_token_form(alpha: float = 0.4, kappa: float = 2.0) -> list[list[float]]:
    a = 0.5 / (math.sqrt(0.5) + 1e-6)  # groups {1, 0}: mean 1/2, sample std sqrt(1/2)
    group_adv = {("pA", 1.0): a, ("pA", 0.0): -a, ("pB", 1.0): 0.0, ("pC", 1.0): a, ("pC", 0.0): -a}
    out = []
    for uid, _, _, reward, entropy, cot in ROWS:
        adv = group_adv[(uid, reward)]
        out.append([adv + (min(alpha * h, abs(adv) / kappa) if c else 0.0) for h, c in zip(entropy, cot)])
    return out


@pytest.mark.slow  # a local Ray + TransferQueue: ~15 s for the module
def test_hook_drives_verl_and_shapes_the_advantages(transfer_queue):
    cfg = config(
        ESTIMATOR_NAME, "+funrl.entropy.form=token", "+funrl.entropy.alpha=0.4", "+funrl.entropy.kappa=2"
    )
    advantages, metrics = run_hook(cfg, "hook_token")
    for got, want, row in zip(advantages, expected_token_form(), ROWS, strict=True):
        torch.testing.assert_close(got, torch.tensor(want), rtol=1e-6, atol=1e-6, msg=str(row[:3]))
    # a few by hand: A = 0.5 / sqrt(1/2) = 0.7071; bonus 0.4 * 0.2 = 0.08 on pA/0's "ok"; clipped to
    # |A| / 2 = 0.3536 on pC/1's "x" (0.4 * 2.0 = 0.8); nothing for the all-equal group pB
    assert advantages[0][1].item() == pytest.approx(0.70711 + 0.08, abs=1e-4)
    assert advantages[5][1].item() == pytest.approx(-0.70711 / 2, abs=1e-4)
    assert torch.count_nonzero(advantages[2]) == 0
    n_tokens = sum(len(r[2]) for r in ROWS)
    assert metrics["funrl/cot_tokens_mean"] == pytest.approx(6 / 6)
    assert metrics["funrl/cot_response_frac"] == pytest.approx(5 / 6)
    assert metrics["funrl/all_equal_group_frac"] == pytest.approx(1 / 3)
    assert metrics["funrl/adv_changed_token_frac"] == pytest.approx(4 / n_tokens)
    cot_h = [0.2, 0.6, 0.5, 1.0, 1.0, 2.0]
    assert metrics["funrl/cot_entropy_mean"] == pytest.approx(sum(cot_h) / 6, abs=1e-6)
    bonus = 0.08 + 0.24 + 0.2 + 0.70711 / 2
    assert metrics["funrl/entropy_bonus_mean"] == pytest.approx(bonus / n_tokens, abs=1e-5)
    assert "actor/entropy" in metrics  # verl's own old log-prob pass ran


@pytest.mark.slow  # a local Ray + TransferQueue: ~15 s for the module
def test_hook_sequence_form_defaults(transfer_queue):
    advantages, metrics = run_hook(config(ESTIMATOR_NAME), "hook_sequence")
    a = 0.5 / (math.sqrt(0.5) + 1e-6)
    # pA/0: mean CoT entropy 0.4 -> +0.4 * min(0.4, a / 2); pA/1: 0.5 -> +0.4 * min(0.5, a / 2)
    torch.testing.assert_close(
        advantages[0], torch.full((5,), a + 0.4 * min(0.4, a / 2)), rtol=1e-6, atol=1e-6
    )
    torch.testing.assert_close(
        advantages[1], torch.full((8,), -a + 0.4 * min(0.5, a / 2)), rtol=1e-6, atol=1e-6
    )
    torch.testing.assert_close(advantages[4], torch.full((3,), a), rtol=1e-6, atol=1e-6)  # no CoT span
    assert metrics["funrl/adv_changed_token_frac"] == pytest.approx(
        (5 + 8 + 4) / sum(len(r[2]) for r in ROWS)
    )


@pytest.mark.slow  # a local Ray + TransferQueue: ~15 s for the module
def test_plain_grpo_passes_through_untouched(transfer_queue):
    advantages, metrics = run_hook(config("grpo"), "hook_grpo")
    a = 0.5 / (math.sqrt(0.5) + 1e-6)
    for got, (uid, _, pieces, reward, _, _) in zip(advantages, ROWS, strict=True):
        want = 0.0 if uid == "pB" else (a if reward else -a)
        torch.testing.assert_close(got, torch.full((len(pieces),), want), rtol=1e-6, atol=1e-6)
    assert not any(name.startswith("funrl/") for name in metrics)


def test_estimator_without_the_hook_fails_loudly():
    from verl import DataProto

    data = DataProto.from_dict(
        tensors={"token_level_rewards": torch.ones(2, 3), "response_mask": torch.ones(2, 3)},
        non_tensors={"uid": np.array(["a", "a"], dtype=object)},
    )
    assert get_adv_estimator_fn(ESTIMATOR_NAME) is compute_grpo_entropy_advantage
    with pytest.raises(RuntimeError, match="needs the policy's per-token entropy.*FunRLTaskRunner"):
        compute_advantage(data, adv_estimator=ESTIMATOR_NAME, config=config().algorithm)


def test_entry_point_registers_in_a_fresh_process_with_no_funrl_import_in_user_code():
    code = (
        "import sys, verl\n"
        "from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY\n"
        f"assert {ESTIMATOR_NAME!r} in ADV_ESTIMATOR_REGISTRY, sorted(ADV_ESTIMATOR_REGISTRY)\n"
        "assert 'funrl.rl.advantage' not in sys.modules  # the plugin stays cheap\n"
    )
    env = {**os.environ, "VERL_USE_EXTERNAL_PLUGINS": "auto"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["+funrl.entropy.alpha=-1"], "funrl.entropy.alpha"),
        (["+funrl.entropy.apha=0.3"], "funrl.entropy.apha"),
        (["+funrl.entropy.form=tokens"], "funrl.entropy.form"),
        (["+funrl.entropy.kappa=fast"], "funrl.entropy.kappa must be a float"),
        (["+funrl.cot.starts_inside=1"], "funrl.cot.starts_inside must be a bool"),
        (["algorithm.rollout_correction.bypass_mode=true"], "bypass_mode"),
        (["trainer.v1.trainer_mode=colocate_async"], "trainer_mode=sync"),
        (["trainer.use_v1=false"], "trainer.use_v1=true"),
    ],
)
def test_misconfiguration_fails_before_training(overrides, message):
    cfg = config(ESTIMATOR_NAME, *overrides)
    with pytest.raises(ValueError, match=message):
        validate_funrl_config(cfg)
    with pytest.raises(ValueError, match=message):
        FunRLTrainerSync(cfg)


def test_multi_output_sessions_are_refused():
    trainer = FunRLTrainerSync(config())
    meta = KVBatchMeta(keys=["u_0_0", "u_0_1"], tags=[{}, {}], partition_id="train")
    with pytest.raises(NotImplementedError, match="one output per agent-loop session"):
        trainer._entropy_inputs(meta)


def test_task_runner_swaps_the_sync_trainer_only_inside_run():
    assert issubclass(FunRLTaskRunnerImpl, TaskRunnerV1.__ray_actor_class__)
    assert FunRLTaskRunner.__ray_actor_class__ is FunRLTaskRunnerImpl
    assert get_trainer_cls("sync") is PPOTrainerSync
    with sync_trainer_replaced_by(FunRLTrainerSync):
        assert get_trainer_cls("sync") is FunRLTrainerSync
    assert get_trainer_cls("sync") is PPOTrainerSync
    cfg = config(ESTIMATOR_NAME, "+funrl.entropy.alpha=-1")
    with pytest.raises(ValueError, match="funrl.entropy.alpha"):
        FunRLTaskRunnerImpl().run(cfg)  # validated before anything starts
    assert get_trainer_cls("sync") is PPOTrainerSync


@pytest.mark.slow
def test_task_runner_is_a_working_ray_actor(transfer_queue):
    runner = FunRLTaskRunner.remote()
    with pytest.raises(ValueError, match="funrl.entropy.kappa"):
        try:
            ray.get(runner.run.remote(config(ESTIMATOR_NAME, "+funrl.entropy.kappa=0")), timeout=120)
        except ray.exceptions.RayTaskError as error:
            raise error.as_instanceof_cause() from None
    ray.kill(runner)


@pytest.mark.parametrize("norm", [True, False])
def test_estimator_reads_norm_adv_by_std_from_verls_algorithm_config(norm):
    gen = torch.Generator().manual_seed(0)
    rewards = torch.zeros(4, 3)
    rewards[:, -1] = torch.tensor([1.0, 0.0, 0.0, 1.0])
    mask = torch.ones(4, 3, dtype=torch.long)
    entropy = torch.rand(4, 3, generator=gen)
    cot = torch.tensor([[0, 1, 0]] * 4, dtype=torch.bool)
    index = np.array(["a", "a", "a", "b"], dtype=object)
    inputs = EntropyInputs(
        entropy=entropy, cot_mask=cot, response_mask=mask, settings=EntropyConfig(form="token")
    )
    algorithm = config(ESTIMATOR_NAME, f"algorithm.norm_adv_by_std_in_grpo={norm}").algorithm
    with entropy_inputs(inputs):
        adv, _ = compute_grpo_entropy_advantage(rewards, mask, index, config=algorithm)
    want, _, stats = entropy_shaped_grpo_advantage(
        rewards, mask, index, entropy, cot, form="token", norm_adv_by_std=norm
    )
    assert torch.equal(adv, want)
    assert inputs.stats == stats


@pytest.mark.slow  # a local Ray + TransferQueue: ~15 s for the module
def test_steps_without_a_cot_span_warn_then_stop(transfer_queue, caplog):
    # tags the responses never hold: no CoT span anywhere, every bonus zero (plain GRPO)
    tags = ("+funrl.cot.open_tag='<reason>'", "+funrl.cot.close_tag='</reason>'")
    cfg = config(ESTIMATOR_NAME, *tags, "+funrl.entropy.no_cot_stop_after=2")
    trainer = FunRLTrainerSync(cfg)
    trainer.tokenizer = TOKENIZER
    for step, partition in ((1, "no_cot_1"), (2, "no_cot_2")):
        trainer.global_steps = step
        batch, entropy_by_key = put_batch(partition)
        trainer.actor_rollout_wg = StandInActorWorkers(entropy_by_key)
        metrics: dict = {}
        batch = trainer._compute_old_log_prob(batch, metrics)
        if step == 1:
            with caplog.at_level(logging.WARNING, logger="funrl.rl.cot_guard"):
                trainer._compute_advantage(batch, metrics)
            assert metrics["funrl/cot_response_frac"] == 0.0 and metrics["funrl/no_cot_steps"] == 1
            assert "step 1: no response has a closed <reason>...</reason> span" in caplog.text
        else:
            with pytest.raises(NoCotError, match=r"2 steps in a row \(up to step 2\)"):
                trainer._compute_advantage(batch, metrics)


def test_sampler_poll_interval_reaches_verls_replay_buffer():
    """``funrl.sampler.poll_interval_s`` sets how often verl's sync trainer polls its replay buffer; unset,
    verl's own default stays."""
    import inspect

    from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer

    verl_default = inspect.signature(ReplayBuffer.__init__).parameters["poll_interval"].default
    default = FunRLTrainerSync(config(ESTIMATOR_NAME)).replay_buffer
    assert type(default) is ReplayBuffer and default.poll_interval == verl_default
    fast = FunRLTrainerSync(config(ESTIMATOR_NAME, "+funrl.sampler.poll_interval_s=0.05")).replay_buffer
    assert type(fast) is ReplayBuffer and fast.poll_interval == 0.05
    for bad in ("0", "-1", "true", "fast"):
        with pytest.raises(ValueError, match="funrl.sampler.poll_interval_s"):
            FunRLTrainerSync(config(ESTIMATOR_NAME, f"+funrl.sampler.poll_interval_s={bad}"))
