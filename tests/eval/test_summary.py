"""BFCL's summary columns: a small mixed case computed by hand from bfcl-eval's formulas, and the official
``generate_leaderboard_csv``'s own numbers for six score tables (tests/eval/data/make_summary.py ran it in
the official environment), N/A and partial columns included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from funrl.eval.summary import bfcl_summary

OFFICIAL = json.loads((Path(__file__).parent / "data" / "summary_official.json").read_text())
SIZES = OFFICIAL.pop("sizes")

MIXED = {
    "simple_python": (3, 4), "simple_java": (1, 2), "simple_javascript": (0, 1),
    "multiple": (1, 1), "parallel": (1, 2), "parallel_multiple": (2, 2),
    "live_simple": (2, 3), "live_multiple": (1, 1), "live_parallel": (0, 1), "live_parallel_multiple": (1, 1),
    "irrelevance": (3, 4), "live_irrelevance": (1, 2), "live_relevance": (1, 1),
    "multi_turn_base": (1, 2), "multi_turn_miss_func": (0, 1), "multi_turn_miss_param": (1, 1),
    "multi_turn_long_context": (1, 2),
}  # fmt: skip


def stats(scores: dict) -> dict:
    return {c: {"correct": k, "total": n} for c, (k, n) in scores.items()}


def test_mixed_case_by_hand():
    s = bfcl_summary(stats(MIXED), SIZES)
    simple = (3 / 4 + 1 / 2 + 0) / 3  # = 5/12: the three languages, unweighted
    non_live = (simple + 1 + 1 / 2 + 1) / 4  # = 35/48: simple, multiple, parallel, parallel_multiple
    live = (2 + 1 + 0 + 1) / (3 + 1 + 1 + 1)  # = 2/3: weighted by entries
    irrelevance = (3 / 4 + 1 / 2) / 2  # = 5/8: irrelevance and live_irrelevance, unweighted
    multi_turn = (1 / 2 + 0 + 1 + 1 / 2) / 4  # = 1/2
    overall = 0.1 * non_live + 0.1 * live + 0.1 * irrelevance + 0.3 * multi_turn + 0.4 * 0  # = 169/480
    assert s["non_live"]["Simple AST"]["accuracy"] == pytest.approx(5 / 12, abs=1e-15)
    assert s["non_live"]["AST Summary"]["accuracy"] == pytest.approx(35 / 48, abs=1e-15) == non_live
    assert s["live"]["AST Summary"]["accuracy"] == pytest.approx(2 / 3, abs=1e-15) == live
    assert (
        s["hallucination"]["Irrelevance Detection"]["accuracy"]
        == pytest.approx(5 / 8, abs=1e-15)
        == irrelevance
    )
    assert s["hallucination"]["Relevance Detection"]["accuracy"] == 1.0
    assert (
        s["multi_turn"]["Multi Turn Overall Acc"]["accuracy"] == pytest.approx(1 / 2, abs=1e-15) == multi_turn
    )
    assert (
        s["overall"]["Overall Acc"]["accuracy"]
        == pytest.approx(169 / 480, abs=1e-15)
        == pytest.approx(overall)
    )
    papers = s["papers"]["Mean of Non-Live AST and Live"]
    assert papers["accuracy"] == pytest.approx(67 / 96, abs=1e-15) and papers["display"] == "69.79"
    assert "not BFCL's Overall Acc" in s["papers"]["label"]
    # agentic never runs: BFCL counts it as 0 in the overall, which is therefore partial
    assert s["overall"]["Overall Acc"]["not_run"] == ["memory_kv", "memory_rec_sum", "memory_vector",
                                                      "web_search_base", "web_search_no_snippet"]  # fmt: skip
    assert s["overall"]["Overall Acc"]["display"].startswith("35.21 (partial")
    assert s["agentic"]["Memory Summary"]["display"] == "n/a (not run)"
    assert (
        s["non_live"]["AST Summary"]["display"] == "72.92" and s["non_live"]["AST Summary"]["not_run"] == []
    )


def test_missing_categories_as_bfcl_counts_them():
    """Python only: Simple AST needs Java and JavaScript, so it and the AST summary are n/a; the Non-Live
    Overall is shown computed with their zeros, as BFCL shows it."""
    s = bfcl_summary(
        stats({c: MIXED[c] for c in ("simple_python", "multiple", "parallel", "parallel_multiple")}), SIZES
    )
    assert s["non_live"]["Simple AST"]["display"] == "n/a (not run)"
    assert s["non_live"]["Simple AST"]["not_run"] == ["simple_java", "simple_javascript"]
    assert s["non_live"]["Non-Live Overall Acc"]["accuracy"] == pytest.approx((3 / 4 / 3 + 1 + 1 / 2 + 1) / 4)
    assert "partial" in s["non_live"]["Non-Live Overall Acc"]["display"]
    assert s["papers"]["Mean of Non-Live AST and Live"]["display"] == "n/a (not run)"
    # a live category not run weighs its whole dataset in, at accuracy 0
    live = bfcl_summary(stats({"live_simple": (258, 258)}), SIZES)["live"]["Live Overall Acc"]
    assert live["accuracy"] == pytest.approx(258 / (258 + 1053 + 16 + 24)) and live["total"] == 1351


CSV_GROUPS = {
    "data_non_live": "non_live",
    "data_live": "live",
    "data_multi_turn": "multi_turn",
    "data_agentic": "agentic",
}


@pytest.mark.parametrize("scenario", sorted(OFFICIAL))
def test_agrees_with_bfcl_generate_leaderboard_csv(scenario):
    case = OFFICIAL[scenario]
    s = bfcl_summary(stats(case["input"]), SIZES)
    pairs = [(row[col], s[group][col]) for csv, group in CSV_GROUPS.items()
             for row in [case["official"][csv]] for col in s[group] if col in row]  # fmt: skip
    overall = case["official"]["data_overall"]
    pairs += [(overall["Overall Acc"], s["overall"]["Overall Acc"])]
    pairs += [(overall[c], s["hallucination"][c]) for c in ("Relevance Detection", "Irrelevance Detection")]
    pairs += [
        (overall["Non-Live AST Acc"], s["non_live"]["AST Summary"]),  # BFCL shows N/A when incomplete
        (overall["Live Acc"], s["live"]["Live Overall Acc"]),  # ... but always shows these two
        (overall["Multi Turn Acc"], s["multi_turn"]["Multi Turn Overall Acc"]),
    ]
    assert len(pairs) >= 25
    for official, ours in pairs:
        if official == "N/A":
            assert ours["display"] == "n/a (not run)" and ours["not_run"]
        else:
            assert ours["accuracy"] == pytest.approx(official, rel=1e-12, abs=1e-15)
            assert ours["display"] != "n/a (not run)"
