"""The run report: counts per stage and reason, and CoT vs call lengths (FunReason's Table 1).

Lengths are counted with ``output.tokenizer`` (a local Hugging Face tokenizer directory, loaded lazily
with ``transformers.AutoTokenizer``), or as whitespace-separated words when none is given (the report
says which). The CoT is the text inside ``<think>``; the call is what follows ``</think>``.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable

from funrl.reward import leading_think as split_think

from .records import Drop
from .tokens import load_tokenizer


def length_counter(tokenizer_dir: str | None) -> tuple[str, Callable[[str], int]]:
    if tokenizer_dir is None:
        return "whitespace words (no output.tokenizer given)", lambda text: len(text.split())
    tok = load_tokenizer(tokenizer_dir)  # transformers is imported only here
    return f"tokenizer {tokenizer_dir}", lambda text: len(tok(text, add_special_tokens=False)["input_ids"])


def _summary(values: list[int]) -> dict:
    if not values:
        return {"n": 0, "mean": None, "median": None}
    return {"n": len(values), "mean": round(statistics.fmean(values), 2), "median": statistics.median(values)}


def lengths(answers: Iterable[str], tokenizer_dir: str | None) -> dict:
    unit, count = length_counter(tokenizer_dir)
    cot, call = [], []
    for text in answers:
        think, rest = split_think(text)
        if think is not None:
            cot.append(count(think))
        call.append(count(rest))
    return {"unit": unit, "cot": _summary(cot), "call": _summary(call)}


def drop_counts(drops: Iterable[Drop]) -> dict[str, int]:
    return dict(sorted(Counter(d.reason for d in drops).items()))


def format_report(report: dict) -> str:
    """Human-readable text of the report dict (also printed at the end of a run)."""
    lines = []
    for stage in ("read", "generate", "judge", "validate", "final_judge", "export", "convert"):
        if stage not in report:
            continue
        info = report[stage]
        counts = ", ".join(f"{k} {v}" for k, v in info.items() if not isinstance(v, dict))
        lines.append(f"{stage:9s} {counts}")
        for key, value in info.items():
            if isinstance(value, dict) and value:
                lines.append(f"{'':9s}   {key}: " + ", ".join(f"{k} {v}" for k, v in value.items()))
    if "lengths" in report:
        ln = report["lengths"]
        lines.append(f"lengths   ({ln['unit']})")
        for part in ("cot", "call"):
            s = ln[part]
            lines.append(f"{'':9s}   {part:4s} n {s['n']}, mean {s['mean']}, median {s['median']}")
    return "\n".join(lines)
