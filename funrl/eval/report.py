"""The BFCL report: accuracy per category, BFCL's summary columns (:mod:`.summary`), error types.

``report.json`` holds ``categories`` (``{category: {"accuracy", "correct", "total"}}``), ``summary`` (BFCL's
columns, each with what it did not get, and the papers' mean labelled as such), the error types overall
and per category, the entries that could not be read (counted wrong), the settings and request counts.
A ``--limit`` run says so at the top of the markdown and in ``notes``: its numbers are not BFCL's.
"""

from __future__ import annotations

import collections
from pathlib import Path

from .summary import bfcl_summary, summary_rows


def build_report(
    rows: list[dict],
    categories: tuple[str, ...],
    *,
    sizes: dict[str, int] | None = None,
    skipped: list[dict] | None = None,
    meta: dict | None = None,
) -> dict:
    """``rows``: result rows ``{"category", "valid", "error_type", ...}``; ``sizes``: entries per category
    of the whole dataset (for BFCL's treatment of the categories not run). Returns the report dict."""
    per = {c: {"accuracy": None, "correct": 0, "total": 0} for c in categories}
    errors_by_cat: dict[str, collections.Counter] = {c: collections.Counter() for c in categories}
    for row in rows:
        stats = per[row["category"]]
        stats["total"] += 1
        stats["correct"] += bool(row["valid"])
        if not row["valid"]:
            errors_by_cat[row["category"]][row["error_type"]] += 1
    for stats in per.values():
        stats["accuracy"] = stats["correct"] / stats["total"] if stats["total"] else None
    overall = collections.Counter()
    for counter in errors_by_cat.values():
        overall.update(counter)
    notes = []
    limit = (meta or {}).get("limit")
    if limit:
        notes.append(
            f"partial run (--limit {limit}): the first {limit} entries of each category only; the summary "
            "is computed from them and is not comparable with BFCL's figures"
        )
    return {
        **(meta or {}),
        "categories": per,
        "summary": bfcl_summary({c: s for c, s in per.items() if s["total"]}, sizes or {}),
        "n": len(rows),
        "correct": sum(bool(r["valid"]) for r in rows),
        "error_types": dict(overall.most_common()),
        "error_types_by_category": {c: dict(k.most_common()) for c, k in errors_by_cat.items() if k},
        "wrong": sum(overall.values()),
        "skipped": skipped or [],
        "notes": notes,
    }


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}"


def markdown_report(report: dict) -> str:
    lines = []
    if report.get("model"):
        lines.append(f"# BFCL for `{report['model']}`\n")
        lines.append(
            f"Prompt style `{report.get('prompt_style')}`, mode `{report.get('mode')}`, replies read as "
            f"`{report.get('score_fmt')}` (require_think={report.get('require_think')}), temperature "
            f"{report.get('temperature')}.\n"
        )
    if report.get("limit"):
        lines.append(
            f"**Partial run (`--limit {report['limit']}`): the first {report['limit']} entries of each category "
            "only; not comparable with BFCL's figures.**\n"
        )
    lines += ["| category | total | correct | accuracy (%) |", "|---|---:|---:|---:|"]
    for c, s in report["categories"].items():
        lines.append(f"| {c} | {s['total']} | {s['correct']} | {_pct(s['accuracy'])} |")
    summary = report["summary"]
    lines += ["", f"BFCL's summary ({summary['version']}; n/a = a category it needs was not run):", ""]
    lines += ["| group | column | accuracy (%) |", "|---|---|---|"]
    lines += [f"| {group} | {name} | {display} |" for group, name, display in summary_rows(summary)]
    lines += ["", f"`papers`: {summary['papers']['label']}.", f"`agentic`: {summary['agentic']['note']}."]
    if report["error_types"]:
        lines += ["", f"Error types ({report['wrong']} wrong answers):", "", "| error type | count | share |"]
        lines.append("|---|---:|---:|")
        for t, k in report["error_types"].items():
            lines.append(f"| `{t}` | {k} | {100 * k / report['wrong']:.1f}% |")
    if report["skipped"]:
        lines += [
            "",
            f"{len(report['skipped'])} entries could not be read; each counts as wrong (`unread:*`):",
            "",
        ]
        lines += [
            f"- {s['category']} {s['id']}: {s['reason']} ({s.get('detail', '')})" for s in report["skipped"]
        ]
    for note in report["notes"]:
        lines += ["", f"Note: {note}."]
    return "\n".join(lines) + "\n"


def log_wandb(report: dict, *, project: str, mode: str | None, name: str | None, directory: Path) -> None:
    """Log the per-category accuracies, the summary columns that are complete, and the error types to
    W&B (``mode="offline"`` needs no network)."""
    import wandb  # optional: only when asked for

    keys = ("model", "endpoint", "prompt_style", "mode", "score_fmt", "temperature", "limit")
    run = wandb.init(
        project=project,
        name=name,
        mode=mode,
        dir=str(directory),
        job_type="eval",
        config={k: report.get(k) for k in keys},
    )
    metrics = {
        f"bfcl/{c}": s["accuracy"] for c, s in report["categories"].items() if s["accuracy"] is not None
    }
    for group, columns in report["summary"].items():
        if isinstance(columns, dict):
            for column, col in columns.items():
                if isinstance(col, dict) and "not_run" in col and not col["not_run"]:
                    metrics[f"bfcl_summary/{group}/{column}"] = col["accuracy"]
    table = wandb.Table(
        columns=["error_type", "count"], data=[[t, k] for t, k in report["error_types"].items()]
    )
    run.log({**metrics, "bfcl/error_types": table})
    run.summary.update(metrics)
    run.finish()
