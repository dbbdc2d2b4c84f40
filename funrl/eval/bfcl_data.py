"""BFCL's single-turn entries, read as BFCL's own runner reads them: every line of every category file.

Layout (that of the ``bfcl-eval`` package's ``bfcl_eval/data`` folder)::

    DIR/BFCL_v4_simple_python.json                  one entry per line: {"id", "question", "function"}
    DIR/possible_answer/BFCL_v4_simple_python.json  one per line: {"id", "ground_truth"}

The entries are kept as BFCL wrote them (all the messages of the question, the function docs unchanged),
because BFCL's prompt is built from the whole entry; data preparation's reader turns entries into training
samples instead (the last user message only, Python types only). Irrelevance and relevance categories
have no possible answers. A line that cannot be read is listed with its reason and later counted as wrong,
so every category keeps BFCL's denominator.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .categories import RELEVANCE, SINGLE_TURN


@dataclass(frozen=True)
class BFCLEntry:
    """One BFCL entry: ``question`` = turns of chat messages, ``functions`` = BFCL function docs,
    ``possible_answer`` = ``[{name: {param: [acceptable values]}}]`` (None in the relevance categories)."""

    id: str
    category: str
    question: list
    functions: list
    possible_answer: list | None


@dataclass
class BFCLData:
    directory: Path
    entries: dict[str, list[BFCLEntry]] = field(default_factory=dict)  # category -> entries, in file order
    skipped: list[dict] = field(default_factory=list)  # {"category", "id", "reason", "detail"}
    files: dict[str, str] = field(default_factory=dict)  # category -> the entries file read
    sizes: dict[str, int] = field(default_factory=dict)  # category -> entries in the whole file


def find_bfcl_data(data_dir: str | Path | None = None) -> Path:
    """``data_dir`` when given, else the data folder of an installed ``bfcl-eval`` (found without
    importing it). Raises FileNotFoundError saying how to provide one."""
    if data_dir is not None:
        path = Path(data_dir)
        if not path.is_dir():
            raise FileNotFoundError(f"--data-dir {path}: not a directory")
        return path
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "BFCL data: no --data-dir given and the bfcl-eval package is not installed. Either "
            "`pip install --no-deps bfcl-eval==2026.3.23`, or pass a folder holding "
            "BFCL_v4_<category>.json and possible_answer/ as --data-dir."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def category_file(directory: Path, category: str) -> Path:
    """The newest ``BFCL_v<N>_<category>.json`` in ``directory``."""
    pattern = re.compile(rf"BFCL_v(\d+)_{re.escape(category)}\.json")
    found = sorted(
        (int(m.group(1)), p)
        for p in directory.glob(f"BFCL_v*_{category}.json")
        if (m := pattern.fullmatch(p.name))
    )
    if not found:
        raise FileNotFoundError(f"BFCL data: no BFCL_v<N>_{category}.json in {directory}")
    return found[-1][1]


def count_entries(directory: Path, category: str) -> int:
    """Non-blank lines of a category's entries file: BFCL's denominator for that category."""
    with category_file(directory, category).open(encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


def _json_lines(path: Path) -> list[tuple[int, object]]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            try:
                rows.append((i, json.loads(line)))
            except json.JSONDecodeError as e:
                rows.append((i, e))
    return rows


def _answers(path: Path) -> dict[str, object]:
    if not path.is_file():
        raise FileNotFoundError(f"BFCL data: no possible answers at {path}")
    return {a["id"]: a.get("ground_truth") for _, a in _json_lines(path) if isinstance(a, dict) and "id" in a}


def _entry(row: object, category: str, answers: dict | None) -> BFCLEntry:
    """Raises ValueError("<reason>: <detail>") for an entry BFCL could not have asked."""
    if isinstance(row, json.JSONDecodeError):
        raise ValueError(f"bad_json: {row}")
    if not isinstance(row, dict) or not isinstance(row.get("id"), str):
        raise ValueError("missing_field: the line is not an object with a string 'id'")
    if row["id"].rsplit("_", 1)[0] != category:
        raise ValueError(f"wrong_category: id {row['id']!r} is not a {category} id")
    question, functions = row.get("question"), row.get("function")
    if not isinstance(question, list) or not question or not isinstance(question[0], list):
        raise ValueError("missing_field: 'question' is not a list of turns of messages")
    if not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in question[0]):
        raise ValueError("missing_field: a message of 'question' has no string 'content'")
    if not isinstance(functions, list) or not all(isinstance(f, dict) and "name" in f for f in functions):
        raise ValueError("bad_tools: 'function' is not a list of function docs")
    answer = None
    if answers is not None:
        answer = answers.get(row["id"])
        if not isinstance(answer, list) or not answer:
            raise ValueError(f"no_possible_answer: no ground_truth list for {row['id']!r}")
    return BFCLEntry(row["id"], category, question, functions, answer)


def load_bfcl(
    data_dir: str | Path | None = None, categories: tuple[str, ...] = SINGLE_TURN, limit: int | None = None
) -> BFCLData:
    """Read ``categories`` (each entries file, with its possible answers where the category has them);
    ``limit``: the first N entries of each category."""
    unknown = [c for c in categories if c not in SINGLE_TURN]
    if unknown:
        raise ValueError(
            f"categories: {unknown} are not BFCL single-turn categories ({', '.join(SINGLE_TURN)})"
        )
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be at least 1, got {limit}")
    directory = find_bfcl_data(data_dir)
    data = BFCLData(directory)
    for category in categories:
        path = category_file(directory, category)
        answers = None if category in RELEVANCE else _answers(directory / "possible_answer" / path.name)
        data.files[category] = str(path)
        rows = _json_lines(path)
        data.sizes[category] = len(rows)
        entries = data.entries.setdefault(category, [])
        for line, row in itertools.islice(rows, limit):
            try:
                entries.append(_entry(row, category, answers))
            except ValueError as e:
                reason, _, detail = str(e).partition(": ")
                entry_id = row.get("id") if isinstance(row, dict) else None
                data.skipped.append(
                    {
                        "category": category,
                        "id": entry_id or f"line {line}",
                        "reason": reason,
                        "detail": detail,
                    }
                )
    return data
