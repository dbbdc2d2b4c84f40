"""Loaders for the golden BFCL files under tests/data/bfcl (see make_golden.py there)."""

from __future__ import annotations

import gzip
import json
import pathlib
from functools import cache

HERE = pathlib.Path(__file__).parent / "data" / "bfcl"

# Entries whose gold answer (each parameter's first acceptable value) fails BFCL's own checker, as the
# official verdicts in verdicts.jsonl.gz record. Reasons, read off the data:
#   parallel_multiple_12 / _26: greedy first-fit matching takes the wrong model call first;
#   live_simple_106-63-0, live_simple_112-68-0, live_multiple_507-149-4, live_multiple_964-207-0: a
#     schema-required parameter has only "" (omit) among its acceptable values;
#   live_multiple_862-181-3: the answer names a parameter ("_from") the schema does not have.
GOLD_FAILS_OFFICIALLY = frozenset(
    {
        "parallel_multiple_12",
        "parallel_multiple_26",
        "live_simple_106-63-0",
        "live_simple_112-68-0",
        "live_multiple_507-149-4",
        "live_multiple_862-181-3",
        "live_multiple_964-207-0",
    }
)


@cache
def entries() -> dict[str, dict]:
    with gzip.open(HERE / "entries.jsonl.gz", "rt") as f:
        return {e["id"]: e for e in map(json.loads, f)}


@cache
def verdicts() -> list[dict]:
    with gzip.open(HERE / "verdicts.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f]
