"""The BFCL report: accuracy per category, the two BFCL aggregates we can compute, their mean, errors.

- **Non-Live AST**: the unweighted mean of simple_python, multiple, parallel and parallel_multiple
  accuracies (BFCL's Non-Live AST summary, Python only: BFCL's own "simple" also averages in Java and
  JavaScript, which funrl does not evaluate).
- **Live**: sample-weighted accuracy over the live categories (correct / total), as BFCL computes it.
- **Mean of Non-Live AST and Live**: just that. It is NOT BFCL's official overall accuracy, which also
  covers irrelevance, multi-turn, agentic and other categories.

An aggregate is reported only when every category it needs was evaluated (else null, with the reason).
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

from .bfcl_data import LIVE, NON_LIVE

MEAN_LABEL = "Mean of Non-Live AST and Live (not BFCL's official overall accuracy)"


def build_report(
    rows: list[dict],
    categories: tuple[str, ...],
    *,
    skipped: list[dict] | None = None,
    meta: dict | None = None,
) -> dict:
    """``rows``: result rows ``{"category", "valid", "error_type", ...}``. Returns the report dict."""
    per: dict[str, dict[str, Any]] = {}
    errors_by_cat: dict[str, collections.Counter] = {c: collections.Counter() for c in categories}
    for c in categories:
        per[c] = {"n": 0, "correct": 0}
    for row in rows:
        stats = per[row["category"]]
        stats["n"] += 1
        stats["correct"] += bool(row["valid"])
        if not row["valid"]:
            errors_by_cat[row["category"]][row["error_type"]] += 1
    for stats in per.values():
        stats["accuracy"] = stats["correct"] / stats["n"] if stats["n"] else None

    notes = []
    missing_nl = [c for c in NON_LIVE if c not in per or per[c]["accuracy"] is None]
    non_live = None if missing_nl else sum(per[c]["accuracy"] for c in NON_LIVE) / len(NON_LIVE)
    if missing_nl:
        notes.append(f"Non-Live AST not computed: {', '.join(missing_nl)} not evaluated")
    live_cats = [c for c in LIVE if c in per and per[c]["n"]]
    missing_live = [c for c in LIVE if c not in live_cats]
    live_n = sum(per[c]["n"] for c in live_cats)
    live_correct = sum(per[c]["correct"] for c in live_cats)
    live = None if missing_live else live_correct / live_n
    if missing_live:
        notes.append(f"Live not computed: {', '.join(missing_live)} not evaluated")
    mean = None if non_live is None or live is None else (non_live + live) / 2

    overall = collections.Counter()
    for counter in errors_by_cat.values():
        overall.update(counter)
    n_wrong = sum(overall.values())
    return {
        **(meta or {}),
        "categories": per,
        "non_live_ast": non_live,
        "live": {"accuracy": live, "n": live_n, "correct": live_correct},
        "mean_non_live_ast_and_live": mean,
        "mean_label": MEAN_LABEL,
        "n": len(rows),
        "correct": sum(bool(r["valid"]) for r in rows),
        "error_types": dict(overall.most_common()),
        "error_types_by_category": {c: dict(k.most_common()) for c, k in errors_by_cat.items() if k},
        "wrong": n_wrong,
        "skipped": skipped or [],
        "notes": notes,
    }


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}"


def markdown_report(report: dict) -> str:
    lines = []
    if report.get("model"):
        lines.append(f"# BFCL (Python AST) for `{report['model']}`\n")
        lines.append(
            f"Prompt format `{report.get('prompt_fmt')}`, scored as `{report.get('score_fmt')}`"
            f" (require_think={report.get('require_think')}), temperature {report.get('temperature')}.\n"
        )
    if report.get("limit"):
        lines.append(
            f"**Partial run (`--limit {report['limit']}`): the first {report['limit']} entries of each category "
            "only; not comparable with BFCL's figures.**\n"
        )
    lines += ["| category | n | correct | accuracy (%) |", "|---|---:|---:|---:|"]
    for c, s in report["categories"].items():
        lines.append(f"| {c} | {s['n']} | {s['correct']} | {_pct(s['accuracy'])} |")
    live = report["live"]
    lines.append(
        f"| **Non-Live AST** (unweighted mean of the 4 non-live) | | | **{_pct(report['non_live_ast'])}** |"
    )
    lines.append(
        f"| **Live** (sample-weighted) | {live['n']} | {live['correct']} | **{_pct(live['accuracy'])}** |"
    )
    lines.append(f"| **{report['mean_label']}** | | | **{_pct(report['mean_non_live_ast_and_live'])}** |")
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
    """Log the report's numbers and tables to W&B (``mode="offline"`` needs no network)."""
    import wandb  # optional: only when asked for

    run = wandb.init(
        project=project,
        name=name,
        mode=mode,
        dir=str(directory),
        job_type="eval",
        config={k: report.get(k) for k in ("model", "endpoint", "prompt_fmt", "score_fmt", "temperature")},
    )
    metrics = {
        f"bfcl/{c}": s["accuracy"] for c, s in report["categories"].items() if s["accuracy"] is not None
    }
    for key, value in (
        ("bfcl/non_live_ast", report["non_live_ast"]),
        ("bfcl/live", report["live"]["accuracy"]),
        ("bfcl/mean_non_live_ast_and_live", report["mean_non_live_ast_and_live"]),
    ):
        if value is not None:
            metrics[key] = value
    table = wandb.Table(
        columns=["error_type", "count"], data=[[t, k] for t, k in report["error_types"].items()]
    )
    run.log({**metrics, "bfcl/error_types": table})
    run.summary.update(metrics)
    run.finish()
