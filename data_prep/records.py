"""The canonical records that flow between stages, and their JSONL files.

A :class:`Sample` is what every reader produces, whatever the source format:

    query            the user's request (one turn)
    tools            BFCL-style function docs: [{"name", "description", "parameters": {"type": "dict",
                     "properties": {p: {"type": "string"|"integer"|"float"|"boolean"|"array"|"tuple"|"dict"|
                     "any", ...}}, "required": [...]}}]
    reference_calls  BFCL decoded form [{name: {param: value}}]; [] when the reference answer is not a call
    possible_answer  BFCL [{name: {param: [acceptable values]}}] when the source has one (BFCL), else None
    cot              a chain of thought that came with the source, if any

A :class:`Candidate` is one generated answer for a sample (stage 0, or a regeneration in stage 1).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Sample:
    id: str
    source: str
    query: str
    tools: list[dict]
    reference_calls: list[dict]
    possible_answer: list[dict] | None = None
    category: str = "simple"
    cot: str | None = None

    @property
    def is_call(self) -> bool:
        return bool(self.reference_calls) or bool(self.possible_answer)

    @property
    def entry_id(self) -> str:
        """The id the source gave the row (``id`` is ``"<source>:<entry id>"``)."""
        return self.id.split(":", 1)[1] if ":" in self.id else self.id


@dataclass
class Candidate:
    sample_id: str
    index: int  # which of the samples_per_query answers
    round: int  # 0: stage 0's answer; r > 0: the r-th regeneration in stage 1
    text: str | None  # the generator's raw reply; None when the request failed for good
    error: str | None = None  # why there is no text (e.g. "http_400: ...")


@dataclass
class Judged:
    """Stage 1's outcome for one candidate."""

    sample_id: str
    index: int
    status: str  # "accepted" (a call, every check passed) | "kept_non_call" (no call, none expected)
    text: str
    rounds: int  # answers judged for this candidate
    verdicts: list[dict] = field(default_factory=list)  # [{"check", "round", "verdict", "reason"}]


@dataclass
class Drop:
    """One discarded sample or candidate, with the stage and reason (a namespaced string)."""

    sample_id: str
    index: int | None
    stage: str  # read | generate | judge | validate
    reason: str
    detail: str = ""


def encode_row(row: object) -> str:
    """One JSONL line (no newline). Raises UnicodeEncodeError for a string no UTF-8 file can hold (a
    lone surrogate) and RecursionError for a too-deep value, so a caller can quarantine that row."""
    data = row.__dict__ if hasattr(row, "__dataclass_fields__") else row  # asdict deep-copies: slow
    line = json.dumps(data, ensure_ascii=False)
    line.encode("utf-8")
    return line


def write_lines(path: str | Path, lines: Iterable[str]) -> int:
    """Writes atomically (temp file + rename), so a killed run never leaves a half-written stage file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")
            n += 1
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return n


def write_jsonl(path: str | Path, rows: Iterable[object]) -> int:
    """Atomic, like write_lines."""
    data = (row.__dict__ if hasattr(row, "__dataclass_fields__") else row for row in rows)
    return write_lines(path, (json.dumps(d, ensure_ascii=False) for d in data))


def write_json(path: str | Path, data: object) -> None:
    """Atomic like write_jsonl: a killed run leaves the old file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def read_jsonl(path: str | Path, cls: type | None = None) -> Iterator:
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                data = json.loads(line)
                yield cls(**data) if cls is not None else data
