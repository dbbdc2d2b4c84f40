"""funrl.toy.imperfect_sft: the CPU demo's imperfect warm-start data, checked against the demo's data prep."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from funrl.data_prep.demo import WRONG_FIRST, run_demo
from funrl.reward import compute_score

from funrl.toy.imperfect_sft import imperfect_sft, wrong_answer, wrong_calls


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("imperfect") / "data"
    run_demo(out, ["progress=false"], echo=lambda _: None)
    return out


def test_wrong_calls_changes_the_first_scalar_argument_only():
    calls = [{"f": {"keys": ["a"], "n": 5, "s": "x"}}, {"g": {"b": True}}]
    assert wrong_calls(calls) == [{"f": {"keys": ["a"], "n": 12, "s": "x"}}, {"g": {"b": True}}]
    assert calls[0]["f"]["n"] == 5  # not modified in place
    assert wrong_calls([{"f": {"on": False, "n": 1}}]) == [{"f": {"on": True, "n": 1}}]
    assert wrong_calls([{"f": {"r": 3.0}}]) == [{"f": {"r": 10.0}}]
    assert wrong_calls([{"f": {"city": "Oslo"}}]) == [{"f": {"city": "Oslo (approx.)"}}]
    assert wrong_calls([{"f": {"keys": ["a"]}}, {"g": {}}]) is None


def test_wrong_answer_changes_reasoning_and_call_alike():
    text = "<think>Taking the values from the query: minutes=12; label='pasta'.</think><answer>[set_timer(minutes=12, label='pasta')]</answer>"
    assert wrong_answer(text) == text.replace("minutes=12", "minutes=19")
    assert wrong_answer("<think>No function fits.</think>None of the given functions can be used.") is None


def test_imperfect_sft_adds_one_well_formed_wrong_answer_per_call_sample(demo_data, tmp_path):
    out = tmp_path / "sft_imperfect.parquet"
    counts = imperfect_sft(demo_data / "sft.parquet", out)
    original = pq.read_table(demo_data / "sft.parquet").to_pylist()
    rows = pq.read_table(out).to_pylist()
    # the demo's 13 SFT rows: 11 with calls (each gains a wrong copy), 2 plain-text irrelevance answers
    assert counts == {"rows": 13, "wrong": 11, "out": 24}
    assert len(rows) == 24
    assert [r for r in rows if "#wrong" not in r["sample_id"]] == original
    truth = {
        r["extra_info"]["sample_id"]: r["reward_model"]["ground_truth"]
        for r in pq.read_table(demo_data / "rl.parquet").to_pylist()
    }
    wrong = {r["sample_id"].split("#")[0]: r for r in rows if r["sample_id"].endswith("#wrong0")}
    assert sorted(wrong) == sorted(truth)
    for sample_id, row in wrong.items():
        right = next(r for r in original if r["sample_id"] == sample_id)
        assert row["messages"][:-1] == right["messages"][:-1]
        assert compute_score(None, right["messages"][-1]["content"], truth[sample_id])["score"] == 1.0
        result = compute_score(None, row["messages"][-1]["content"], truth[sample_id])
        # well formed (the calls parse), scored 0 by the AST checker (a value, or no match in a parallel call)
        assert (result["score"], result["format_ok"]) == (0.0, 1.0), (sample_id, result)
        assert not result["error_type"].startswith("format_error"), (sample_id, result)


def test_the_wrong_answers_are_the_scripted_teachers_first_answers(demo_data, tmp_path):
    """For the samples the demo's teacher gets wrong first (FCDR rejects those answers), the added wrong
    answer is exactly what the teacher wrote in round 0 (data prep's generated.jsonl)."""
    out = tmp_path / "sft_imperfect.parquet"
    imperfect_sft(demo_data / "sft.parquet", out)
    wrong = {
        r["sample_id"].split("#")[0]: r["messages"][-1]["content"]
        for r in pq.read_table(out).to_pylist()
        if "#wrong" in r["sample_id"]
    }
    first = {}
    for line in (demo_data / "generated.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["round"] == 0:
            first[record["sample_id"]] = record["text"]
    assert WRONG_FIRST
    for sample_id in WRONG_FIRST:
        assert wrong[sample_id] == first[sample_id]


def test_wrong_copies(demo_data, tmp_path):
    counts = imperfect_sft(demo_data / "sft.parquet", tmp_path / "two.parquet", wrong_copies=2)
    assert counts == {"rows": 13, "wrong": 22, "out": 35}
    ids = [r["sample_id"] for r in pq.read_table(tmp_path / "two.parquet").to_pylist()]
    assert ids[:3] == ["demo_xlam:0", "demo_xlam:0#wrong0", "demo_xlam:0#wrong1"]


def test_demo_grpo_overrides_compose_with_the_cpu_recipe():
    """The demo's GRPO settings are valid overrides of grpo_entropy_cpu: 8 prompts x 4 samples, one Adam
    step on all 32 (the recipe ties ppo_mini_batch_size to the batch), top-k 3, lr 2e-4."""
    pytest.importorskip("hydra")
    from omegaconf import OmegaConf

    from funrl.toy.imperfect_sft import DEMO_GRPO_OVERRIDES
    from funrl.train import compose_config
    from funrl.train.checks import check_config

    rl_data = ("data.train_files=/data/rl/train.parquet", "data.val_files=/data/rl/val.parquet")
    cfg = compose_config(
        ("+recipe=grpo_entropy_cpu", "actor_rollout_ref.model.path=/m", *rl_data, *DEMO_GRPO_OVERRIDES)
    )
    OmegaConf.resolve(cfg)
    check_config(cfg)
    arr = cfg.actor_rollout_ref
    assert (cfg.data.train_batch_size, arr.rollout.n, arr.actor.ppo_mini_batch_size) == (8, 4, 8)
    assert (arr.rollout.top_k, arr.rollout.temperature, arr.actor.optim.lr) == (3, 1.0, 2e-4)
