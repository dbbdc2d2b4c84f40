"""The reward against BFCL's official checker, on BFCL's own data (golden verdicts, see tests/data/bfcl)."""

from __future__ import annotations

import collections

import pytest
from funrl.reward import compute_score, ground_truth_json, prepare, score

from tests.bfcl_data import GOLD_FAILS_OFFICIALLY, entries, verdicts

BFCL_DECODER_TYPES = ("ast_decoder:decoder_failed", "ast_decoder:decoder_wrong_output_format")


def _disagreements(rendering: str) -> tuple[int, list]:
    prepared = {}
    bad, n = [], 0
    for row in verdicts():
        if row["rendering"] != rendering:
            continue
        n += 1
        e = entries()[row["id"]]
        gt = prepared.get(row["id"])
        if gt is None:
            gt = prepared[row["id"]] = prepare(e["function"], e["ground_truth"], e["category"])
        r = gt_score(gt, row["text"], rendering)
        official_valid = bool(row["valid"])  # null = BFCL crashed: it gave no pass
        if r.valid != official_valid:
            bad.append((row["kind"], row["id"], row["text"][:120], row["error_type"], r.error_type))
            continue
        if not r.valid and row["error_type"] not in BFCL_DECODER_TYPES and row["text"].strip("`\n "):
            # BFCL's checker rejected it: same reason, same namespaced error type.
            if r.error_type != row["error_type"]:
                bad.append((row["kind"], row["id"], row["text"][:120], row["error_type"], r.error_type))
        if not r.valid and row["error_type"] in BFCL_DECODER_TYPES:
            assert r.error_type.startswith("format_error:"), (row, r)
    return n, bad


def gt_score(gt, text, fmt):
    from funrl.reward import score_prepared

    return score_prepared(gt, text, fmt=fmt)


@pytest.mark.parametrize("rendering", ["python", "json"])
def test_agrees_with_official_checker(rendering):
    n, bad = _disagreements(rendering)
    assert n > 15_000
    by_kind = collections.Counter(k for k, *_ in bad)
    assert not bad, f"{len(bad)}/{n} disagreements by mutation kind {dict(by_kind)}; first: {bad[:5]}"


def test_mutation_set_is_varied():
    rows = verdicts()
    kinds = {r["kind"] for r in rows}
    assert len(kinds) >= 60
    for rendering in ("python", "json"):
        valid = [r["valid"] for r in rows if r["rendering"] == rendering]
        assert 0.2 < sum(valid) / len(valid) < 0.8  # both verdicts well represented
    error_types = collections.Counter(r["error_type"] for r in rows if not r["valid"])
    assert len(error_types) >= 12


@pytest.mark.parametrize("rendering", ["python", "json"])
def test_every_gold_answer_scores_one(rendering):
    gold = [r for r in verdicts() if r["kind"] == "gold" and r["rendering"] == rendering]
    assert len(gold) == len(entries())  # every entry of the 8 Python AST categories
    failing = []
    for row in gold:
        e = entries()[row["id"]]
        r = score(
            row["text"], functions=e["function"], possible_answer=e["ground_truth"], category=e["category"]
        )
        if not r.valid:
            failing.append(row["id"])
    assert set(failing) == GOLD_FAILS_OFFICIALLY
    # and those are exactly the entries the official checker itself fails
    official = {r["id"] for r in gold if not r["valid"]}
    assert official == GOLD_FAILS_OFFICIALLY


def test_gold_through_verl_contract_in_tagged_format():
    """Gold answers wrapped in FunRL's think/answer format, through compute_score's JSON ground truth."""
    gold = [r for r in verdicts() if r["kind"] == "gold" and r["rendering"] == "python"]
    total = 0.0
    for row in gold:
        e = entries()[row["id"]]
        gt = ground_truth_json(e["function"], e["ground_truth"], e["category"], require_think=True)
        text = f"<think>The user wants {e['id']}.</think>\n<answer>{row['text']}</answer>"
        out = compute_score("bfcl", text, gt)
        assert out["score"] == (0.0 if row["id"] in GOLD_FAILS_OFFICIALLY else 1.0), (row["id"], out)
        total += out["score"]
    assert total == len(gold) - len(GOLD_FAILS_OFFICIALLY)
