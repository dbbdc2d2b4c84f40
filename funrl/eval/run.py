"""``run_bfcl``: read the data, ask the model (single-turn here, multi-turn through
``funrl.eval.multi_turn``), score, and write ``results.jsonl``, ``report.json``, ``report.md`` (+ W&B)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from funrl.data_prep import ChatClient, Journal

from .bfcl import EvalConfig, ask_single_turn, multi_turn_runner
from .bfcl_data import category_file, count_entries, find_bfcl_data, load_bfcl
from .categories import MULTI_TURN, RUNNABLE, SINGLE_TURN
from .report import build_report, log_wandb, markdown_report


async def _ask_all(data, cfg: EvalConfig, journal: Journal, run_multi_turn) -> tuple[list[dict], dict]:
    client = ChatClient(cfg.endpoint, journal, role="model under evaluation")
    entries = [e for c in cfg.categories if c in data.entries for e in data.entries[c]]
    multi = [c for c in cfg.categories if c in MULTI_TURN]
    try:
        jobs = [ask_single_turn(entries, cfg, client)]
        if multi:
            jobs.append(
                run_multi_turn(
                    multi,
                    client,
                    prompt_style=cfg.prompt_style,
                    fmt=cfg.fmt,
                    mode=cfg.mode,
                    limit=cfg.limit,
                    data_dir=cfg.data_dir,
                    progress=cfg.progress,
                )
            )
        rows = [row for part in await asyncio.gather(*jobs) for row in part]
    finally:
        await client.aclose()
    stats = client.stats
    return rows, {
        "sent": stats.sent,
        "replies": stats.replies,
        "reused_from_journal": stats.reused,
        "retries": stats.retries,
        "request_errors": stats.request_errors,
    }


def dataset_sizes(directory: Path) -> dict[str, int]:
    """Entries per category in the data folder (BFCL counts a category not run with its whole size)."""
    sizes = {}
    for category in RUNNABLE:
        try:
            category_file(directory, category)
        except FileNotFoundError:
            continue
        sizes[category] = count_entries(directory, category)
    return sizes


def run_bfcl(cfg: EvalConfig) -> dict:
    """Evaluate; write ``results.jsonl``, ``report.json`` and ``report.md`` under ``cfg.output_dir``;
    return the report. Raises ValueError / FileNotFoundError on bad settings or data (before asking
    anything) and :class:`funrl.data_prep.EndpointError` when the server keeps failing (the journal
    keeps what was answered: rerun to resume)."""
    run_multi_turn = multi_turn_runner() if any(c in MULTI_TURN for c in cfg.categories) else None
    directory = find_bfcl_data(cfg.data_dir)
    data = load_bfcl(directory, tuple(c for c in cfg.categories if c in SINGLE_TURN), cfg.limit)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    journal = Journal(out / "journal.sqlite")
    try:
        rows, requests = asyncio.run(_ask_all(data, cfg, journal, run_multi_turn))
    finally:
        journal.close()
    for item in data.skipped:  # BFCL counts every entry: one we cannot read is one we cannot answer
        rows.append(
            {
                "id": item["id"],
                "category": item["category"],
                "valid": False,
                "error_type": f"unread:{item['reason']}",
                "errors": [item["detail"]],
                "output": None,
            }
        )
    with (out / "results.jsonl").open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    meta = {
        "model": cfg.endpoint.model,
        "endpoint": cfg.endpoint.base_url,
        "temperature": cfg.endpoint.temperature,
        "max_tokens": cfg.endpoint.max_tokens,
        "prompt_style": cfg.prompt_style,
        "mode": cfg.mode,
        "prompt_fmt": cfg.fmt if cfg.prompt_style == "training" and cfg.mode == "prompt" else None,
        "score_fmt": cfg.read_fmt,
        "require_think": cfg.require_think,
        "data": {c: data.files[c] for c in data.files},
        "limit": cfg.limit,
        "requests": requests,
    }
    report = build_report(
        rows, cfg.categories, sizes=dataset_sizes(directory), skipped=data.skipped, meta=meta
    )
    (out / "report.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out / "report.md").write_text(markdown_report(report), encoding="utf-8")
    if cfg.wandb_project:
        log_wandb(
            report, project=cfg.wandb_project, mode=cfg.wandb_mode, name=cfg.wandb_run_name, directory=out
        )
    return report
