"""Loader for the golden multi-turn verdicts under tests/data/bfcl_multi_turn (see make_golden.py there).

Each candidate: ``id`` (BFCL entry id), ``kind`` (the mutation), ``model_turns`` (turns -> steps -> python-call
strings, BFCL's decoded form), ``valid`` (true/false; null where BFCL's code raised) and ``error_type``
(BFCL's ``multi_turn:...`` error type, null when valid). The verdicts are those of BFCL's official
multi-turn evaluation (bfcl-eval 2026.3.23), each computed in a fresh process.
"""

from __future__ import annotations

import gzip
import json
import pathlib
from functools import cache

HERE = pathlib.Path(__file__).parent / "data" / "bfcl_multi_turn"


@cache
def _load(name: str) -> tuple[dict, ...]:
    with gzip.open(HERE / name, "rt", encoding="utf-8") as f:
        return tuple(json.loads(line) for line in f)


def candidates() -> list[dict]:
    """All golden candidates, in file order (a fresh list; the dicts are shared, do not mutate them)."""
    return list(_load("candidates.jsonl.gz"))


def nested_candidates() -> list[dict]:
    """The golden candidates with calls inside arguments (make_golden.py --nested), same fields."""
    return list(_load("nested.jsonl.gz"))
