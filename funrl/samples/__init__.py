"""Bundled sample data, written by the FunRL authors.

``sft_sample.jsonl``: 32 chat conversations (``messages``: system, user, assistant) for SFT with
SRML. Each assistant turn is ``<think>CoT</think>`` followed by a Python-syntax call list such as
``[get_weather(city='Paris', unit='celsius')]``; rows 7 and 21 have no think span (all call), to
exercise that path. Used by the CPU tests, the benchmark and laptop debugging runs.

Importing this module pulls in neither torch nor verl.
"""

from __future__ import annotations

import json
from pathlib import Path

SFT_SAMPLE_JSONL = Path(__file__).with_name("sft_sample.jsonl")


def sft_sample_rows() -> list[dict]:
    """The sample as a list of ``{"messages": [...]}`` rows."""
    with SFT_SAMPLE_JSONL.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_sft_sample_parquet(path: str | Path) -> Path:
    """Write the sample as a parquet file with a ``messages`` column (verl's SFT data format)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(sft_sample_rows()), path)
    return path
