"""``convert``: data straight from references, with no teacher and no judge endpoint.

    python -m funrl.data_prep convert --input FILE [--reader xlam|bfcl|chat] [--possible-answers FILE]
        --out DIR [--val-fraction F] [key.sub=value ...]

Each row is read (a malformed one is quarantined with its row number and reason), and its reference calls
are validated with ``funrl.reward`` as stage 2 validates an answer: the answer (the row's CoT, if it has
one, and the calls in ``output.format``) parses back to the same calls, the calls conform to the tools'
schemas, and they pass the checker against the sample's reference (BFCL's possible answer, or one built from
the calls). A row that fails is quarantined as ``convert:<reason>``; a row whose reference is not a call
(BFCL irrelevance, a chat reply with no call) as ``convert:no_call``, since the reward's ground truth has no
such category. Every row read is thus in exactly one of the outputs:

    DIR/rl.parquet      verl's RLHFDataset schema (as ``export`` writes it)      rl_val.parquet with F > 0
    DIR/sft.parquet     messages = [system, user, assistant: the reference answer]  sft_val.parquet with F > 0
    DIR/quarantine.jsonl  {"source", "row", "reason", "detail"}
    DIR/overlong.jsonl    {"sample_id", "index", "tokens", "max_length"}: SFT rows dropped for their length
    DIR/report.json

The SFT answer is ``<think>CoT</think>`` + calls when the row has a CoT, else the calls alone in the
output format. ``--val-fraction F`` puts round(F x n) samples, chosen by a hash of the sample id (the same
ones on every run), in the val files. With ``--tokenizer DIR`` (``output.tokenizer``), an SFT conversation
longer than ``output.max_length`` tokens (default 4096, the SFT recipe's ``data.max_length``) is left out of
the SFT files and listed in overlong.jsonl; its RL row stays (the RL prompt has its own limit). The run fails (exit 4) like any other when the guard trips.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from funrl.reward import FormatError, check, parse

from .config import Config, InputConfig
from .export import RL_SCHEMA, SFT_SCHEMA, rl_rows, sft_rows, write_parquet
from .guard import check_run
from .pipeline import read_samples
from .readers import quarantine_entry
from .records import Sample, write_json, write_jsonl
from .render import RenderError, render_answer, render_calls
from .schemas import schema_violation
from .tokens import split_overlong
from .validate import Validated, reference_answer


def reference_validated(sample: Sample, fmt: str) -> Validated | tuple[str, str]:
    """The sample's reference answer, validated; or (reason, detail)."""
    if not sample.is_call or not sample.reference_calls:
        return "no_call", "the reference answer is not a call (the reward has no ground truth for it)"
    try:
        answer = (
            render_answer(sample.cot, sample.reference_calls, fmt)
            if sample.cot
            else render_calls(sample.reference_calls, fmt).lstrip()
        )
        calls = parse(answer, fmt, require_think=bool(sample.cot))
    except RenderError as e:
        return "render_error", str(e)
    except FormatError as e:
        return e.error_type, str(e)
    canon = json.dumps(calls, sort_keys=True, ensure_ascii=False)
    if canon != json.dumps(sample.reference_calls, sort_keys=True, ensure_ascii=False):
        return "render_error", f"{fmt} round trip changed the calls: {canon[:200]}"
    violation = schema_violation(calls, sample.tools)
    if violation is not None:
        return violation
    result = check(
        calls, functions=sample.tools, possible_answer=reference_answer(sample), category=sample.category
    )
    if not result.valid:
        return f"reference_mismatch:{result.error_type}", "; ".join(result.errors)
    return Validated(sample.id, 0, "accepted", sample.cot or "", calls, answer, 0)


def _val_ids(ids: list[str], fraction: float) -> set[str]:
    ranked = sorted(ids, key=lambda i: hashlib.sha256(i.encode()).hexdigest())
    return set(ranked[: round(fraction * len(ids))])


def _write_split(out: Path, name: str, rows: list[dict], schema, val: set[str], key: Callable) -> dict:
    parts = {"": [r for r in rows if key(r) not in val], "_val": [r for r in rows if key(r) in val]}
    counts = {}
    for suffix, part in parts.items():
        if suffix and not val:
            continue
        for i, row in enumerate(part):
            if "extra_info" in row:
                row["extra_info"].update(split="val" if suffix else "train", index=i)
        write_parquet(out / f"{name}{suffix}.parquet", part, schema)
        counts[f"{name}{suffix}_rows"] = len(part)
    return counts


def run_convert(
    inputs: list[InputConfig], out_dir: str | Path, cfg: Config, val_fraction: float = 0.0
) -> dict:
    """Reads, validates and writes (see the module docstring); returns the report."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"--val-fraction must be within [0, 1), got {val_fraction}")
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    samples: dict[str, Sample] = {}
    validated: list[Validated] = []
    bad: list[dict] = []

    def keep(row_no: int, sample: Sample) -> None:
        result = reference_validated(sample, cfg.output.format)
        if isinstance(result, Validated):
            samples[sample.id] = sample
            validated.append(result)
        else:
            bad.append(quarantine_entry(sample.source, row_no, f"convert:{result[0]}", result[1]))

    _, quarantine, _ = read_samples(inputs, keep)
    quarantine.extend(bad)
    val = _val_ids(list(samples), val_fraction)
    counts = _write_split(
        out, "rl", rl_rows(samples, validated, cfg), RL_SCHEMA, val, lambda r: r["extra_info"]["sample_id"]
    )
    sft, overlong, length_check = split_overlong(
        sft_rows(samples, validated, cfg), cfg.output.tokenizer, cfg.output.max_length
    )
    counts.update(_write_split(out, "sft", sft, SFT_SCHEMA, val, lambda r: r["sample_id"]))
    write_jsonl(out / "quarantine.jsonl", quarantine)
    write_jsonl(out / "overlong.jsonl", overlong)
    rows_in = len(validated) + len(quarantine)
    report = {
        "convert": {
            "rows_in": rows_in,
            **counts,
            "quarantined": len(quarantine),
            "quarantine_reasons": dict(sorted(Counter(q["reason"] for q in quarantine).items())),
            "sft_overlong": len(overlong),
            "length_check": length_check,
            "seconds": round(time.perf_counter() - start, 2),
        }
    }
    write_json(out / "report.json", report)
    hint = "Fix the input (or raise guard.max_drop_rate) and rerun the same command."
    outputs = {k.replace("_rows", ".parquet"): v for k, v in counts.items() if k.startswith("rl")}
    check_run([(quarantine, rows_in, "rows read")], outputs, cfg.guard, hint)
    return report
