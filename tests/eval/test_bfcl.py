"""BFCL evaluation against the real loopback OpenAI-compatible server, on BFCL-format files of our own.

The fixture has entries in all 8 Python AST categories; the server answers each with the gold answer or
a corrupted one, so every accuracy below is known by hand:

    simple_python      2/5  (gold, gold, wrong string value, plain text, an entry that cannot be read)
    multiple           1/2  (gold, wrong function)
    parallel           1/2  (gold in reverse order, one call missing)
    parallel_multiple  2/2
    Non-Live AST = (0.4 + 0.5 + 0.5 + 1.0) / 4 = 0.6
    live_simple        2/3  (gold, gold, the server refuses with 400)
    live_multiple      1/1,  live_parallel 0/1 (wrong value),  live_parallel_multiple 1/1
    Live = (2 + 1 + 0 + 1) / (3 + 1 + 1 + 1) = 4/6;   mean = (0.6 + 4/6) / 2 = 0.6333...
"""

from __future__ import annotations

import gzip
import json
import re
import time
from pathlib import Path

import pytest
from funrl.data_prep import prompt_messages
from funrl.data_prep.client import EndpointError
from funrl.data_prep.config import EndpointConfig
from funrl.data_prep.journal import Journal
from funrl.data_prep.render import render_answer, system_prompt

from funrl.eval import EvalConfig, build_report, load_bfcl, markdown_report, run_bfcl
from funrl.eval.__main__ import main
from funrl.eval.bfcl import score_reply
from funrl.toy.scripted_server import OpenAIServer
from tests.bfcl_data import GOLD_FAILS_OFFICIALLY


def fn(name: str, **params: str) -> dict:
    props = {p: {"type": t, "description": p} for p, t in params.items()}
    return {
        "name": name,
        "description": f"{name} tool",
        "parameters": {"type": "dict", "properties": props, "required": [next(iter(params))]},
    }


WEATHER = fn("get_weather", city="string", unit="string")
TIME = fn("get_time", zone="string")
AREA = fn("geometry.area", base="integer", height="integer")
BAD = {"name": "bad", "description": "", "parameters": {"type": "dict", "properties": {"x": {"type": "str"}}}}


def w(city: str) -> dict:
    return {"get_weather": {"city": [city], "unit": ["celsius", ""]}}


# id -> (functions, possible answer, what the server answers: "gold" or a reply text)
FIXTURE = {
    "simple_python_0": ([AREA], [{"geometry.area": {"base": [10], "height": [5]}}], "gold"),
    "simple_python_1": ([WEATHER], [w("Paris")], "gold"),
    "simple_python_2": (
        [WEATHER],
        [w("Paris")],
        "<think>x</think><answer>[get_weather(city='Lyon')]</answer>",
    ),
    "simple_python_3": ([WEATHER], [w("Paris")], "I cannot do that."),
    "simple_python_4": ([BAD], [{"bad": {"x": ["1"]}}], "gold"),
    "multiple_0": ([WEATHER, TIME], [w("Oslo")], "gold"),
    "multiple_1": ([WEATHER, TIME], [w("Oslo")], "<think>x</think><answer>[get_time(zone='CET')]</answer>"),
    "parallel_0": (
        [WEATHER],
        [w("Paris"), w("Rome")],
        "<think>x</think><answer>[get_weather(city='Rome'), get_weather(city='Paris', unit='celsius')]</answer>",
    ),
    "parallel_1": (
        [WEATHER],
        [w("Paris"), w("Rome")],
        "<think>x</think><answer>[get_weather(city='Rome')]</answer>",
    ),
    "parallel_multiple_0": ([WEATHER, TIME], [w("Kyiv"), {"get_time": {"zone": ["EET"]}}], "gold"),
    "parallel_multiple_1": ([WEATHER, TIME], [w("Lima"), {"get_time": {"zone": ["PET"]}}], "gold"),
    "live_simple_0-0-0": ([WEATHER], [w("Paris")], "gold"),
    "live_simple_1-1-0": ([AREA], [{"geometry.area": {"base": [3], "height": [4, 5]}}], "gold"),
    "live_simple_2-2-0": ([WEATHER], [w("Paris")], "gold"),  # the server refuses this one (400)
    "live_multiple_0-0-0": ([WEATHER, TIME], [{"get_time": {"zone": ["UTC"]}}], "gold"),
    "live_parallel_0-0-0": (
        [WEATHER],
        [w("Paris"), w("Rome")],
        "<think>x</think><answer>[get_weather(city='Paris'), get_weather(city='Milan')]</answer>",
    ),
    "live_parallel_multiple_0-0-0": ([WEATHER, TIME], [w("Nice"), {"get_time": {"zone": ["CET"]}}], "gold"),
}
REFUSED = "live_simple_2-2-0"


def query_of(entry_id: str) -> str:
    return f"[{entry_id}] Please call the right tool."


def write_bfcl(directory: Path, fixture: dict) -> Path:
    """BFCL's layout: BFCL_v4_<cat>.json (JSON lines) + possible_answer/BFCL_v4_<cat>.json."""
    (directory / "possible_answer").mkdir(parents=True, exist_ok=True)
    by_cat: dict[str, list] = {}
    for entry_id, (functions, answer, _) in fixture.items():
        category = re.fullmatch(r"(.+?)_\d+(?:-\d+)*", entry_id).group(1)
        by_cat.setdefault(category, []).append((entry_id, functions, answer))
    for category, items in by_cat.items():
        with open(directory / f"BFCL_v4_{category}.json", "w") as f:
            for entry_id, functions, _ in items:
                question = [[{"role": "user", "content": query_of(entry_id)}]]
                f.write(json.dumps({"id": entry_id, "question": question, "function": functions}) + "\n")
        with open(directory / "possible_answer" / f"BFCL_v4_{category}.json", "w") as f:
            for entry_id, _, answer in items:
                f.write(json.dumps({"id": entry_id, "ground_truth": answer}) + "\n")
    return directory


def gold_reply(answer: list) -> str:
    calls = [
        {name: {p: v[0] for p, v in params.items() if v[0] != ""}}
        for c in answer
        for name, params in c.items()
    ]
    return render_answer("Reasoning.", calls, "think_answer")


def responder(body: dict) -> str:
    user = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
    entry_id = user[1 : user.index("]")]
    functions, answer, reply = FIXTURE[entry_id]
    return gold_reply(answer) if reply == "gold" else reply


def entry_of(body: dict) -> str:
    user = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
    return user[1 : user.index("]")]


@pytest.fixture()
def data_dir(tmp_path):
    return write_bfcl(tmp_path / "bfcl", FIXTURE)


def config(server: OpenAIServer, data_dir: Path, out: Path, **kw) -> EvalConfig:
    endpoint = EndpointConfig(
        base_url=server.base_url,
        model="funrl-test",
        concurrency=4,
        max_retries=1,
        backoff_initial_s=0.01,
        backoff_max_s=0.02,
        temperature=0.0,
        max_tokens=256,
        timeout_s=10,
    )
    return EvalConfig(endpoint=endpoint, output_dir=str(out), data_dir=str(data_dir), progress=False, **kw)


def check_expected_report(report: dict) -> None:
    cats = {c: (s["n"], s["correct"]) for c, s in report["categories"].items()}
    assert cats == {
        "simple_python": (5, 2),
        "multiple": (2, 1),
        "parallel": (2, 1),
        "parallel_multiple": (2, 2),
        "live_simple": (3, 2),
        "live_multiple": (1, 1),
        "live_parallel": (1, 0),
        "live_parallel_multiple": (1, 1),
    }
    assert report["non_live_ast"] == pytest.approx(0.6, abs=1e-15)
    assert report["live"] == {"accuracy": 4 / 6, "n": 6, "correct": 4}
    assert report["mean_non_live_ast_and_live"] == pytest.approx((0.6 + 4 / 6) / 2, abs=1e-15)
    assert "not BFCL's official overall" in report["mean_label"]
    # BFCL's own error types: a wrong name among several functions is reported by the simple checker
    # that "multiple" delegates to; a parallel call with a wrong value finds no match.
    assert report["error_types_by_category"] == {
        "simple_python": {"value_error:string": 1, "format_error:no_answer": 1, "unread:bad_tools": 1},
        "multiple": {"simple_function_checker:wrong_func_name": 1},
        "parallel": {"parallel_function_checker_no_order:wrong_count": 1},
        "live_simple": {"request_error:http_400": 1},
        "live_parallel": {"parallel_function_checker_no_order:cannot_find_match": 1},
    }
    assert sum(report["error_types"].values()) == report["wrong"] == 7
    assert [(s["id"], s["reason"]) for s in report["skipped"]] == [("simple_python_4", "read:bad_tools")]


def test_eval_against_loopback_server_gold_and_corrupted(data_dir, tmp_path):
    with OpenAIServer(responder) as server:
        server.add_fault("http_400", times=1, match=query_of(REFUSED))
        report = run_bfcl(config(server, data_dir, tmp_path / "out"))
        log = list(server.log)
    check_expected_report(report)
    assert len(log) == 16  # every readable entry asked once
    # The prompt is the training prompt: data preparation's system prompt (tools + format) and the query.
    data = load_bfcl(data_dir)
    sample = next(s for s in data.samples["multiple"] if s.id.endswith("multiple_0"))
    body = next(r.body for r in log if entry_of(r.body) == "multiple_0")
    assert body["messages"] == prompt_messages(sample, "think_answer")
    assert body["messages"][0]["content"] == system_prompt([WEATHER, TIME], "think_answer")
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("funrl-test", 0.0, 256)
    out = tmp_path / "out"
    assert json.loads((out / "report.json").read_text()) == json.loads(json.dumps(report))
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 17 and sum(r["valid"] for r in rows) == 10
    assert next(r for r in rows if r["id"] == REFUSED)["output"] is None
    md = (out / "report.md").read_text()
    assert "| simple_python | 5 | 2 | 40.00 |" in md
    assert "| **Live** (sample-weighted) | 6 | 4 | **66.67** |" in md
    assert "**Non-Live AST** (unweighted mean of the 4 non-live) | | | **60.00** |" in md
    assert "Mean of Non-Live AST and Live (not BFCL's official overall accuracy)** | | | **63.33** |" in md
    assert "simple_python simple_python_4: read:bad_tools" in md


def test_resume_reuses_journaled_replies(data_dir, tmp_path):
    out = tmp_path / "out"
    with OpenAIServer(responder) as server:
        server.add_fault("http_400", times=1, match=query_of(REFUSED))
        server.add_fault("http_500", times=100, match=query_of("multiple_1"))  # keeps failing: the run stops
        with pytest.raises(EndpointError, match="rerun the same command to resume"):
            run_bfcl(config(server, data_dir, out))
        journal = Journal(out / "journal.sqlite")
        answered = {e.logical_id.rsplit(":", 1)[1] for e in journal.entries()}
        journal.close()
        assert "multiple_1" not in answered and REFUSED in answered and len(answered) >= 1
        first = len(server.log)
        server.clear_faults()
        report = run_bfcl(config(server, data_dir, out))
        asked_again = [entry_of(r.body) for r in server.log[first:]]
    check_expected_report(report)  # the journaled 400 still counts, without being asked again
    assert sorted(asked_again) == sorted(set(FIXTURE) - {"simple_python_4"} - answered)
    assert report["requests"]["reused_from_journal"] == len(answered)


def test_cli(data_dir, tmp_path, capsys):
    with OpenAIServer(responder) as server:
        argv = ["bfcl", "--endpoint", server.base_url, "--model", "m", "--data-dir", str(data_dir)]
        argv += ["--out", str(tmp_path / "cli"), "--categories", "parallel", "live_parallel", "--no-progress"]
        assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| parallel | 2 | 1 | 50.00 |" in printed and "| live_parallel | 1 | 0 | 0.00 |" in printed
    report = json.loads((tmp_path / "cli" / "report.json").read_text())
    assert report["non_live_ast"] is None and report["mean_non_live_ast_and_live"] is None
    assert report["notes"][0].startswith(
        "Non-Live AST not computed: simple_python, multiple, parallel_multiple"
    )
    assert (
        main(
            [
                "bfcl",
                "--endpoint",
                "http://127.0.0.1:9/v1",
                "--model",
                "m",
                "--data-dir",
                str(tmp_path / "none"),
            ]
        )
        == 2
    )
    assert "not a directory" in capsys.readouterr().err


def test_wandb_offline(data_dir, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    with OpenAIServer(responder) as server:
        cfg = config(server, data_dir, tmp_path / "wb", categories=("parallel",), wandb_project="funrl-test")
        cfg.wandb_mode = "offline"
        report = run_bfcl(cfg)
    runs = list((tmp_path / "wb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    from funrl.curves import read_run

    # the scalars in the run's .wandb file, read back ({key: [(step, value)]}); W&B's writer is a separate
    # process that may still be flushing the history record on a loaded machine
    deadline = time.monotonic() + 60
    while "bfcl/parallel" not in (logged := read_run(runs[0])) and time.monotonic() < deadline:
        time.sleep(0.5)
    accuracy = report["categories"]["parallel"]["accuracy"]
    assert 0 < accuracy < 1  # the responder answers some entries right and some wrong
    assert logged["bfcl/parallel"] == [(0, pytest.approx(accuracy))]
    # only the category asked for; the aggregates need categories that were not run, so none is logged
    assert report["non_live_ast"] is None and report["live"]["accuracy"] is None
    assert sorted(k for k in logged if k.startswith("bfcl/") and "/error_types" not in k) == ["bfcl/parallel"]
    # the error-type table: one row per error type of the report
    assert logged["bfcl/error_types/nrows"] == [(0, len(report["error_types"]))]
    assert logged["bfcl/error_types/ncols"] == [(0, 2)]


def test_every_real_bfcl_entry_reads_and_its_gold_scores_as_bfcl_says(tmp_path):
    """All 2,351 entries of BFCL's 8 Python AST categories (functions + possible answers from the golden
    set; our own question text) go through the eval's loader, prompt and scoring; each gold answer (JSON
    rendering, in a <tool_call> block) gets the verdict BFCL's own checker gave it."""
    golden = Path(__file__).parents[1] / "data" / "bfcl"
    with gzip.open(golden / "entries.jsonl.gz", "rt") as f:
        entries = [json.loads(line) for line in f]
    with gzip.open(golden / "verdicts.jsonl.gz", "rt") as f:
        gold = {
            r["id"]: (r["text"], r["valid"])
            for r in map(json.loads, f)
            if r["kind"] == "gold" and r["rendering"] == "json"
        }
    fixture = {e["id"]: (e["function"], e["ground_truth"], "gold") for e in entries}
    data = load_bfcl(write_bfcl(tmp_path / "real", fixture))
    # data_prep's reader refuses a parameter with no acceptable value (BFCL's data has two); both fail
    # BFCL's own checker whatever the answer, and the evaluation counts them as wrong too.
    unread = {s["id"] for s in data.skipped}
    assert unread == {"live_simple_106-63-0", "live_simple_112-68-0"} <= GOLD_FAILS_OFFICIALLY
    assert {s["reason"] for s in data.skipped} == {"read:bad_ground_truth"}
    samples = [s for c in data.samples.values() for s in c]
    assert len(samples) + len(unread) == len(entries) == 2351
    cfg = EvalConfig(fmt="think_tool_call", progress=False)
    disagree, failed = [], set()
    for s in samples:
        entry_id = s.id.split(":", 1)[1]
        prompt_messages(s, "think_tool_call")  # every prompt builds
        text, official = gold[entry_id]
        row = score_reply(s, f"<think>r</think><tool_call>{text}</tool_call>", None, cfg)
        if row["valid"] != official:
            disagree.append(entry_id)
        if not row["valid"]:
            failed.add(entry_id)
    assert disagree == []
    assert failed | unread == GOLD_FAILS_OFFICIALLY


def test_report_says_when_it_was_a_limit_run():
    rows = [
        {"category": "simple_python", "valid": v, "error_type": None if v else "x"} for v in (True, False)
    ]
    partial = markdown_report(build_report(rows, ("simple_python",), meta={"limit": 2}))
    assert "Partial run (`--limit 2`)" in partial and "not comparable" in partial
    full = markdown_report(build_report(rows, ("simple_python",), meta={"limit": None}))
    assert "Partial run" not in full and "| simple_python | 2 | 1 | 50.0" in full
