"""Scoring a file of model outputs, streamed line by line: what ``python -m funrl.reward score`` runs.

Rows it reads, as they are written:

* FunRL's own JSONL: ``{"output": ..., "ground_truth": ...}`` (or ``response``), or the ground truth
  inline as ``functions`` / ``possible_answer`` / ``category`` (+ ``fmt``, ``require_think``, ``language``);
* verl's rollout dump (``trainer.rollout_data_dir/<step>.jsonl``: ``{"input", "output", "gts", "score",
  "step", ...}``; ``gts`` is the row's ``reward_model.ground_truth``);
* TRL completions (``completion``: a string or a list of messages) that carry a ground truth
  (``ground_truth``, or ``reward_model.ground_truth`` as in the RL parquet), as JSONL or, when pyarrow
  is installed, as TRL's ``completions/*.parquet``.

Nothing in a row can crash the run: a row that is not UTF-8, not JSON (or nests too deep), not an object,
lacks a field (the message names the field expected and those found), or carries a malformed ground
truth is listed with its line number and reason and left out of the accuracy.
"""

from __future__ import annotations

import collections
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

from .api import load_ground_truth, score_prepared
from .trl import completion_text

OUTPUT_KEYS = ("output", "response", "completion")
INLINE_KEYS = ("functions", "possible_answer", "category", "fmt", "require_think", "language")
MAX_LISTED = 1000  # bad lines kept with their reason (all are counted)
_GT_WHERE = "'ground_truth', verl's 'gts', 'reward_model.ground_truth' or inline 'functions'/'possible_answer'/'category'"


class BadRow(ValueError):
    """A row that cannot be scored: listed with its reason."""


class InputError(Exception):
    """The input as a whole cannot be read (missing file, unreadable, empty): one line, exit status 2."""


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _found(row: dict) -> str:
    return ", ".join(repr(_clip(str(k), 40)) for k in list(row)[:20]) or "none"


def _output_of(row: dict) -> str:
    for key in OUTPUT_KEYS:
        if key in row:
            value = row[key]
            if key == "completion" and not isinstance(value, str):
                try:
                    return completion_text(value)
                except (TypeError, AttributeError) as e:
                    raise BadRow(f"completion: {e}") from None
            if not isinstance(value, str):
                raise BadRow(f"{key}: expected a string, got {type(value).__name__}")
            return value
    expected = ", ".join(repr(k) for k in OUTPUT_KEYS)
    raise BadRow(f"output: missing (expected one of {expected}; found {_found(row)})")


def _ground_truth_of(row: dict) -> tuple[str, Any]:
    if "ground_truth" in row:
        return "ground_truth", row["ground_truth"]
    if "gts" in row:
        return "gts", row["gts"]
    rm = row.get("reward_model")
    if isinstance(rm, dict) and "ground_truth" in rm:
        return "reward_model.ground_truth", rm["ground_truth"]
    inline = {k: row[k] for k in INLINE_KEYS if k in row}
    if inline:
        return "", inline
    raise BadRow(f"ground truth: missing (expected {_GT_WHERE}; found {_found(row)})")


def _row_id(row: Any) -> Any:
    rid = row.get("id", row.get("uid")) if isinstance(row, dict) else None
    return rid if rid is None or isinstance(rid, (int, float, bool)) else _clip(str(rid), 80)


def _decode_line(raw: bytes) -> Any:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRow(
            f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at byte {e.start + 1} of the line)"
        ) from None
    try:
        return json.loads(line)
    except json.JSONDecodeError as e:
        raise BadRow(f"not valid JSON ({e.msg} at column {e.colno} of this line)") from None
    except RecursionError:
        raise BadRow("not valid JSON (nests too deep)") from None


def _jsonl_rows(path: str, progress: _Progress) -> Iterator[tuple[int, Any]]:
    """(line number, row or BadRow) for each non-blank line, streamed."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            progress.update(f.tell() if progress.enabled else 0)
            if not raw.strip():
                continue
            try:
                yield lineno, _decode_line(raw)
            except BadRow as e:
                yield lineno, e


def _parquet_rows(path: str) -> Iterator[tuple[int, Any]]:
    try:
        import pyarrow.parquet as pq  # optional: only for TRL's completions parquet
    except ImportError:
        raise InputError(f"{path}: reading parquet needs pyarrow (pip install pyarrow)") from None
    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow's errors for a file that is not parquet
        raise InputError(f"{path}: not a readable parquet file ({_clip(str(e), 200)})") from None
    n = 0
    for batch in pf.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            n += 1
            yield n, row


class _Progress:
    """A progress line on stderr (share of the file read, rate), redrawn at most 5 times a second."""

    def __init__(self, total_bytes: int, enabled: bool) -> None:
        self.total, self.enabled, self.done = total_bytes, enabled, 0
        self.start = self.last = time.perf_counter()

    def update(self, position: int, *, samples: int = 0, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last < 0.2):
            return
        self.last = now
        share = min(position / max(self.total, 1), 1.0)
        bar = "#" * int(30 * share) + "." * (30 - int(30 * share))
        print(f"\rscoring [{bar}] {share:.0%}", end="", file=sys.stderr, flush=True)
        if force:
            rate = samples / max(now - self.start, 1e-9)
            print(f"  {samples} samples, {rate:,.0f} samples/s", file=sys.stderr)


def _score_row(row: Any, fmt: str | None, require_think: bool | None):
    if not isinstance(row, dict):
        raise BadRow(f"line: expected a JSON object, got {type(row).__name__}")
    text = _output_of(row)
    key, value = _ground_truth_of(row)
    try:
        gt = load_ground_truth(value)
    except (ValueError, RecursionError) as e:  # GroundTruthError, JSON errors, a nesting bomb
        prefix = f"{key} (verl's ground truth): " if key == "gts" else ""
        raise BadRow(prefix + str(e)) from None
    return gt.category, score_prepared(gt, text, fmt=fmt, require_think=require_think)


def score_file(
    path: str, *, fmt: str | None = None, require_think: bool | None = None, progress: bool = False
) -> dict:
    """Score every row of ``path`` (JSONL, or parquet by its extension); raises InputError when the file
    cannot be read at all."""
    try:
        size = os.stat(path).st_size
        if os.path.isdir(path):
            raise IsADirectoryError(21, "Is a directory")
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    bar = _Progress(size, progress)
    rows = _parquet_rows(path) if path.endswith(".parquet") else _jsonl_rows(path, bar)
    by_category: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    error_types: collections.Counter = collections.Counter()
    bad_lines, n_bad, n_rows = [], 0, 0
    try:
        for lineno, row in rows:
            n_rows += 1
            try:
                if isinstance(row, BadRow):
                    raise row
                category, result = _score_row(row, fmt, require_think)
            except (BadRow, ValueError, RecursionError) as e:
                n_bad += 1
                if len(bad_lines) < MAX_LISTED:
                    bad_lines.append({"line": lineno, "id": _row_id(row), "reason": _clip(str(e))})
                continue
            stats = by_category[category]
            stats[0] += 1
            stats[1] += result.valid
            if not result.valid:
                error_types[result.error_type] += 1
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    bar.update(size, samples=n_rows, force=True)
    if n_rows == 0:
        raise InputError(f"{path}: no samples (the file is empty)")
    n = sum(s[0] for s in by_category.values())
    correct = sum(s[1] for s in by_category.values())
    return {
        "file": path,
        "scored": n,
        "correct": correct,
        "accuracy": correct / n if n else 0.0,
        "by_category": {
            c: {"n": s[0], "correct": s[1], "accuracy": s[1] / s[0]} for c, s in sorted(by_category.items())
        },
        "error_types": dict(error_types.most_common()),
        "bad_count": n_bad,
        "bad_lines": bad_lines,
    }
