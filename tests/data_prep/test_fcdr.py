"""FCDR step 3 (FunReason): a candidate whose reasoning does not lead to its answer is discarded by default;
``judge.on_fail.cot_answer=regenerate`` is the documented deviation."""

from __future__ import annotations

import re

from funrl.data_prep.config import load_config
from funrl.data_prep.pipeline import run_all
from funrl.data_prep.records import read_jsonl
from funrl.data_prep.scripted_endpoints import ScriptedTeacherJudge

from funrl.toy.scripted_server import OpenAIServer

from .demo_setup import demo_config, demo_samples

PRIME_QUERY = "Is 7919 a prime number?"  # demo_xlam:4


def _cot_off_first_time(model: ScriptedTeacherJudge):
    """The first answer to PRIME_QUERY has the right calls but a CoT that never reaches them."""

    def responder(body: dict) -> str:
        reply = model(body)
        messages = body["messages"]
        if len(messages) == 2 and messages[1]["content"] == PRIME_QUERY and reply.startswith("<think>"):
            return re.sub(
                r"^<think>.*?</think>", "<think>Numbers are interesting.</think>", reply, flags=re.S
            )
        return reply

    return responder


def _run(tmp_path, *extra: str) -> tuple[dict, int]:
    with OpenAIServer(_cot_off_first_time(ScriptedTeacherJudge(demo_samples()))) as server:
        report = run_all(demo_config(server.base_url, tmp_path, *extra))
        cot_asks = sum("Check: cot_answer" in r.body["messages"][-1]["content"] for r in server.log)
    return report, cot_asks


def test_cot_answer_failure_discards_by_default(tmp_path):
    assert load_config(None, []).judge.on_fail["cot_answer"] == "discard"
    report, cot_asks = _run(tmp_path)
    judge = report["judge"]
    assert judge["drop_reasons"] == {"judge:cot_answer": 1}
    assert judge["accepted_at_round"] == {"1": 12}  # 13 call samples, one discarded
    assert judge["requests"]["generator"]["sent"] == 0  # nothing regenerated
    assert cot_asks == 13  # once per call sample
    drops = list(read_jsonl(tmp_path / "judge.drops.jsonl"))
    assert [(d["sample_id"], d["reason"]) for d in drops] == [("demo_xlam:4", "judge:cot_answer")]


def test_cot_answer_regenerate_is_an_option(tmp_path):
    report, cot_asks = _run(tmp_path, "judge.on_fail.cot_answer=regenerate")
    judge = report["judge"]
    assert judge["drop_reasons"] == {}
    assert judge["accepted_at_round"] == {"1": 12, "2": 1}
    assert judge["requests"]["generator"]["sent"] == 1
    assert cot_asks == 14


def test_stage_0_asks_with_the_training_prompt_itself(tmp_path):
    """Self-refinement samples the trained model with exactly the prompt it was trained on (#14 item 3)."""
    from funrl.data_prep.prompts import JUDGE_SYSTEM, prompt_messages

    samples = {s.query: s for s in demo_samples()}
    with OpenAIServer(ScriptedTeacherJudge(samples.values())) as server:
        run_all(demo_config(server.base_url, tmp_path))
        first = [r.body["messages"] for r in server.log if r.body["messages"][0]["content"] != JUDGE_SYSTEM]
    first = [m for m in first if len(m) == 2]
    assert len(first) == 14  # chat row 0 brings its own CoT
    for messages in first:
        assert messages == prompt_messages(samples[messages[1]["content"]], "think_answer")
