"""The end-of-run check: a run that lost everything, or lost too much to one cause, fails loudly.

A finished run fails (:class:`RunFailed`, exit status 4) when its output is empty, or when one cause
dropped more than ``guard.max_drop_rate`` of what it could have kept:

    unparsable judge replies   judge:unparsable:<check>                   (of the candidates)
    endpoint errors            generate:request_error, judge:request_error:<check>   (of the candidates)
    schema failures            schema_error:<what>                        (of the candidates; of the
                               convert:schema_error:<what>                 rows read, for convert)
    malformed input rows       read:<reason>                              (of the rows read)

The summary names the cause, its count and rate, and a few example replies or details. The journal keeps
every reply; the ones behind a failed endpoint or judge cause (error replies, unparsable verdicts) are
set aside (kept in the journal's ``superseded`` table, no longer replayed), so that the same command,
rerun after the fix, asks exactly those again and reuses everything else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from .config import GuardConfig
from .rows import safe_text

CAUSES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("unparsable judge replies", lambda reason: reason.startswith("judge:unparsable")),
    ("endpoint errors", lambda reason: ":request_error" in reason),
    ("schema failures", lambda reason: reason.startswith(("schema_error", "convert:schema_error"))),
    ("malformed input rows", lambda reason: reason.startswith("read:")),
)
RETRIABLE = ("unparsable judge replies", "endpoint errors")  # a rerun after the fix asks these again


class RunFailed(RuntimeError):
    """The run finished but its output is empty or one cause dropped too much; ``causes`` names them."""

    def __init__(self, message: str, causes: list[str]) -> None:
        super().__init__(message)
        self.causes = causes


def _cause(reason: str) -> str | None:
    return next((name for name, match in CAUSES if match(reason)), None)


def failed_causes(
    groups: list[tuple[list[dict], int, str]], cfg: GuardConfig
) -> list[tuple[str, list, int, str]]:
    """``groups``: (drop records with "reason"/"detail", the number they were drawn from, its noun).
    Returns (cause, its drops, that number, noun) for every cause above the threshold."""
    out = []
    for drops, total, noun in groups:
        by_cause: dict[str, list[dict]] = {}
        for d in drops:
            name = _cause(d["reason"])
            if name is not None:
                by_cause.setdefault(name, []).append(d)
        for name, ds in by_cause.items():
            if total and len(ds) / total > cfg.max_drop_rate:
                out.append((name, ds, total, noun))
    return out


def _example(d: dict) -> str:
    who = d.get("sample_id") or f"{d.get('source')} row {d.get('row')}"
    return f"    e.g. {who}: {safe_text(str(d.get('detail', '')), 300)}"


def check_run(
    groups: list[tuple[list[dict], int, str]], outputs: dict[str, int], cfg: GuardConfig, resume_hint: str
) -> None:
    """Raises RunFailed with the summary when an output is empty or a cause passes the threshold."""
    lines, causes = [], []
    for name, drops, total, noun in failed_causes(groups, cfg):
        causes.append(name)
        lines.append(
            f"{len(drops)} of {total} {noun} ({len(drops) / total:.0%}) dropped for {name} "
            f"(more than guard.max_drop_rate={cfg.max_drop_rate}):"
        )
        for reason, n in Counter(d["reason"] for d in drops).most_common():
            lines.append(f"    {reason} {n}")
        lines.extend(_example(d) for d in drops[: cfg.examples])
    if not any(outputs.values()):
        causes.append("empty output")
        lines.append("the output is empty: " + ", ".join(f"{k} {v} rows" for k, v in outputs.items()))
        everything = [d for drops, _, _ in groups for d in drops]
        for reason, n in Counter(d["reason"] for d in everything).most_common(5):
            lines.append(f"    {reason} {n}")
    if causes:
        raise RunFailed("data prep run failed:\n" + "\n".join(lines) + "\n" + resume_hint, causes)
