"""End to end on BFCL's real single-turn data (the installed bfcl-eval's files), against the loopback server.

A server that answers every question with its ground truth -- in the format the request asks for: BFCL's
python-call list, the training format, or OpenAI tool calls -- scores 100% on every category except the
entries whose own ground truth fails BFCL's official checker in that rendering, and those get exactly the
official verdict (golden files made with the official checker: tests/data/bfcl for Python, with FC names
for FC mode, tests/data/bfcl_java_js for Java and JavaScript). In Python that is
``GOLD_FAILS_OFFICIALLY`` (tests/bfcl_data.py: 7 entries, e.g. parallel_multiple_12, live_simple_106-63-0);
in Java / JavaScript the entries the golden file marks. Irrelevance entries are answered without a call,
live_relevance ones with a call of the first function. A server that never calls scores 100% on
irrelevance and live_irrelevance and 0% everywhere else.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest
from funrl.data_prep import EndpointConfig

from funrl.eval import EvalConfig, load_bfcl, run_bfcl
from funrl.eval.bfcl import request_for
from funrl.eval.categories import GROUPS, RELEVANCE, SINGLE_TURN
from funrl.toy.scripted_server import OpenAIServer
from tests.bfcl_data import GOLD_FAILS_OFFICIALLY

pytest.importorskip("bfcl_eval", reason="BFCL's data and prompt text come from the installed bfcl-eval")

GOLDEN = Path(__file__).parents[1] / "data"
NO_CALL = "None of the given functions can answer this question."
# live_irrelevance entries whose request is byte for byte that of a live AST entry (live_simple_29-7-2,
# live_simple_176-102-0, live_multiple_262-125-1): a model that answers the AST entry right fails these
SAME_REQUEST_AS_A_CALL = {
    "live_irrelevance_118-7-8",
    "live_irrelevance_567-175-0",
    "live_irrelevance_565-173-0",
}


def _gold(path: Path, kinds: tuple[str, ...]) -> dict[tuple[str, str], tuple[str, bool]]:
    """(id, rendering) -> (text, official verdict) of the gold candidates of a golden verdicts file."""
    with gzip.open(path, "rt") as f:
        rows = [json.loads(line) for line in f]
    out: dict[tuple[str, str], tuple[str, bool]] = {}
    for kind in kinds:  # later kinds override earlier ones (FC names over dotted names)
        out.update({(r["id"], r["rendering"]): (r["text"], r["valid"]) for r in rows if r["kind"] == kind})
    return out


GOLD = {
    **_gold(GOLDEN / "bfcl" / "verdicts.jsonl.gz", ("gold",)),
    **_gold(GOLDEN / "bfcl_java_js" / "verdicts.jsonl.gz", ("gold",)),
}
# FC mode: the tools API renamed ``a.b`` to ``a_b``, and the gold calls use that name. Official FC verdicts
# exist for Python (verdicts_fc.jsonl.gz); there, renaming never changes a verdict (checked below), so the
# Java / JavaScript gold calls renamed keep their official verdict as written.
FC_NAMES = _gold(GOLDEN / "bfcl" / "verdicts_fc.jsonl.gz", ("gold+fc_names",))


def fc_names(text: str) -> list[dict]:
    return [{**c, "name": c["name"].replace(".", "_")} for c in json.loads(text)]


def test_fc_renaming_keeps_the_official_verdict():
    assert len(FC_NAMES) > 1400
    for key, (text, valid) in FC_NAMES.items():
        written = GOLD[key]
        assert valid == written[1] and (key[1] == "python" or json.loads(text) == fc_names(written[0]))


def digest(body: dict) -> str:
    key = {"messages": body["messages"], "tools": body.get("tools")}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def endpoint(server: OpenAIServer) -> EndpointConfig:
    return EndpointConfig(
        base_url=server.base_url, model="m", concurrency=16, max_retries=1, timeout_s=30, max_tokens=64
    )


def gold_reply(entry, cfg: EvalConfig) -> str | list:
    """The entry's ground truth (or, for relevance, a call / no call) in the format ``cfg`` asks for."""
    first = entry.functions[0]["name"] if entry.category == "live_relevance" else None
    if cfg.mode == "fc":
        if entry.category in RELEVANCE:
            return (
                [{"name": first.replace(".", "_"), "arguments": "{}"}]
                if entry.category == "live_relevance"
                else NO_CALL
            )
        return fc_names(GOLD[(entry.id, "json")][0])  # [{"name", "arguments": JSON string}]
    if entry.category in RELEVANCE:
        text = f"[{first}()]" if entry.category == "live_relevance" else NO_CALL
    else:
        text = GOLD[(entry.id, "python")][0]
    return text if cfg.prompt_style == "bfcl" else f"<think>Reasoning.</think><answer>{text}</answer>"


def expected(entry, cfg: EvalConfig) -> bool:
    if entry.category in RELEVANCE:
        return True
    return GOLD[(entry.id, "json" if cfg.mode == "fc" else "python")][1]


def run(tmp_path: Path, name: str, answer, **kw) -> tuple[dict, dict[str, bool], dict[str, bool]]:
    """Run the evaluation against a server answering ``answer(entry, cfg)`` (``entry``: the first entry
    asked with that request); returns the report, the verdict of every entry, and the one expected."""
    cfg = EvalConfig(output_dir=str(tmp_path / name), progress=False, **kw)
    data = load_bfcl(None, tuple(c for c in cfg.categories if c in SINGLE_TURN), cfg.limit)
    entries = [e for c in data.entries.values() for e in c]
    by_request: dict[str, list] = {}
    for e in entries:
        messages, tools = request_for(e, cfg)
        by_request.setdefault(digest({"messages": messages, "tools": tools}), []).append(e)
    with OpenAIServer(lambda body: answer(by_request[digest(body)][0], cfg)) as server:
        cfg.endpoint = endpoint(server)
        report = run_bfcl(cfg)
        assert server.errors == []
    rows = [json.loads(line) for line in (tmp_path / name / "results.jsonl").read_text().splitlines()]
    want = {e.id: expected(e, cfg) for e in entries}
    # BFCL asks a few entries with byte-identical requests, a live AST entry and a live_irrelevance one:
    # the server answers the first, and no answer can be right for both
    for same in by_request.values():
        for e in same[1:]:
            if ("irrelevance" in e.category) != ("irrelevance" in same[0].category):
                want[e.id] = False
    return report, {r["id"]: r["valid"] for r in rows}, want


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["prompt", "fc"])
def test_gold_server_every_single_turn_entry(tmp_path, mode):
    report, got, want = run(tmp_path, "all", gold_reply, categories=("single_turn",), mode=mode)
    assert len(got) == 3641 and got == want
    failing = {i for i, v in got.items() if not v}
    python_fails = {i for i in failing if not i.startswith(("simple_java", "simple_javascript"))}
    assert python_fails == GOLD_FAILS_OFFICIALLY | SAME_REQUEST_AS_A_CALL
    assert {c: s["total"] for c, s in report["categories"].items()}["live_multiple"] == 1053
    summary = report["summary"]
    assert summary["hallucination"]["Irrelevance Detection"]["accuracy"] == pytest.approx((1 + 881 / 884) / 2)
    assert summary["live"]["AST Summary"]["display"] == "99.63"  # 1,346 / 1,351: 5 fail officially


@pytest.mark.parametrize(
    ("group", "style", "mode"),
    [
        ("non_live", "bfcl", "prompt"),
        ("live", "bfcl", "prompt"),
        ("non_live", "training", "prompt"),
        ("live", "training", "prompt"),
        ("non_live", "bfcl", "fc"),
        ("live", "bfcl", "fc"),
    ],
)
def test_gold_server_per_group(tmp_path, group, style, mode):
    report, got, want = run(
        tmp_path, "g", gold_reply, categories=(group,), prompt_style=style, mode=mode, limit=12
    )
    assert got == want
    assert set(report["categories"]) == set(GROUPS[group])
    assert all(s["total"] == 12 for s in report["categories"].values())  # every category has more
    assert report["limit"] == 12 and "partial run (--limit 12)" in report["notes"][0]


@pytest.mark.parametrize("mode", ["prompt", "fc"])
def test_never_calling_server(tmp_path, mode):
    report, got, _ = run(
        tmp_path, "n", lambda e, cfg: NO_CALL, categories=("single_turn",), mode=mode, limit=6
    )
    accuracy = {c: s["accuracy"] for c, s in report["categories"].items()}
    assert accuracy == {c: 1.0 if c in ("irrelevance", "live_irrelevance") else 0.0 for c in SINGLE_TURN}
    assert len(got) == 6 * len(SINGLE_TURN)
