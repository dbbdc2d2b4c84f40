"""BFCL's Python single-turn AST categories as :class:`funrl.data_prep.records.Sample` records.

Layout (that of the ``bfcl-eval`` package's ``bfcl_eval/data`` folder)::

    DIR/BFCL_v4_simple_python.json                  one entry per line: {"id", "question", "function"}
    DIR/possible_answer/BFCL_v4_simple_python.json  one per line: {"id", "ground_truth"}

Entries are read by data preparation's own BFCL reader (``funrl.data_prep.readers``), so an evaluated
prompt is built from exactly what a training sample holds. An entry that reader refuses (e.g. a
parameter type outside BFCL's Python types) is listed with its reason, never silently dropped.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from funrl.data_prep import InputConfig, Sample, read_input

NON_LIVE = ("simple_python", "multiple", "parallel", "parallel_multiple")
LIVE = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")
AST_CATEGORIES = NON_LIVE + LIVE


@dataclass
class BFCLData:
    directory: Path
    samples: dict[str, list[Sample]] = field(default_factory=dict)  # category -> samples, in file order
    skipped: list[dict] = field(default_factory=list)  # {"category", "row", "reason", "detail"}
    files: dict[str, str] = field(default_factory=dict)  # category -> the entries file read


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
            "`pip install bfcl-eval` in another environment and pass its bfcl_eval/data folder as "
            "--data-dir, or pass a folder holding BFCL_v4_<category>.json and possible_answer/."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _category_file(directory: Path, category: str) -> Path:
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


def load_bfcl(
    data_dir: str | Path | None = None, categories: tuple[str, ...] = AST_CATEGORIES, limit: int | None = None
) -> BFCLData:
    """Read ``categories`` (each entries file with its possible answers); ``limit``: first N per category."""
    unknown = [c for c in categories if c not in AST_CATEGORIES]
    if unknown:
        raise ValueError(
            f"categories: {unknown} are not BFCL Python AST categories ({', '.join(AST_CATEGORIES)})"
        )
    directory = find_bfcl_data(data_dir)
    data = BFCLData(directory)
    for category in categories:
        entries = _category_file(directory, category)
        answers = directory / "possible_answer" / entries.name
        if not answers.is_file():
            raise FileNotFoundError(f"BFCL data: {entries.name} has no possible answers at {answers}")
        data.files[category] = str(entries)
        inp = InputConfig(
            path=str(entries), format="bfcl", possible_answers=str(answers), name="bfcl", limit=limit
        )
        samples = data.samples.setdefault(category, [])
        for item in read_input(inp):
            if isinstance(item, Sample):
                if item.category != category:
                    data.skipped.append(
                        {
                            "category": category,
                            "row": item.id,
                            "reason": "read:wrong_category",
                            "detail": item.category,
                        }
                    )
                    continue
                samples.append(item)
            else:
                data.skipped.append({"category": category, "id": _entry_id(entries, item["row"]), **item})
    return data


def _entry_id(path: Path, row: int) -> str | None:
    """The ``id`` of the entry at ``row`` (0-based line) of a JSON-lines file, when it can be read."""
    try:
        with path.open(encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i == row:
                    return str(json.loads(line).get("id"))
    except (ValueError, AttributeError, OSError):
        pass
    return None
