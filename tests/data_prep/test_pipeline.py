"""The whole pipeline against a real loopback server: the demo's hand-counted outcome, reward agreement,
faults during a run, the CLI, the length report."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from funrl.data_prep.config import load_config
from funrl.data_prep.demo import STUBBORN, WRONG_FIRST, demo_inputs, run_demo
from funrl.data_prep.pipeline import run_all
from funrl.data_prep.prompts import JUDGE_SYSTEM
from funrl.data_prep.records import read_jsonl
from funrl.data_prep.report import lengths
from funrl.data_prep.scripted_endpoints import ScriptedTeacherJudge
from funrl.reward import compute_score

from funrl.toy.scripted_server import OpenAIServer

from .demo_setup import demo_config, demo_samples


def _tables(work_dir) -> tuple[list, list]:
    return pq.read_table(work_dir / "sft.parquet").to_pylist(), pq.read_table(
        work_dir / "rl.parquet"
    ).to_pylist()


def _reasons(work_dir, stage) -> dict:
    return {(d["sample_id"], d["reason"]) for d in read_jsonl(work_dir / f"{stage}.drops.jsonl")}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    report = run_demo(out, ["progress=false"], echo=lambda _: None)
    return out, report


def test_demo_outcome_matches_the_hand_count(demo_run):
    out, report = demo_run
    # 11 xLAM rows (2 malformed), 4 chat rows (1 malformed), 4 BFCL entries (1 without an answer).
    assert report["read"]["samples"] == 15 and report["read"]["quarantined"] == 4
    assert report["read"]["quarantine_reasons"] == {
        "read:bad_json": 1,
        "read:bad_messages": 1,
        "read:no_possible_answer": 1,
        "read:unknown_function": 1,
    }
    # chat row 0 brings its own CoT: 14 generation requests for 15 samples.
    assert report["generate"]["requests"]["generator"]["sent"] == 14
    judge = report["judge"]
    assert (judge["accepted"], judge["kept_non_call"], judge["dropped"]) == (12, 2, 1)
    assert _reasons(out, "judge") == {("demo_xlam:7", "judge:call_params:rounds_exhausted")}
    assert judge["accepted_at_round"] == {"1": 9, "2": 3}  # the 3 WRONG_FIRST samples needed a second answer
    # Judge requests: 9 first-time passes x (4 checks + query_tool_fit) + 3 fixed x 8 + stubborn 4+3+3 + 2 non-calls x 1.
    assert judge["requests"]["judge"]["sent"] == 9 * 5 + 3 * 8 + 10 + 2 == 81
    assert judge["requests"]["generator"]["sent"] == 3 + 2  # regenerations
    # Stage 2 catches the reference with limit="ten" for an integer, which the lenient judge let through.
    assert _reasons(out, "validate") == {("demo_xlam:6", "schema_error:type")}
    assert report["export"] == {
        "sft_rows": 13,
        "rl_rows": 11,
        "sft_overlong": 0,
        "length_check": "off (no output.tokenizer: token counts need the target tokenizer)",
    }
    assert report["lengths"]["cot"]["n"] == 11 and report["lengths"]["call"]["n"] == 11
    assert set(WRONG_FIRST) | set(STUBBORN) <= {s.id for s in demo_samples()}


def test_outputs_follow_verl_schemas_and_the_reward_agrees(demo_run):
    out, _ = demo_run
    sft, rl = _tables(out)
    assert set(pq.read_schema(out / "rl.parquet").names) == {
        "data_source",
        "prompt",
        "ability",
        "reward_model",
        "extra_info",
    }
    answers = {}
    for row in sft:
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["system", "user", "assistant"]
        assert row["messages"][2]["content"].startswith("<think>")
        answers[row["sample_id"]] = row["messages"][2]["content"]
    assert len({r["extra_info"]["sample_id"] for r in rl}) == len(rl) == 11
    for row in rl:
        assert row["ability"] == "function_calling" and row["reward_model"]["style"] == "rule"
        assert (
            row["prompt"]
            == next(s for s in sft if s["sample_id"] == row["extra_info"]["sample_id"])["messages"][:2]
        )
        gt = row["reward_model"]["ground_truth"]
        assert json.loads(gt)["fmt"] == "think_answer" and json.loads(gt)["require_think"] is True
        good = compute_score(row["data_source"], answers[row["extra_info"]["sample_id"]], gt)
        assert good["score"] == 1.0, (row["extra_info"], good)
        # and the ground truth is not vacuous: an answer without calls scores 0
        assert compute_score(row["data_source"], "<think>x</think><answer>[]</answer>", gt)["score"] == 0.0
    # The non-call samples are in the SFT file only.
    non_call = {"demo_chat:2", "demo_bfcl:irrelevance_0"}
    assert non_call <= set(answers) and not non_call & {r["extra_info"]["sample_id"] for r in rl}


def test_bfcl_ground_truth_keeps_its_possible_answer(demo_run):
    out, _ = demo_run
    _, rl = _tables(out)
    row = next(r for r in rl if r["extra_info"]["sample_id"] == "demo_bfcl:simple_0")
    gt = json.loads(row["reward_model"]["ground_truth"])
    assert gt["possible_answer"] == [
        {"geometry.circle_area": {"radius": [3.0], "units": ["metres", "m", ""]}}
    ]
    assert gt["category"] == "simple"
    text = "<think>r</think><answer>[geometry.circle_area(radius=3)]</answer>"
    assert compute_score("x", text, row["reward_model"]["ground_truth"])["score"] == 1.0


def test_faults_during_a_run_change_nothing(demo_run, tmp_path):
    clean_dir, _ = demo_run
    with OpenAIServer(
        ScriptedTeacherJudge(demo_samples(), wrong_first=WRONG_FIRST, stubborn=STUBBORN)
    ) as server:
        server.add_fault("http_500", times=3, match="Check: format")
        server.add_fault("http_429", times=2, match="Check: is_call")
        server.add_fault("malformed", times=2, match="You are an expert in composing function calls")
        server.add_fault("timeout", times=2, match="Check: cot_answer", delay_s=5.0)
        cfg = demo_config(server.base_url, tmp_path, "judge.endpoint.timeout_s=0.5")
        report = run_all(cfg)
        assert not server.pending_faults() and not server.errors
    assert _tables(tmp_path) == _tables(clean_dir)
    retries = {
        **report["judge"]["requests"]["judge"]["retries"],
        **report["generate"]["requests"]["generator"]["retries"],
    }
    assert retries == {"http_500": 3, "http_429": 2, "malformed": 2, "timeout": 2}


def test_unparsable_verdicts_discard_with_reason(tmp_path):
    model = ScriptedTeacherJudge(demo_samples(), garbage_verdicts={"demo_xlam:0"})
    with OpenAIServer(model) as server:
        report = run_all(demo_config(server.base_url, tmp_path, "judge.parse_retries=2"))
        asked = [r for r in server.log if "What's the weather like in Lisbon" in json.dumps(r.body)]
    assert ("demo_xlam:0", "judge:unparsable:is_call") in _reasons(tmp_path, "judge")
    assert len(asked) == 1 + 3  # one generation, then the first check asked 1 + parse_retries times
    assert report["judge"]["drop_reasons"]["judge:unparsable:is_call"] == 1


def test_a_request_rejected_by_the_endpoint_drops_only_its_sample(tmp_path):
    with OpenAIServer(ScriptedTeacherJudge(demo_samples())) as server:
        server.add_fault("http_400", times=1, match="Turn off the lights")
        report = run_all(demo_config(server.base_url, tmp_path))
    assert report["generate"]["drop_reasons"] == {"generate:request_error": 1}
    assert report["export"]["rl_rows"] == 11 - 1 + 1  # demo_xlam:5 lost; WRONG_FIRST/STUBBORN not set here
    assert [d["sample_id"] for d in read_jsonl(tmp_path / "generate.drops.jsonl")] == ["demo_xlam:5"]


def test_cli_stage_by_stage_with_config_file_and_failure_exit(tmp_path):
    with OpenAIServer(ScriptedTeacherJudge(demo_samples())) as server:
        inputs = [{k: v for k, v in vars(i).items() if v is not None} for i in demo_inputs()]
        config = tmp_path / "prep.yaml"
        config.write_text(
            json.dumps(
                {
                    "inputs": inputs,
                    "work_dir": str(tmp_path / "out"),
                    "progress": False,
                    "generate": {
                        "endpoint": {
                            "base_url": server.base_url,
                            "model": "m",
                            "max_retries": 1,
                            "backoff_initial_s": 0.01,
                        }
                    },
                    "judge": {"endpoint": {"base_url": server.base_url, "model": "judge"}},
                }
            )
        )

        def cli(*args):
            return subprocess.run(
                [sys.executable, "-m", "funrl.data_prep", *args, "--config", str(config)],
                capture_output=True,
                text=True,
            )

        assert cli("read").returncode == 0
        server.add_fault("http_500", times=-1, match="Lisbon")
        failed = cli("generate")
        assert failed.returncode == 3
        assert "request gen/demo_xlam:0/0/0 failed 2 times" in failed.stderr and "rerun" in failed.stderr
        server.clear_faults()
        sent_before = len(server.log)
        no_judge = cli("judge", "judge.endpoint=null")  # no fallback to the generator: exit 2, nothing sent
        assert no_judge.returncode == 2 and len(server.log) == sent_before
        assert no_judge.stderr.startswith("error: judge.endpoint is not set:"), no_judge.stderr
        for stage in ("generate", "judge", "validate", "export"):
            done = cli(stage)
            assert done.returncode == 0, done.stderr
        # Only the failed sample's generation was asked again, not the 13 others journaled before the failure.
        regenerated = [
            r for r in server.log[sent_before:] if r.body["messages"][0]["content"] != JUDGE_SYSTEM
        ]
        assert len(regenerated) == 1
        assert "sft_rows 14" in done.stdout  # no scripted mistakes here: only demo_xlam:6 drops
        bad = cli("judge", "judge.max_rounds=0")
        assert bad.returncode == 2 and "judge.max_rounds must be >= 1" in bad.stderr


def test_length_report_counts_think_and_call_segments(tmp_path):
    answers = ["<think>a b c</think><answer>[f()]</answer>", "<think>a</think>\n\n[g(x=1)] y"]
    report = lengths(answers, None)
    assert report["cot"] == {"n": 2, "mean": 2.0, "median": 2.0}
    assert report["call"] == {"n": 2, "mean": 1.5, "median": 1.5}
    from funrl.toy import tiny_tokenizer

    tok = tiny_tokenizer(tmp_path / "tok")
    report = lengths(answers, str(tmp_path / "tok"))
    cot = [
        len(tok("a b c", add_special_tokens=False)["input_ids"]),
        len(tok("a", add_special_tokens=False)["input_ids"]),
    ]
    assert report["unit"].startswith("tokenizer") and report["cot"]["mean"] == round(sum(cot) / 2, 2)


def test_verl_datasets_read_the_outputs(demo_run, tmp_path):
    """The files go through verl's own MultiTurnSFTDataset and RLHFDataset (tiny local tokenizer)."""
    pytest.importorskip("verl")
    from omegaconf import OmegaConf
    from verl.utils.dataset.multiturn_sft_dataset import MultiTurnSFTDataset
    from verl.utils.dataset.rl_dataset import RLHFDataset

    from funrl.toy import tiny_tokenizer

    out, _ = demo_run
    tok = tiny_tokenizer(tmp_path / "tok")
    sft = MultiTurnSFTDataset(
        str(out / "sft.parquet"), tok, OmegaConf.create({"max_length": 8192, "truncation": "error"})
    )
    assert len(sft) == 13
    item = sft[0]
    answer = pq.read_table(out / "sft.parquet").to_pylist()[0]["messages"][2]["content"]
    trained = tok.decode(item["input_ids"][item["loss_mask"].bool()])
    assert answer in trained  # the loss covers the assistant turn: <think>CoT</think> + calls
    rl = RLHFDataset(
        str(out / "rl.parquet"),
        tok,
        OmegaConf.create(
            {"max_prompt_length": 8192, "cache_dir": str(tmp_path / "cache"), "return_raw_chat": True}
        ),
    )
    assert len(rl) == 11
    row = rl[0]
    assert json.loads(row["reward_model"]["ground_truth"])["category"] == "simple"
    assert row["data_source"] == "funrl/demo_xlam"


def test_several_answers_per_query(tmp_path):
    with OpenAIServer(ScriptedTeacherJudge(demo_samples())) as server:
        report = run_all(demo_config(server.base_url, tmp_path, "generate.samples_per_query=2"))
        generations = [r for r in server.log if r.body["messages"][0]["content"] != JUDGE_SYSTEM]
    assert report["generate"]["candidates"] == 30
    assert len(generations) == 2 * 15 - 1  # chat row 0's own CoT serves as its first answer
    sft, rl = _tables(tmp_path)
    assert len(sft) == 2 * 14 and len(rl) == 12  # no scripted mistakes: only demo_xlam:6 drops (twice)
    assert sorted(r["index"] for r in sft if r["sample_id"] == "demo_xlam:0") == [0, 1]


def test_a_failed_regeneration_is_a_judge_stage_drop(tmp_path):
    with OpenAIServer(ScriptedTeacherJudge(demo_samples(), wrong_first=["demo_xlam:5"])) as server:
        server.add_fault("http_400", times=1, match="A reviewer rejected")
        report = run_all(demo_config(server.base_url, tmp_path))
    assert report["generate"]["dropped"] == 0
    assert report["judge"]["drop_reasons"] == {"generate:request_error": 1}
    assert _reasons(tmp_path, "judge") == {("demo_xlam:5", "generate:request_error")}


def test_demo_command_line(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "funrl.data_prep",
            "demo",
            "--out",
            str(tmp_path),
            "progress=false",
            "judge.max_rounds=1",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    # One round only: the three answers that needed a second try are discarded too.
    assert report["judge"]["drop_reasons"] == {"judge:call_params:rounds_exhausted": 4}
    assert (report["export"]["sft_rows"], report["export"]["rl_rows"]) == (10, 8)


def test_stage_2_in_worker_processes_gives_the_same_result(demo_run):
    from funrl.data_prep.records import Judged
    from funrl.data_prep.validate import validate_many

    out, _ = demo_run
    samples = {s.id: s for s in demo_samples()}
    pairs = [(samples[j.sample_id], j) for j in read_jsonl(out / "judged.jsonl", Judged)]
    cfg = load_config(None, ["progress=false", "validate.workers=2"])
    in_processes = validate_many(pairs, cfg, chunk=4)
    cfg.validate.workers = 1
    assert in_processes == validate_many(pairs, cfg, chunk=4) and len(in_processes) == 14


def test_a_plain_text_answer_to_a_call_query_is_regenerated(tmp_path):
    model = ScriptedTeacherJudge(demo_samples())

    def responder(body):
        messages = body["messages"]
        first_try = messages[0]["content"] != JUDGE_SYSTEM and len(messages) == 2
        if first_try and messages[1]["content"] == "Is 7919 a prime number?":
            return "<think>Hmm.</think>I would rather not compute that."
        return model(body)

    with OpenAIServer(responder) as server:
        report = run_all(demo_config(server.base_url, tmp_path))
        judge_bodies = [r.body for r in server.log if "Check: " in r.body["messages"][-1]["content"]]
    judged = {j["sample_id"]: j for j in read_jsonl(tmp_path / "judged.jsonl")}
    assert judged["demo_xlam:4"]["status"] == "accepted" and judged["demo_xlam:4"]["rounds"] == 2
    assert judged["demo_xlam:4"]["verdicts"][0] == {
        "check": "is_call",
        "round": 0,
        "verdict": False,
        "reason": "the answer is plain text",
    }
    assert report["judge"]["accepted_at_round"] == {"1": 12, "2": 1}  # 13 call samples
    # Every judge request asked for the verdict schema (vLLM guided decoding).
    assert all(b["response_format"]["json_schema"]["name"] == "verdict" for b in judge_bodies)


def test_discard_instead_of_regenerate(tmp_path):
    with OpenAIServer(ScriptedTeacherJudge(demo_samples(), wrong_first=WRONG_FIRST)) as server:
        report = run_all(
            demo_config(
                server.base_url,
                tmp_path,
                "judge.on_fail.call_params=discard",
                "judge.structured_output=false",
            )
        )
        assert not any("response_format" in r.body for r in server.log)
    assert report["judge"]["drop_reasons"] == {"judge:call_params": 3}
    assert report["judge"]["accepted_at_round"] == {"1": 10}
