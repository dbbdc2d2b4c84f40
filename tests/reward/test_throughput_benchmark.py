"""benchmarks/reward_throughput.py on a slice of the golden set: every checking row gives the official
verdicts (the benchmark's agreement column would otherwise compare against its own numbers only), and the
floor row decodes without checking."""

from __future__ import annotations

import pytest
from funrl.reward import ground_truth_json, prepare

from benchmarks import reward_throughput as bench


@pytest.fixture(scope="module")
def golden():
    entries, rows = bench.load()
    return entries, rows


@pytest.mark.parametrize("rendering", ["python", "json"])
def test_rows_give_the_official_verdicts(golden, rendering, monkeypatch):
    # the benchmark collects garbage before each timed pass: seconds each in a test session's big heap
    monkeypatch.setattr(bench.gc, "collect", lambda: 0)
    entries, rows = golden
    picked = [r for r in rows if r["rendering"] == rendering][::97]  # ~190 candidates, every kind region
    ids = {r["id"] for r in picked}
    gt = {
        i: ground_truth_json(e["function"], e["ground_truth"], e["category"])
        for i, e in entries.items()
        if i in ids
    }
    prepared = {
        i: prepare(entries[i]["function"], entries[i]["ground_truth"], entries[i]["category"]) for i in ids
    }
    items = sorted(
        ((entries[r["id"]], r["text"], rendering, gt[r["id"]]) for r in picked),
        key=lambda item: item[0]["id"],
    )
    expected = [
        r["valid"] for r in sorted(picked, key=lambda r: r["id"])
    ]  # sorted() is stable: same order as items
    results = bench.timed_interleaved(bench.methods_for(None, prepared), items, repeats=1)
    assert set(results) == {
        "compute_score() cold",
        "compute_score() full",
        "score_prepared()",
        "score()",
        bench.FLOOR,
    }
    assert 0 < sum(expected) < len(expected)  # both verdicts present: the comparison can fail
    for name, (rate, verdicts) in results.items():
        assert rate > 0
        if name == bench.FLOOR:
            assert verdicts == [None] * len(items)  # it checks nothing
        else:
            assert verdicts == expected, name


def test_floor_decodes_each_ground_truth_once_a_group(monkeypatch):
    loads = []
    real = bench.json.loads
    monkeypatch.setattr(bench.json, "loads", lambda s: loads.append(s) or real(s))
    floor = bench.inputs_decoded_only()
    g1, g2 = '{"a": 1}', '{"b": 2}'
    for g, text in [(g1, "[]"), (g1, "[1]"), (g2, "[2]"), (g2, "not json")]:
        assert floor(None, text, "json", g) is None
    assert loads == [g1, "[]", "[1]", g2, "[2]", "not json"]
