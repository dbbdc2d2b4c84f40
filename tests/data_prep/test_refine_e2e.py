"""Self-refinement end to end on CPU: ``python -m funrl.data_prep refine`` with the real pieces.

The demo's warm start (its tiny Qwen2 after 200 of the demo's 300 SRML SFT steps on its SFT parquet: the model writes
``<think>...</think><answer>[...]</answer>`` and gets most demo queries right, greedy, and some wrong),
then the loop, as a subprocess: each round's checkpoint served on loopback by ``funrl.toy.hf_server``
(transformers ``generate``, greedy, every reply recorded), sampled on the demo's training queries, FCDR by
the scripted judge (a separate loopback server in this process), AST validation, export, and the SRML SFT
command (``python -m funrl.train +recipe=sft_srml hardware=cpu``, 3 steps) from the round's checkpoint.

One test, in order: the first run is killed (SIGKILL, the loop and its server) in the middle of round 1's
sampling; the rerun finishes round 1 and runs round 2 up to its export, asking nothing that was answered
before the kill. Then: round 2's SFT parquet holds only answers that passed FCDR and AST validation, each
one a reply of round 1's trained checkpoint (recorded by the server that served it) to the training
prompt (system and user turns equal ``prompt_messages``).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from funrl.data_prep.demo import demo_inputs
from funrl.data_prep.prompts import JUDGE_SYSTEM, prompt_messages
from funrl.data_prep.scripted_endpoints import ScriptedTeacherJudge
from funrl.reward import parse

from funrl.toy.scripted_server import OpenAIServer

from .demo_setup import demo_samples

pytestmark = pytest.mark.slow

FMT = "think_answer"
ENV = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}
TRAIN = [
    "hardware=cpu",
    "trainer.logger=[console]",
    "data.train_batch_size=4",
    "data.use_dynamic_bsz=false",
    "data.micro_batch_size_per_gpu=4",
    "data.max_length=2048",
    "trainer.total_training_steps=3",
    "trainer.total_epochs=100",
    "trainer.save_freq=-1",
    "optim.lr=1e-3",
    "optim.lr_warmup_steps_ratio=0",
]


@pytest.fixture(scope="module")
def warm(demo_warm_start) -> Path:
    """The demo's warm-started model after 200 of its 300 SRML SFT steps (tests/conftest.py)."""
    return demo_warm_start[200]


def _config(path: Path, checkpoint: Path, work: Path, judge_url: str) -> None:
    inputs = [{k: v for k, v in vars(i).items() if v is not None} for i in demo_inputs()]
    serve = ["{python}", "-m", "funrl.toy.hf_server", "--model", "{checkpoint}", "--port", "{port}"]
    serve += ["--max-new-tokens", "160", "--latency", "0.1", "--log", "{round_dir}/replies.jsonl"]
    tree = {
        "checkpoint": str(checkpoint),
        "rounds": 2,
        "work_dir": str(work),
        "serve": {"command": serve, "poll_s": 0.2, "ready_timeout_s": 120},
        "train": {"overrides": TRAIN},
        "data_prep": {
            "inputs": inputs,
            "progress": False,
            "generate": {"endpoint": {"concurrency": 2, "max_tokens": 160, "backoff_initial_s": 0.01}},
            "judge": {"endpoint": {"base_url": judge_url, "model": "judge", "backoff_initial_s": 0.01}},
        },
    }
    path.write_text(json.dumps(tree))


def _refine(config: Path, cwd: Path, **kwargs) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "funrl.data_prep",
        "refine",
        "--config",
        str(config),
        "--stop-after",
        "2:export",
    ]
    return subprocess.Popen(cmd, cwd=cwd, env=ENV, start_new_session=True, text=True, **kwargs)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def _journal_keys(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {key for (key,) in db.execute("SELECT key FROM replies")}


def test_refine_rounds_on_cpu_killed_and_resumed(warm, tmp_path):
    samples = {s.id: s for s in demo_samples()}
    config, work = tmp_path / "refine.yaml", tmp_path / "refine"
    replies_1 = work / "round_1" / "replies.jsonl"
    with OpenAIServer(ScriptedTeacherJudge(samples.values())) as judge:
        _config(config, warm, work, judge.base_url)
        # 1. killed in the middle of round 1's sampling (the loop and the server it started)
        first = _refine(config, tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while len(_lines(replies_1)) < 4 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.poll() is None, "the first run ended before it could be killed"
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        asked_before = {r["key"] for r in _lines(replies_1)}
        journaled = _journal_keys(work / "round_1" / "prep" / "journal.sqlite")
        judged_before = len(judge.log)
        assert journaled and not (work / "round_1" / "done" / "sample").exists()
        # 2. the same command again: round 1 resumes, round 2 runs up to its export
        second = _refine(config, tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out, _ = second.communicate(timeout=600)
        assert second.returncode == 0, out[-4000:]
        judge_keys = judge.keys()
    # nothing answered before the kill was asked again (at most the one request in flight at the kill)
    asked_after = [r["key"] for r in _lines(replies_1)[len(asked_before) :]]
    assert not set(asked_after) & journaled
    assert len(set(asked_after) & asked_before) <= 1 and len(asked_after) == len(set(asked_after))
    assert not set(judge_keys[judged_before:]) & journaled
    round_1 = json.loads((work / "round_1" / "round.json").read_text())
    _check_round_1(round_1, work, warm)
    _check_round_2(work, round_1["output_checkpoint"], samples)


def _check_round_1(report: dict, work: Path, warm: Path) -> None:
    assert report["checkpoint"] == str(warm.resolve()) == report["served_model"]
    assert report["samples_asked"] == 15  # the demo's samples, one answer each
    # the warm-started model is right on most queries, not all: FCDR dropped some, exported the others
    assert 0 < report["exported_sft_rows"] < report["samples_asked"]
    assert report["fcdr"]["dropped"] > 0 and report["fcdr"]["verdicts"]["call_params"]["fail"] > 0
    assert report["train"]["steps"] == 3 and report["train"]["loss_last"]["train/loss"] > 0
    assert report["output_checkpoint"] == str(work / "round_1" / "train" / "global_step_3" / "huggingface")
    assert sorted(p.name for p in (work / "round_1" / "done").iterdir()) == sorted(
        ["sample", "judge", "validate", "export", "train"]
    )


def _check_round_2(work: Path, model_1: str, samples: dict) -> None:
    rnd = work / "round_2"
    assert (
        not (rnd / "done" / "train").exists() and (rnd / "done" / "export").exists()
    )  # --stop-after 2:export
    replies = _lines(rnd / "replies.jsonl")
    assert replies and {r["model"] for r in replies} == {model_1}  # served: round 1's trained checkpoint
    contents = {r["content"] for r in replies}
    for r in replies:  # every request of round 2 is the training prompt (+ the judge's objection, if any)
        sample = next(s for s in samples.values() if s.query == r["messages"][1]["content"])
        assert (
            r["messages"][:2] == prompt_messages(sample, FMT) and r["messages"][0]["content"] != JUDGE_SYSTEM
        )
    judged = {(j["sample_id"], j["index"]): j for j in _lines(rnd / "prep" / "judged.jsonl")}
    validated = {(v["sample_id"], v["index"]) for v in _lines(rnd / "prep" / "validated.jsonl")}
    dropped = {
        d["sample_id"] for name in ("judge", "validate") for d in _lines(rnd / "prep" / f"{name}.drops.jsonl")
    }
    rows = pq.read_table(rnd / "prep" / "sft.parquet").to_pylist()
    assert rows and len(rows) == len(validated) and dropped  # FCDR kept some answers and dropped others
    for row in rows:
        key = (row["sample_id"], row["index"])
        assert key in validated and row["sample_id"] not in dropped
        assert _passed_fcdr(judged[key])
        assert judged[key]["text"] in contents  # the answer is round 1's model's own reply
        system, user, answer = row["messages"]
        assert [system, user] == prompt_messages(samples[row["sample_id"]], FMT)
        if judged[key]["status"] == "accepted":  # the calls rendered in the output format: the same calls
            assert parse(answer["content"], "auto") == parse(judged[key]["text"], "auto")
        else:  # a plain-text answer is kept as written
            assert answer["content"] == judged[key]["text"]


def _passed_fcdr(judged: dict) -> bool:
    """Accepted: every check of its last round passed (earlier rounds: the answers FCDR sent back); or a
    non-call answer kept for a sample that expects none."""
    if judged["status"] == "kept_non_call":
        return True
    last = max(v["round"] for v in judged["verdicts"])
    final = [v for v in judged["verdicts"] if v["round"] == last]
    return judged["status"] == "accepted" and bool(final) and all(v["verdict"] for v in final)
