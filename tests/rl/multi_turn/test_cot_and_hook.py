"""grpo_entropy over multi-turn trajectories: the CoT mask per assistant reply, and the trainer hook on
rows shaped as the bfcl_multi_turn loop stores them (tool tokens masked out, one output per session)."""

from __future__ import annotations

import math

import pytest
import torch
import transfer_queue as tq
from transfer_queue import KVBatchMeta
from verl.utils.tensordict_utils import list_of_dict_to_tensordict

from funrl.rl.cot_mask import CotMasker
from funrl.rl.multi_turn.metrics import step_metrics
from funrl.rl.trainer_hook import FunRLTrainerSync
from tests.rl.test_trainer_hook import TOKENIZER, StandInActorWorkers, config, ids, transfer_queue  # noqa: F401

# (key, pieces, response mask, reward, entropy, CoT flags by hand, extra_fields)
TOOL = ["<think>", "x", "</think>"]  # a tool result holding think tags: never CoT
ROWS = [
    (
        "pA_0_0",
        ["<think>", "ok", "</think>", "[f()]", *TOOL, "<think>", "hm", " go", "</think>", "[g()]"],
        [1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1],
        1.0,
        [0.9, 0.2, 0.6, 0.3, 5.0, 5.0, 5.0, 0.4, 0.8, 0.1, 0.7, 0.2],
        [0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0],
        {"bfcl_id": "e0", "bfcl_error_type": "", "reward_extra_info": {"final": 1.0, "steps": 2.0}},
    ),
    (
        "pA_1_0",
        ["<think>", "y", "</think>", "[h()]"],
        [1, 1, 1, 1],
        0.0,
        [0.5, 3.0, 0.5, 0.5],
        [0, 1, 0, 0],
        {
            "bfcl_id": "e0",
            "bfcl_error_type": "multi_turn:x",
            "reward_extra_info": {"final": 0.0, "steps": 1.0},
        },
    ),
]
PROMPT = [5, 6, 7]


def test_per_segment_searches_each_reply_alone():
    masker = CotMasker(TOKENIZER)
    width = max(len(r[1]) for r in ROWS)
    responses = torch.zeros(len(ROWS), width, dtype=torch.int64)
    mask = torch.zeros(len(ROWS), width, dtype=torch.int64)
    for i, (_, pieces, m, *_rest) in enumerate(ROWS):
        responses[i, : len(pieces)] = torch.tensor(ids(pieces))
        mask[i, : len(m)] = torch.tensor(m)
    got = masker.per_segment(responses, mask)
    expected = torch.zeros_like(got)
    for i, row in enumerate(ROWS):
        expected[i, : len(row[5])] = torch.tensor(row[5], dtype=torch.bool)
    assert torch.equal(got, expected)
    # the row-wide search would stop at the first reply's </think>: the second reply's CoT is lost
    assert not torch.equal(masker(responses, mask), expected)
    # a single run is the single-turn mask exactly
    single = torch.ones_like(mask)
    assert torch.equal(masker.per_segment(responses, single), masker(responses, single))


def test_per_segment_with_starts_inside_restarts_in_every_reply():
    masker = CotMasker(TOKENIZER, starts_inside=True)
    pieces = ["ok", "</think>", "[f()]", "hm", "x", "hm", "</think>", "[g()]"]
    mask = torch.tensor([[1, 1, 1, 0, 0, 1, 1, 1]])
    got = masker.per_segment(torch.tensor([ids(pieces)]), mask)
    assert got.int().tolist() == [[1, 0, 0, 0, 0, 1, 0, 0]]


def test_step_metrics_are_means_over_multi_turn_rows():
    rows = [r[6] for r in ROWS] + [{"other": 1}, None]
    m = step_metrics(rows)
    assert m["multi_turn/final"] == 0.5 and m["multi_turn/steps"] == 1.5
    assert m["multi_turn/error/none"] == 0.5 and m["multi_turn/error/multi_turn:x"] == 0.5
    assert m["multi_turn/trajectories"] == 2.0
    assert step_metrics([{"x": 1}]) == {}


@pytest.mark.slow  # a local Ray + TransferQueue
def test_hook_shapes_multi_turn_rows_on_assistant_think_tokens_only(transfer_queue):  # noqa: F811
    cfg = config(
        "grpo_entropy", "+funrl.entropy.form=token", "+funrl.entropy.alpha=0.4", "+funrl.entropy.kappa=2.0"
    )
    trainer = FunRLTrainerSync(cfg)
    trainer.tokenizer = TOKENIZER
    samples, entropy_by_key = [], {}
    for key, pieces, mask, reward, entropy, _, extra in ROWS:
        rm = torch.zeros(len(pieces))
        rm[-1] = reward
        samples.append(
            {
                "uid": key.split("_")[0],
                "prompts": torch.tensor(PROMPT),
                "responses": torch.tensor(ids(pieces)),
                "response_mask": torch.tensor(mask),
                "rm_scores": rm,
                "rollout_log_probs": -torch.tensor(entropy),
                "extra_fields": extra,
            }
        )
        entropy_by_key[key] = entropy
    keys = [r[0] for r in ROWS]
    tags = [{"status": "success"} for _ in keys]
    tq.kv_batch_put(keys=keys, partition_id="mt", fields=list_of_dict_to_tensordict(samples), tags=tags)
    trainer.actor_rollout_wg = StandInActorWorkers(entropy_by_key)
    metrics: dict = {}
    batch = trainer._compute_old_log_prob(KVBatchMeta(keys=keys, tags=tags, partition_id="mt"), metrics)
    batch = trainer._compute_advantage(batch, metrics)
    out = tq.kv_batch_get(keys=keys, partition_id="mt", select_fields=["advantages"])["advantages"]
    a = 0.5 / (math.sqrt(0.5) + 1e-6)  # group pA: rewards {1, 0}
    for i, (_, _, mask, reward, entropy, cot, _) in enumerate(ROWS):
        adv = a if reward else -a
        expected = [
            adv * m + (min(0.4 * h, abs(adv) / 2) if c else 0.0) for m, h, c in zip(mask, entropy, cot)
        ]
        assert out[i].tolist() == pytest.approx(expected, abs=1e-5)
    assert metrics["funrl/multi_turn/final"] == 0.5 and metrics["funrl/multi_turn/trajectories"] == 2.0


def test_a_bad_agent_loop_block_fails_before_training():
    from funrl.rl.trainer_hook import validate_funrl_config

    with pytest.raises(ValueError, match=r"bfcl_multi_turn.reward must be one of"):
        validate_funrl_config(config("grpo_entropy", "+bfcl_multi_turn.reward=mean"))
    with pytest.raises(ValueError, match=r"bfcl_multi_turn: unknown key"):
        validate_funrl_config(config("grpo_entropy", "+bfcl_multi_turn.max_turns=3"))
    validate_funrl_config(config("grpo_entropy", "+bfcl_multi_turn.reward=turn_mean"))
