"""BFCL evaluation against the real loopback OpenAI-compatible server, on BFCL-format files of our own.

The fixture has entries in the Python single-turn categories; the server answers each with the gold answer
(in the format the prompt asks for) or a chosen reply, so every number below is known by hand:

    simple_python      2/5  (gold, gold, wrong string value, plain text, a line that cannot be read)
    multiple           1/2  (gold, wrong function)
    parallel           1/2  (gold in reverse order, one call missing)
    parallel_multiple  2/2
    live_simple        2/3  (gold, gold, the server refuses with 400)
    live_multiple      1/1,  live_parallel 0/1 (wrong value),  live_parallel_multiple 1/1
    irrelevance        1/2  (no call: right; a call: wrong)
    live_irrelevance   1/1  (``[]`` is no call),   live_relevance 1/2 (a call: right; prose: wrong)

BFCL's summary (no Java / JavaScript run): Simple AST n/a; Non-Live Overall (shown partial, the missing
languages count 0) = ((0.4 + 0 + 0) / 3 + 0.5 + 0.5 + 1) / 4 = 0.5333...; Live = (2+1+0+1) / 6;
Irrelevance Detection = (1/2 + 1) / 2 = 0.75; Relevance Detection = 0.5.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest
from funrl.data_prep.client import EndpointError
from funrl.data_prep.config import EndpointConfig
from funrl.data_prep.journal import Journal
from funrl.data_prep.render import python_calls, render_answer, system_prompt

from funrl.eval import EvalConfig, build_report, load_bfcl, markdown_report, run_bfcl
from funrl.eval.__main__ import main
from funrl.eval.prompts import bfcl_messages
from funrl.toy.scripted_server import OpenAIServer


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
UNREAD = "simple_python_4"  # written without its 'function' field


def w(city: str) -> dict:
    return {"get_weather": {"city": [city], "unit": ["celsius", ""]}}


# id -> (functions, possible answer, what the server answers: "gold" or a reply text)
FIXTURE = {
    "simple_python_0": ([AREA], [{"geometry.area": {"base": [10], "height": [5]}}], "gold"),
    "simple_python_1": ([WEATHER], [w("Paris")], "gold"),
    "simple_python_2": ([WEATHER], [w("Paris")], "[get_weather(city='Lyon')]"),
    "simple_python_3": ([WEATHER], [w("Paris")], "I cannot do that."),
    UNREAD: ([WEATHER], [w("Paris")], "gold"),
    "multiple_0": ([WEATHER, TIME], [w("Oslo")], "gold"),
    "multiple_1": ([WEATHER, TIME], [w("Oslo")], "[get_time(zone='CET')]"),
    "parallel_0": (
        [WEATHER],
        [w("Paris"), w("Rome")],
        "[get_weather(city='Rome'), get_weather(city='Paris', unit='celsius')]",
    ),
    "parallel_1": ([WEATHER], [w("Paris"), w("Rome")], "[get_weather(city='Rome')]"),
    "parallel_multiple_0": ([WEATHER, TIME], [w("Kyiv"), {"get_time": {"zone": ["EET"]}}], "gold"),
    "parallel_multiple_1": ([WEATHER, TIME], [w("Lima"), {"get_time": {"zone": ["PET"]}}], "gold"),
    "live_simple_0-0-0": ([WEATHER], [w("Paris")], "gold"),
    "live_simple_1-1-0": ([AREA], [{"geometry.area": {"base": [3], "height": [4, 5]}}], "gold"),
    "live_simple_2-2-0": ([WEATHER], [w("Paris")], "gold"),  # the server refuses this one (400)
    "live_multiple_0-0-0": ([WEATHER, TIME], [{"get_time": {"zone": ["UTC"]}}], "gold"),
    "live_parallel_0-0-0": (
        [WEATHER],
        [w("Paris"), w("Rome")],
        "[get_weather(city='Paris'), get_weather(city='Milan')]",
    ),
    "live_parallel_multiple_0-0-0": ([WEATHER, TIME], [w("Nice"), {"get_time": {"zone": ["CET"]}}], "gold"),
    "irrelevance_0": ([WEATHER], None, "None of the functions can answer this."),
    "irrelevance_1": ([WEATHER], None, "[get_weather(city='Paris')]"),
    "live_irrelevance_0-0-0": ([TIME], None, "[]"),
    "live_relevance_0-0-0": ([TIME], None, "[get_time(zone='UTC')]"),
    "live_relevance_1-1-0": ([TIME], None, "What time zone do you mean?"),
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
                entry = {"id": entry_id, "question": [[{"role": "user", "content": query_of(entry_id)}]]}
                if entry_id != UNREAD:
                    entry["function"] = functions
                f.write(json.dumps(entry) + "\n")
        if items[0][2] is not None:
            with open(directory / "possible_answer" / f"BFCL_v4_{category}.json", "w") as f:
                for entry_id, _, answer in items:
                    f.write(json.dumps({"id": entry_id, "ground_truth": answer}) + "\n")
    return directory


def gold_calls(answer: list) -> list[dict]:
    return [
        {name: {p: v[0] for p, v in params.items() if v[0] != ""}}
        for c in answer
        for name, params in c.items()
    ]


def entry_of(body: dict) -> str:
    user = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
    return user[1 : user.index("]")]


def responder(body: dict) -> str:
    """Gold answers in the format the prompt asks for: BFCL's python-call list, or think_answer."""
    functions, answer, reply = FIXTURE[entry_of(body)]
    if reply != "gold":
        return reply
    if body["messages"][0]["content"].startswith("You are an expert in composing functions."):
        return python_calls(gold_calls(answer))
    return render_answer("Reasoning.", gold_calls(answer), "think_answer")


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
    kw.setdefault("categories", ("python",))  # BFCL's group: every single-turn category but Java / JS
    return EvalConfig(endpoint=endpoint, output_dir=str(out), data_dir=str(data_dir), progress=False, **kw)


def check_expected_report(report: dict) -> None:
    cats = {c: (s["total"], s["correct"]) for c, s in report["categories"].items()}
    assert cats == {
        "simple_python": (5, 2),
        "multiple": (2, 1),
        "parallel": (2, 1),
        "parallel_multiple": (2, 2),
        "irrelevance": (2, 1),
        "live_simple": (3, 2),
        "live_multiple": (1, 1),
        "live_parallel": (1, 0),
        "live_parallel_multiple": (1, 1),
        "live_irrelevance": (1, 1),
        "live_relevance": (2, 1),
    }
    assert report["categories"]["simple_python"]["accuracy"] == 0.4
    s = report["summary"]
    assert s["non_live"]["Simple AST"]["display"] == "n/a (not run)"
    assert s["non_live"]["Non-Live Overall Acc"]["accuracy"] == pytest.approx(
        ((0.4 + 0 + 0) / 3 + 2) / 4, abs=1e-15
    )
    assert s["non_live"]["Non-Live Overall Acc"]["not_run"] == ["simple_java", "simple_javascript"]
    assert s["live"]["AST Summary"]["accuracy"] == pytest.approx(4 / 6, abs=1e-15)
    assert s["live"]["AST Summary"]["display"] == "66.67"
    assert s["hallucination"]["Irrelevance Detection"]["accuracy"] == 0.75
    assert s["hallucination"]["Relevance Detection"]["accuracy"] == 0.5
    assert s["papers"]["Mean of Non-Live AST and Live"]["display"] == "n/a (not run)"
    by_category = dict(report["error_types_by_category"])
    simple = by_category.pop("simple_python")  # plain text: whatever format error the reward names
    assert simple["value_error:string"] == 1 and simple["unread:bad_tools"] == 1 and sum(simple.values()) == 3
    assert [t for t in simple if t not in ("value_error:string", "unread:bad_tools")][0].startswith(
        "format_error:"
    )
    assert by_category == {
        "multiple": {"simple_function_checker:wrong_func_name": 1},
        "parallel": {"parallel_function_checker_no_order:wrong_count": 1},
        "irrelevance": {"irrelevance_error:decoder_success": 1},
        "live_simple": {"request_error:http_400": 1},
        "live_parallel": {"parallel_function_checker_no_order:cannot_find_match": 1},
        "live_relevance": {"relevance_error:decoder_failed": 1},
    }
    assert sum(report["error_types"].values()) == report["wrong"] == 9
    assert [(s["id"], s["reason"]) for s in report["skipped"]] == [(UNREAD, "bad_tools")]


def test_eval_against_loopback_server_gold_and_chosen_replies(data_dir, tmp_path):
    with OpenAIServer(responder) as server:
        server.add_fault("http_400", times=1, match=query_of(REFUSED))
        report = run_bfcl(config(server, data_dir, tmp_path / "out"))
        log = list(server.log)
    check_expected_report(report)
    assert len(log) == len(FIXTURE) - 1  # every readable entry asked once
    # BFCL's prompt: its system prompt (the functions with BFCL's Python note), then the entry's messages
    entry = next(e for e in load_bfcl(data_dir, ("multiple",)).entries["multiple"] if e.id == "multiple_0")
    body = next(r.body for r in log if entry_of(r.body) == "multiple_0")
    assert body["messages"] == bfcl_messages(entry)
    assert body["messages"][1] == {"role": "user", "content": query_of("multiple_0")}
    assert (
        "get_weather tool Note that the provided function is in Python 3 syntax."
        in body["messages"][0]["content"]
    )
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("funrl-test", 0.0, 256)
    out = tmp_path / "out"
    assert json.loads((out / "report.json").read_text()) == json.loads(json.dumps(report))
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == len(FIXTURE) and sum(r["valid"] for r in rows) == 13
    assert next(r for r in rows if r["id"] == REFUSED)["output"] is None
    md = (out / "report.md").read_text()
    assert "| simple_python | 5 | 2 | 40.00 |" in md and "| live | AST Summary | 66.67 |" in md
    assert "| non_live | Simple AST | n/a (not run) |" in md
    assert "| hallucination | Irrelevance Detection | 75.00 |" in md
    assert "simple_python simple_python_4: bad_tools" in md


def test_training_prompt_style(data_dir, tmp_path):
    """--prompt-style training: data preparation's training prompt byte for byte, replies read as --fmt."""
    with OpenAIServer(responder) as server:
        report = run_bfcl(
            config(server, data_dir, tmp_path / "t", prompt_style="training", categories=("multiple",))
        )
        body = server.log[0].body
    assert body["messages"][0] == {
        "role": "system",
        "content": system_prompt([WEATHER, TIME], "think_answer"),
    }
    assert body["messages"][1] == {"role": "user", "content": query_of(entry_of(body))}
    # the gold answer (think_answer) is right; "[get_time(zone='CET')]" has no <answer> block: wrong
    assert report["categories"]["multiple"] == {"accuracy": 0.5, "correct": 1, "total": 2}
    assert report["score_fmt"] == "think_answer" and report["prompt_style"] == "training"


def test_resume_reuses_journaled_replies(data_dir, tmp_path):
    out = tmp_path / "out"
    with OpenAIServer(responder) as server:
        server.add_fault("http_400", times=1, match=query_of(REFUSED))
        # keeps failing, slowly (so the other entries, the refused one included, are answered first): the
        # run stops
        server.add_fault("http_500", times=100, match=query_of("multiple_1"), delay_s=0.3)
        with pytest.raises(EndpointError, match="rerun the same command to resume"):
            run_bfcl(config(server, data_dir, out))
        journal = Journal(out / "journal.sqlite")
        answered = {e.logical_id.split("/", 1)[1] for e in journal.entries()}
        journal.close()
        assert "multiple_1" not in answered and REFUSED in answered
        first = len(server.log)
        server.clear_faults()
        report = run_bfcl(config(server, data_dir, out))
        asked_again = [entry_of(r.body) for r in server.log[first:]]
    check_expected_report(report)  # the journaled 400 still counts, without being asked again
    assert sorted(asked_again) == sorted(set(FIXTURE) - {UNREAD} - answered)
    assert report["requests"]["reused_from_journal"] == len(answered)


def test_cli(data_dir, tmp_path, capsys):
    base = ["bfcl", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m", "--no-progress"]
    with OpenAIServer(responder) as server:
        argv = ["bfcl", "--endpoint", server.base_url, "--model", "m", "--data-dir", str(data_dir)]
        argv += ["--out", str(tmp_path / "cli"), "--categories", "parallel", "live_parallel", "--no-progress"]
        assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| parallel | 2 | 1 | 50.00 |" in printed and "| live_parallel | 1 | 0 | 0.00 |" in printed
    report = json.loads((tmp_path / "cli" / "report.json").read_text())
    assert list(report["categories"]) == ["parallel", "live_parallel"]
    assert report["summary"]["non_live"]["Parallel AST"]["display"] == "50.00"
    assert report["summary"]["live"]["AST Summary"]["display"] == "n/a (not run)"
    # bad input: exit 2, one line naming what is wrong, nothing asked
    for extra, message in (
        (["--data-dir", str(tmp_path / "none")], "not a directory"),
        (["--data-dir", str(data_dir), "--categories", "non_live"], "no BFCL_v<N>_simple_java.json"),
        (["--categories", "memory"], "'memory' is a BFCL agentic"),
        (["--categories", "simple"], "unknown category or group 'simple'"),
        (["--limit", "0"], "limit must be at least 1"),
        (["--mode", "fc", "--require-think"], "FC mode reads tool calls"),
    ):
        assert main(base + extra) == 2, extra
        assert message in capsys.readouterr().err


def test_multi_turn_categories_dispatch_or_fail_clearly(data_dir, tmp_path, capsys, monkeypatch):
    import funrl.eval.bfcl as bfcl

    real = bfcl.importlib.util.find_spec
    monkeypatch.setattr(
        bfcl.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "funrl.eval.multi_turn" else real(name, *a),
    )
    argv = ["bfcl", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m", "--data-dir", str(data_dir)]
    assert main([*argv, "--categories", "parallel", "multi_turn_base"]) == 2
    assert "multi-turn categories (multi_turn_base, " in capsys.readouterr().err


def test_humaneval_subcommand_dispatch(tmp_path, capsys, monkeypatch):
    import funrl.eval.__main__ as cli

    assert cli.run_subcommand("humaneval", ["--x"], module="funrl.eval.no_such_module") == 2
    assert "no funrl.eval.no_such_module module" in capsys.readouterr().err
    (tmp_path / "fake_humaneval.py").write_text("def main(argv):\n    print('got', argv)\n    return 7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cli.run_subcommand("humaneval", ["--endpoint", "u"], module="fake_humaneval") == 7
    assert "got ['--endpoint', 'u']" in capsys.readouterr().out
    sys.modules.pop("fake_humaneval", None)


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
    assert report["categories"]["parallel"]["accuracy"] == 0.5
    assert logged["bfcl/parallel"] == [(0, pytest.approx(0.5))]
    # the summary columns that are complete with parallel alone: only BFCL's "Parallel AST"
    summary_keys = sorted(k for k in logged if k.startswith("bfcl_summary/"))
    assert summary_keys == ["bfcl_summary/non_live/Parallel AST"]
    assert logged["bfcl/error_types/nrows"] == [(0, len(report["error_types"]))]


def test_report_says_when_it_was_a_limit_run():
    rows = [
        {"category": "simple_python", "valid": v, "error_type": None if v else "x"} for v in (True, False)
    ]
    partial = markdown_report(build_report(rows, ("simple_python",), meta={"limit": 2}))
    assert "Partial run (`--limit 2`)" in partial and "not comparable" in partial
    full = markdown_report(build_report(rows, ("simple_python",), meta={"limit": None}))
    assert "Partial run" not in full and "| simple_python | 2 | 1 | 50.0" in full


def test_multi_turn_rows_join_the_report(data_dir, tmp_path, monkeypatch):
    """The multi-turn driver (funrl.eval.multi_turn) is called with the run's settings and the shared
    client; its rows are counted per category and in BFCL's Multi Turn summary (unweighted mean)."""
    import funrl.eval.run as run_module

    calls = []

    async def fake_run_multi_turn(categories, client, **kw):
        calls.append((categories, type(client).__name__, kw))
        outcomes = {
            "multi_turn_base": [True, False],
            "multi_turn_miss_func": [True],
            "multi_turn_miss_param": [False],
        }
        return [
            {
                "id": f"{c}_{i}",
                "category": c,
                "valid": v,
                "error_type": None if v else "multi_turn:x",
                "errors": [],
                "output": None,
            }
            for c in categories
            for i, v in enumerate(outcomes.get(c, [True, True, False, False]))
        ]

    monkeypatch.setattr(run_module, "multi_turn_runner", lambda: fake_run_multi_turn)
    with OpenAIServer(responder) as server:
        report = run_bfcl(
            config(server, data_dir, tmp_path / "mt", categories=("parallel", "multi_turn"), limit=3)
        )
    assert calls == [
        (
            ["multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context"],
            "ChatClient",
            {
                "prompt_style": "bfcl",
                "fmt": "think_answer",
                "mode": "prompt",
                "limit": 3,
                "data_dir": str(data_dir),
                "progress": False,
            },
        )
    ]
    assert report["categories"]["multi_turn_base"] == {"accuracy": 0.5, "correct": 1, "total": 2}
    assert report["categories"]["parallel"]["total"] == 2
    overall = report["summary"]["multi_turn"]["Multi Turn Overall Acc"]
    assert overall["accuracy"] == pytest.approx((0.5 + 1 + 0 + 0.5) / 4) and overall["display"] == "50.00"


def test_score_entry_edge_cases():
    """FC replies (no tool call; BFCL's FC names) and an entry whose own ground truth is malformed."""
    from funrl.eval import BFCLEntry, score_entry

    area = BFCLEntry(
        "simple_python_9", "simple_python", [[]], [AREA], [{"geometry.area": {"base": [1], "height": [2]}}]
    )
    fc = EvalConfig(mode="fc", categories=("simple_python",), progress=False)

    def reply(calls: list, content: str | None = None) -> str:
        return json.dumps({"content": content, "tool_calls": calls})

    good = [{"id": "c", "name": "geometry_area", "arguments": '{"base": 1, "height": 2}'}]
    assert score_entry(area, reply(good), None, fc)["valid"] is True
    dotted = [{**good[0], "name": "geometry.area"}]  # the tools API never offered this name
    assert (
        score_entry(area, reply(dotted), None, fc)["error_type"] == "simple_function_checker:wrong_func_name"
    )
    none = score_entry(area, reply([], "I would call geometry_area."), None, fc)
    assert (none["valid"], none["error_type"]) == (False, "format_error:no_tool_calls")
    bad_json = score_entry(area, reply([{**good[0], "arguments": "{base: 1"}]), None, fc)
    assert bad_json["valid"] is False and bad_json["error_type"].startswith("format_error:")
    broken = BFCLEntry("simple_python_8", "simple_python", [[]], [AREA], [{"geometry.area": {"base": 1}}])
    prompt = EvalConfig(categories=("simple_python",), progress=False)
    row = score_entry(broken, "[geometry.area(base=1)]", None, prompt)
    assert (row["valid"], row["error_type"]) == (False, "ground_truth_error") and "base" in row["errors"][0]
