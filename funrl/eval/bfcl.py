"""Ask a served model BFCL's questions with the training prompt; score the replies with ``funrl.reward``.

Prompts are ``funrl.data_prep.export.prompt_messages(sample, fmt)``: the same system prompt (the tools
and the output-format instructions) and user turn as the SFT and RL parquet rows, for the output
format the model was trained on (``--fmt``). The server applies the model's chat template, as verl's
rollout does.

Requests go through data preparation's :class:`~funrl.data_prep.client.ChatClient`: at most
``concurrency`` in flight, retries with backoff on 429 / 5xx / timeouts, and every reply journaled in
``OUTPUT_DIR/journal.sqlite`` before it is used. A rerun of the same command resumes: replies already
journaled are reused, never requested again (a changed model, prompt or sampling setting is a new
request). A request the server refuses for good (e.g. 400: prompt too long) scores 0 with error type
``request_error:http_400``, as BFCL counts a failed inference as wrong.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from funrl.data_prep import ChatClient, EndpointConfig, Journal, Sample, prompt_messages
from funrl.reward import THINK_FORMATS, check_format, score

from .bfcl_data import AST_CATEGORIES, load_bfcl
from .report import build_report, log_wandb, markdown_report

PROMPT_FORMATS = THINK_FORMATS  # the formats models are trained to write (data preparation's)


@dataclass
class EvalConfig:
    endpoint: EndpointConfig = field(default_factory=lambda: EndpointConfig(temperature=0.0, max_tokens=4096))
    output_dir: str = "outputs/bfcl_eval"
    data_dir: str | None = None  # None: the installed bfcl-eval package's data
    categories: tuple[str, ...] = AST_CATEGORIES
    fmt: str = "think_answer"  # the output format the prompt asks for (the model's training format)
    score_fmt: str | None = None  # how replies are read; None: the prompt's fmt
    require_think: bool = False  # score a reply without <think>...</think> as a format error
    limit: int | None = None  # first N entries per category (smoke runs)
    wandb_project: str | None = None
    wandb_mode: str | None = None  # online | offline | disabled (None: wandb's own default)
    wandb_run_name: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        check_format(self.fmt, PROMPT_FORMATS, key="fmt")
        if self.score_fmt is not None:
            check_format(self.score_fmt, key="score_fmt")


def score_reply(sample: Sample, text: str | None, error: str | None, cfg: EvalConfig) -> dict:
    """One result row: ``{"id", "category", "valid", "error_type", "errors", "output"}``."""
    entry_id = sample.entry_id
    if text is None:
        kind = (error or "unknown").split(":", 1)[0]
        return {
            "id": entry_id,
            "category": sample.category,
            "valid": False,
            "error_type": f"request_error:{kind}",
            "errors": [error or "no reply"],
            "output": None,
        }
    result = score(
        text,
        functions=sample.tools,
        possible_answer=sample.possible_answer,
        category=sample.category,
        fmt=cfg.score_fmt or cfg.fmt,
        require_think=cfg.require_think,
    )
    return {
        "id": entry_id,
        "category": sample.category,
        "valid": result.valid,
        "error_type": result.error_type,
        "errors": result.errors,
        "output": text,
    }


async def _ask_all(samples: list[Sample], cfg: EvalConfig, journal: Journal) -> tuple[list[dict], dict]:
    client = ChatClient(cfg.endpoint, journal, role="model under evaluation")
    bar = tqdm(total=len(samples), desc="bfcl", unit="reply", disable=not cfg.progress)

    async def one(sample: Sample) -> dict:
        entry = await client.complete(f"bfcl/{sample.id}", prompt_messages(sample, cfg.fmt))
        bar.update()
        return score_reply(sample, entry.content, entry.error, cfg)

    try:
        rows = await asyncio.gather(*(one(s) for s in samples))
    finally:
        await client.aclose()
        bar.close()
    stats = client.stats
    return list(rows), {
        "sent": stats.sent,
        "replies": stats.replies,
        "reused_from_journal": stats.reused,
        "retries": stats.retries,
        "request_errors": stats.request_errors,
    }


def run_bfcl(cfg: EvalConfig) -> dict:
    """Evaluate; write ``results.jsonl``, ``report.json`` and ``report.md`` under ``cfg.output_dir``;
    return the report. Raises :class:`funrl.data_prep.client.EndpointError` when the server keeps
    failing (the journal keeps what was answered: rerun to resume)."""
    data = load_bfcl(cfg.data_dir, cfg.categories, cfg.limit)
    samples = [s for c in cfg.categories for s in data.samples[c]]
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    journal = Journal(out / "journal.sqlite")
    try:
        rows, requests = asyncio.run(_ask_all(samples, cfg, journal))
    finally:
        journal.close()
    for item in data.skipped:  # BFCL counts every entry: one we cannot read is one we cannot answer
        rows.append(
            {
                "id": item["id"],
                "category": item["category"],
                "valid": False,
                "error_type": "unread:" + item["reason"].removeprefix("read:"),
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
        "prompt_fmt": cfg.fmt,
        "score_fmt": cfg.score_fmt or cfg.fmt,
        "require_think": cfg.require_think,
        "data": {c: data.files[c] for c in cfg.categories},
        "limit": cfg.limit,
        "requests": requests,
    }
    report = build_report(rows, cfg.categories, skipped=data.skipped, meta=meta)
    (out / "report.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out / "report.md").write_text(markdown_report(report), encoding="utf-8")
    if cfg.wandb_project:
        log_wandb(
            report, project=cfg.wandb_project, mode=cfg.wandb_mode, name=cfg.wandb_run_name, directory=out
        )
    return report
