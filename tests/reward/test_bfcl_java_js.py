"""Java and JavaScript scoring against BFCL's official checker (golden verdicts, tests/data/bfcl_java_js).

Every candidate -- each ground truth rendered as Java/JS source and thousands of mutations of it, as
call text and as JSON -- must get BFCL's verdict: the same validity, and the same error type wherever
BFCL's checker (not its decoder) rejected it.
"""

from __future__ import annotations

import collections
import gzip
import json
import pathlib
from functools import lru_cache

import pytest
from funrl.reward import prepare, score_prepared

DATA = pathlib.Path(__file__).parents[1] / "data" / "bfcl_java_js"
DECODER_TYPES = ("ast_decoder:decoder_failed", "ast_decoder:decoder_wrong_output_format")


def _read(name: str) -> list[dict]:
    with gzip.open(DATA / name, "rt") as f:
        return [json.loads(line) for line in f]


@lru_cache(maxsize=1)
def entries() -> dict:
    return {e["id"]: e for e in _read("entries.jsonl.gz")}


@lru_cache(maxsize=1)
def verdicts() -> list[dict]:
    return _read("verdicts.jsonl.gz")


def _disagreements(rendering: str) -> tuple[int, list]:
    prepared, bad, n = {}, [], 0
    for row in verdicts():
        if row["rendering"] != rendering:
            continue
        n += 1
        e = entries()[row["id"]]
        gt = prepared.get(row["id"])
        if gt is None:
            gt = prepared[row["id"]] = prepare(
                e["function"], e["ground_truth"], e["category"], language=e["language"]
            )
        r = score_prepared(gt, row["text"], fmt=rendering)
        official = bool(row["valid"])  # null: BFCL crashed, which gives no pass
        if r.valid != official:
            bad.append((row["kind"], row["id"], row["text"][:150], row["error_type"], r.error_type))
        elif not official and row["error_type"] in DECODER_TYPES:
            if not r.error_type.startswith("format_error:"):
                bad.append((row["kind"], row["id"], row["text"][:150], row["error_type"], r.error_type))
        elif not official and row["valid"] is not None and r.error_type != row["error_type"]:
            bad.append((row["kind"], row["id"], row["text"][:150], row["error_type"], r.error_type))
    return n, bad


# Known, and the only ones: two Java calls separated by a line break and no ';'. tree-sitter's error
# recovery inserts the missing ';' (BFCL then reads the first call) in 91 of BFCL's 100 Java entries and
# gives up with an ERROR in these 9, by a cost comparison we do not reproduce; we read the first call.
KNOWN = {("two_calls_newline", f"simple_java_{i}") for i in (10, 27, 41, 45, 56, 57, 73, 76, 82)}


@pytest.mark.parametrize("rendering", ["python", "json"])
def test_agrees_with_official_checker(rendering):
    n, bad = _disagreements(rendering)
    assert n > 3000
    assert {(k, i) for k, i, *_ in bad} <= KNOWN, "known disagreements are listed exactly"
    bad = [b for b in bad if (b[0], b[1]) not in KNOWN]
    by_kind = collections.Counter(k for k, *_ in bad)
    assert not bad, f"{len(bad)}/{n} disagreements by kind {dict(by_kind)}; first: {bad[:8]}"


def test_candidates_are_varied():
    rows = verdicts()
    assert len({r["kind"] for r in rows}) >= 80
    for language in ("java", "javascript"):
        valid = [bool(r["valid"]) for r in rows if entries()[r["id"]]["language"] == language]
        assert 0.1 < sum(valid) / len(valid) < 0.6
