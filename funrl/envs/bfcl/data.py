"""BFCL's multi-turn entries, read from the installed bfcl-eval, and their validation.

An entry is BFCL's dataset record (``id``, ``question`` -- one list of user messages per turn --,
``initial_config``, ``involved_classes``, optionally ``missed_function`` -- turn index -> function names
held out of the tool list until that turn -- and ``excluded_function``, which BFCL does not use) with
BFCL's ground truth attached as ``entry["ground_truth"]`` (one list of call strings per turn).
"""

from __future__ import annotations

import json
import os
from typing import Any

from . import backend

CATEGORIES: tuple[str, ...] = (
    "multi_turn_base",
    "multi_turn_miss_func",
    "multi_turn_miss_param",
    "multi_turn_long_context",
)
_FILE = "BFCL_v4_{category}.json"


def _read_jsonl(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_entries(category: str) -> list[dict]:
    """All entries of one multi-turn category (``multi_turn_base`` or just ``base``; also
    ``miss_func``, ``miss_param``, ``long_context``), each with ``ground_truth`` attached and validated."""
    name = category if category.startswith("multi_turn_") else f"multi_turn_{category}"
    if name not in CATEGORIES:
        raise ValueError(f"unknown multi-turn category {category!r}; expected one of {CATEGORIES}")
    data = backend.data_dir()
    entries = _read_jsonl(os.path.join(data, _FILE.format(category=name)))
    answers = {
        a["id"]: a["ground_truth"]
        for a in _read_jsonl(os.path.join(data, "possible_answer", _FILE.format(category=name)))
    }
    for entry in entries:
        entry["ground_truth"] = answers[entry["id"]]
        validate_entry(entry)
    return entries


def load_all() -> list[dict]:
    """The 800 entries of the four multi-turn categories."""
    return [e for c in CATEGORIES for e in load_entries(c)]


def _fail(field: str, why: str) -> None:
    raise ValueError(f"malformed BFCL multi-turn entry: field {field!r} {why}")


def validate_entry(entry: Any) -> None:
    """Raise ValueError naming the field if ``entry`` cannot be run or checked."""
    if not isinstance(entry, dict):
        raise ValueError(f"malformed BFCL multi-turn entry: expected a dict, got {type(entry).__name__}")
    if not isinstance(entry.get("id"), str) or not entry["id"]:
        _fail("id", "must be a non-empty string")
    classes = entry.get("involved_classes")
    if not isinstance(classes, list) or not classes:
        _fail("involved_classes", "must be a non-empty list")
    for c in classes:
        if c not in backend.CLASS_NAMES:
            _fail("involved_classes", f"names {c!r}, not one of {backend.CLASS_NAMES}")
    config = entry.get("initial_config", {})
    if not isinstance(config, dict) or not all(isinstance(v, dict) for v in config.values()):
        _fail("initial_config", "must be a dict of class name -> dict")
    gt = entry.get("ground_truth")
    if not isinstance(gt, list) or not all(
        isinstance(turn, list) and all(isinstance(c, str) for c in turn) for turn in gt
    ):
        _fail("ground_truth", "must be a list of turns, each a list of call strings")
    question = entry.get("question")
    if question is not None and (not isinstance(question, list) or len(question) != len(gt)):
        _fail("question", "must be a list with one item per ground-truth turn")
    missed = entry.get("missed_function", {})
    if not isinstance(missed, dict):
        _fail("missed_function", "must be a dict of turn index -> function names")
    for turn, names in missed.items():
        if not str(turn).isdigit() or not isinstance(names, list):
            _fail("missed_function", "must map turn indices to lists of function names")
        for n in names:
            if not isinstance(n, (str, dict)):
                _fail("missed_function", "must hold function names")


def is_long_context(entry_id: str) -> bool:
    """BFCL's flag: ``long_context`` or ``composite`` in the category part of the id."""
    category = entry_id.rsplit("_", 1)[0]
    return "long_context" in category or "composite" in category


def missed_functions(entry: dict) -> dict[int, list[str]]:
    """Turn index -> names of the functions revealed at that turn (BFCL's ``missed_function``; a doc
    dict, as BFCL's loader rewrites it, counts by its ``name``)."""
    return {
        int(turn): [n["name"] if isinstance(n, dict) else n for n in names]
        for turn, names in entry.get("missed_function", {}).items()
    }
