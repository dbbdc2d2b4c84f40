"""``underscore_to_dot``: BFCL's FC-mode function names, against the official checker (#14 item 9).

tests/data/bfcl/verdicts_fc.jsonl.gz holds BFCL's verdicts under an FC model name (a config with
``underscore_to_dot`` True) for every golden candidate of an entry whose docs have a dotted name, both as
written (``math.factorial``) and with BFCL's FC names (``math_factorial``); see make_golden_fc.py there.
"""

from __future__ import annotations

import collections
import gzip
import json
import pathlib
from functools import cache

import pytest
from funrl.reward import GroundTruthError, compute_score, ground_truth_json, prepare, score, score_prepared

from tests.bfcl_data import entries

FC_VERDICTS = pathlib.Path(__file__).parent.parent / "data" / "bfcl" / "verdicts_fc.jsonl.gz"
BFCL_DECODER_TYPES = ("ast_decoder:decoder_failed", "ast_decoder:decoder_wrong_output_format")
FN = [{"name": "math.factorial", "parameters": {"type": "dict", "properties": {"n": {"type": "integer"}}}}]
ANS = [{"math.factorial": {"n": [5]}}]


@cache
def fc_verdicts() -> list[dict]:
    with gzip.open(FC_VERDICTS, "rt") as f:
        return [json.loads(line) for line in f]


def _disagreements(rendering: str, via_json: bool) -> tuple[int, list]:
    prepared, bad, n = {}, [], 0
    for row in fc_verdicts():
        if row["rendering"] != rendering:
            continue
        n += 1
        e = entries()[row["id"]]
        if via_json:  # verl's path: the flag in the ground-truth JSON
            gt = ground_truth_json(e["function"], e["ground_truth"], e["category"], underscore_to_dot=True)
            verdict = compute_score("bfcl", row["text"], gt, fmt=rendering)
            valid, error_type = verdict["score"] == 1.0, verdict["error_type"] or None
        else:
            gt = prepared.get(row["id"])
            if gt is None:
                gt = prepared[row["id"]] = prepare(
                    e["function"], e["ground_truth"], e["category"], underscore_to_dot=True
                )
            r = score_prepared(gt, row["text"], fmt=rendering)
            valid, error_type = r.valid, r.error_type
        if valid != bool(row["valid"]):
            bad.append((row["kind"], row["id"], row["text"][:120], row["error_type"], error_type))
        elif (
            not valid
            and row["error_type"] not in BFCL_DECODER_TYPES
            and row["text"].strip("`\n ")  # empty text: BFCL's wrong_count, our format_error:empty
            and error_type != row["error_type"]
        ):
            bad.append((row["kind"], row["id"], row["text"][:120], row["error_type"], error_type))
    return n, bad


@pytest.mark.parametrize("via_json", [False, True])
@pytest.mark.parametrize("rendering", ["python", "json"])
def test_fc_mode_agrees_with_official_checker(rendering, via_json):
    n, bad = _disagreements(rendering, via_json)
    assert n > 10_000
    by_kind = collections.Counter(k for k, *_ in bad)
    assert not bad, f"{len(bad)}/{n} disagreements by kind {dict(by_kind)}; first: {bad[:5]}"


def test_fc_golden_set_holds_both_directions():
    rows = fc_verdicts()
    fc_named = [r for r in rows if r["kind"] == "gold+fc_names"]
    as_written = [r for r in rows if r["kind"] == "gold"]
    # BFCL's FC mode accepts the underscore names and rejects the dotted ones it documents
    assert sum(r["valid"] is True for r in fc_named) > 0.9 * len(fc_named) > 300
    wrong_name = [r for r in as_written if str(r["error_type"]).endswith("wrong_func_name")]
    assert len(wrong_name) > 0.5 * len(as_written)


def test_flag_through_every_entry_point():
    dotted, fc = "[math.factorial(n=5)]", "[math_factorial(n=5)]"
    for flag, accepted, rejected in ((False, dotted, fc), (True, fc, dotted)):
        assert score(accepted, functions=FN, possible_answer=ANS, category="simple", underscore_to_dot=flag)
        r = score(rejected, functions=FN, possible_answer=ANS, category="simple", underscore_to_dot=flag)
        assert r.error_type == "simple_function_checker:wrong_func_name"
        gt = ground_truth_json(FN, ANS, "simple", underscore_to_dot=flag)
        assert compute_score("s", accepted, gt)["score"] == 1.0
        assert compute_score("s", rejected, gt)["score"] == 0.0
        # reward_kwargs override the ground truth's own setting, both ways
        assert compute_score("s", rejected, gt, underscore_to_dot=not flag)["score"] == 1.0
        prepared = prepare(FN, ANS, "simple", underscore_to_dot=flag)
        assert score_prepared(prepared, rejected, underscore_to_dot=not flag).valid
        assert score_prepared(prepared, accepted).valid
    assert "underscore_to_dot" not in json.loads(ground_truth_json(FN, ANS, "simple"))  # old JSON unchanged
    assert (
        json.loads(ground_truth_json(FN, ANS, "simple", underscore_to_dot=True))["underscore_to_dot"] is True
    )


def test_flag_must_be_a_bool():
    with pytest.raises(GroundTruthError, match="underscore_to_dot"):
        compute_score(
            "s",
            "[f()]",
            json.dumps(
                {"functions": FN, "possible_answer": ANS, "category": "simple", "underscore_to_dot": "yes"}
            ),
        )
    with pytest.raises(ValueError, match="underscore_to_dot"):
        prepare(FN, ANS, "simple", underscore_to_dot=1)
