"""The stages as functions over a work directory; each reads the previous stage's file.

    work_dir/
      samples.jsonl  quarantine.jsonl                 read      (readers)
      generated.jsonl  generate.drops.jsonl           stage 0   (generate)
      judged.jsonl     judge.drops.jsonl              stage 1   (judge)
      validated.jsonl  validate.drops.jsonl           stage 2   (validate)
      final.jsonl  final_judge.drops.jsonl            final LLM evaluation (final_judge; optional)
      sft.parquet  rl.parquet  report.json            export
      journal.sqlite                                  every endpoint reply, as it arrives
      <stage>.stats.json                              each stage's counts, gathered by the report

Stage files are written whole at the end of a stage (temp file + rename); a stage that is killed
leaves its replies in the journal, and rerunning it asks only what the journal lacks.
"""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from tqdm import tqdm

from .client import ChatClient
from .config import Config, ConfigError, InputConfig
from .export import RL_SCHEMA, SFT_SCHEMA, rl_rows, sft_rows, write_parquet
from .final_judge import final_verdict
from .generate import generate_for_sample
from .guard import RETRIABLE, check_run, failed_causes
from .journal import Entry, Journal
from .judge import judge_sample
from .prompts import VerdictError, parse_verdict
from .readers import quarantine_entry, read_rows
from .records import (
    Candidate,
    Drop,
    Judged,
    Sample,
    encode_row,
    read_jsonl,
    write_json,
    write_jsonl,
    write_lines,
)
from .report import drop_counts, format_report, lengths
from .tokens import split_overlong
from .validate import Validated, validate_many

STAGES = ("read", "generate", "judge", "validate", "final_judge", "export")


class StageInputMissing(FileNotFoundError):
    pass


def _path(cfg: Config, name: str) -> Path:
    return Path(cfg.work_dir) / name


def _need(cfg: Config, name: str, stage: str) -> Path:
    path = _path(cfg, name)
    if not path.is_file():
        raise StageInputMissing(f"{path} does not exist: run `python -m funrl.data_prep {stage}` first")
    return path


def _write_stats(cfg: Config, stage: str, stats: dict) -> dict:
    write_json(_path(cfg, f"{stage}.stats.json"), stats)
    return stats


def _samples(cfg: Config) -> dict[str, Sample]:
    return {s.id: s for s in read_jsonl(_need(cfg, "samples.jsonl", "read"), Sample)}


# ----- read -----
def run_read(cfg: Config) -> dict:
    if not cfg.inputs:
        raise ConfigError("inputs: no input files configured (e.g. inputs=[{path: rows.json, format: xlam}])")
    Path(cfg.work_dir).mkdir(parents=True, exist_ok=True)
    lines, quarantine, expect_no_call = read_samples(cfg.inputs)
    write_lines(_path(cfg, "samples.jsonl"), lines)
    write_jsonl(_path(cfg, "quarantine.jsonl"), quarantine)
    stats = {
        "samples": len(lines),
        "quarantined": len(quarantine),
        "expect_no_call": expect_no_call,
        "quarantine_reasons": dict(sorted(Counter(q["reason"] for q in quarantine).items())),
    }
    return _write_stats(cfg, "read", stats)


def read_samples(
    inputs: list[InputConfig], keep: Callable[[int, Sample], None] | None = None
) -> tuple[list[str], list[dict], int]:
    """Every input's samples as JSONL lines, the quarantine records, and the number of no-call samples.
    A repeated sample id, or a sample that cannot be written as UTF-8 JSON, is quarantined with its row
    number. With ``keep``, each kept sample goes to ``keep(row number, sample)`` instead of the lines."""
    lines: list[str] = []
    quarantine: list[dict] = []
    first_row: dict[str, tuple[str, int]] = {}
    expect_no_call = 0
    for inp in inputs:
        for row_no, item in read_rows(inp):
            if isinstance(item, dict):
                quarantine.append(item)
                continue
            if item.id in first_row:
                where = "row {1} of {0}".format(*first_row[item.id])
                detail = f"sample id {item.id!r:.100} was already read from {where}"
                quarantine.append(quarantine_entry(item.source, row_no, "read:duplicate_id", detail))
                continue
            try:
                line = encode_row(item)
            except (UnicodeEncodeError, RecursionError, ValueError) as e:
                detail = f"the sample cannot be written as UTF-8 JSON: {type(e).__name__}: {e}"
                quarantine.append(quarantine_entry(item.source, row_no, "read:unencodable", detail))
                continue
            first_row[item.id] = (inp.path, row_no)
            expect_no_call += not item.is_call
            if keep is None:
                lines.append(line)
            else:
                keep(row_no, item)
    return lines, quarantine, expect_no_call


# ----- the async part: stage 0 and stage 1 -----
async def _pool(
    items: Sequence,
    fn: Callable[[object], Awaitable[object]],
    n_workers: int,
    desc: str,
    cfg: Config,
    clients: Sequence[ChatClient],
) -> list:
    """Runs ``fn`` over ``items`` with ``n_workers`` workers; results in input order. The first
    exception cancels the rest and is raised."""
    results: list = [None] * len(items)
    work = iter(enumerate(items))
    start = time.monotonic()
    bar = tqdm(total=len(items), desc=desc, unit="sample", disable=not cfg.progress, dynamic_ncols=True)

    async def worker() -> None:
        for i, item in work:
            results[i] = await fn(item)
            bar.update(1)
            if bar.n % 16 == 0 or bar.n == len(items):
                sent = sum(c.stats.sent for c in clients)
                reused = sum(c.stats.reused for c in clients)
                bar.set_postfix_str(
                    f"{sent / max(time.monotonic() - start, 1e-9):.1f} req/s, reused {reused}"
                )

    tasks = [asyncio.ensure_future(worker()) for _ in range(max(1, min(n_workers, len(items))))]
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()
    finally:
        bar.close()
    return results


def _client_stats(clients: dict[str, ChatClient]) -> dict:
    return {
        role: {
            "sent": c.stats.sent,
            "replies": c.stats.replies,
            "reused": c.stats.reused,
            "request_errors": c.stats.request_errors,
            "retries": dict(sorted(c.stats.retries.items())),
        }
        for role, c in clients.items()
    }


async def _with_clients(
    cfg: Config, body: Callable[[ChatClient, ChatClient | None], Awaitable[dict]], *, need_judge: bool
) -> dict:
    """Runs ``body(generator, judge)`` with the endpoints' clients on the work dir's journal; the judge's
    client only when ``need_judge`` (stage 0 runs with no judge configured)."""
    journal = Journal(_path(cfg, "journal.sqlite"))
    clients = {"generator": ChatClient(cfg.generate.endpoint, journal, role="generator")}
    if need_judge:
        clients["judge"] = ChatClient(cfg.judge_endpoint, journal, role="judge")
    try:
        stats = await body(clients["generator"], clients.get("judge"))
        stats["requests"] = _client_stats(clients)
        return stats
    finally:
        for client in clients.values():
            await client.aclose()
        journal.close()


def _workers(cfg: Config, *, need_judge: bool) -> int:
    judge = cfg.judge_endpoint.concurrency if need_judge else 0
    return 2 * max(cfg.generate.endpoint.concurrency, judge)


def check_judges(cfg: Config, stages: Sequence[str], *, warn: bool = True) -> None:
    """Before any stage runs: the judges that ``stages`` need are configured (ConfigError naming the key
    otherwise), and a warning when one is the generator's own endpoint. Plain data prep allows that (a
    teacher such as QwQ-32B judging its own distillation is FunReason's setup); self-refinement
    (``refine``) refuses it, because there the generator is the model being trained."""
    if "judge" in stages:
        cfg.judge_endpoint  # noqa: B018 - raises ConfigError when judge.endpoint is not set
    if "final_judge" in stages and cfg.final_judge.enabled:
        cfg.final_judge_endpoint  # noqa: B018 - the same for the final judge
    shared = [k for k in cfg.judges_share_generator() if k.split(".")[0] in stages]
    if shared and warn:
        warnings.warn(
            f"{' and '.join(shared)} is the generator's endpoint ({cfg.generate.endpoint.base_url}, model "
            f"{cfg.generate.endpoint.model!r}): the generator judges its own answers",
            stacklevel=2,
        )


def run_generate(cfg: Config) -> dict:
    samples = list(_samples(cfg).values())

    async def body(generator: ChatClient, judge: ChatClient | None) -> dict:
        async def fn(s: object) -> list[Candidate]:
            return await generate_for_sample(s, generator, cfg)  # type: ignore[arg-type]

        workers = _workers(cfg, need_judge=False)
        per_sample = await _pool(samples, fn, workers, "stage 0 generate", cfg, [generator])
        candidates = [c for cands in per_sample for c in cands]
        drops = [
            Drop(c.sample_id, c.index, "generate", "generate:request_error", c.error or "")
            for c in candidates
            if c.text is None
        ]
        write_jsonl(_path(cfg, "generated.jsonl"), candidates)
        write_jsonl(_path(cfg, "generate.drops.jsonl"), drops)
        return {"candidates": len(candidates), "dropped": len(drops), "drop_reasons": drop_counts(drops)}

    return _write_stats(cfg, "generate", asyncio.run(_with_clients(cfg, body, need_judge=False)))


def run_judge(cfg: Config) -> dict:
    check_judges(cfg, ("judge",))
    samples = _samples(cfg)
    by_sample: dict[str, list[Candidate]] = {}
    for c in read_jsonl(_need(cfg, "generated.jsonl", "generate"), Candidate):
        by_sample.setdefault(c.sample_id, []).append(c)
    items = [(samples[sid], cands) for sid, cands in by_sample.items()]

    async def body(generator: ChatClient, judge: ChatClient | None) -> dict:
        assert judge is not None

        async def fn(item: object) -> list:
            sample, cands = item  # type: ignore[misc]
            return await judge_sample(sample, cands, generator, judge, cfg)

        workers = _workers(cfg, need_judge=True)
        per_sample = await _pool(items, fn, workers, "stage 1 judge", cfg, [generator, judge])
        outcomes = [o for out in per_sample for o in out]
        judged = [o for o in outcomes if isinstance(o, Judged)]
        # Stage 0's failed requests are counted by stage 0; regenerations that fail are stage 1's.
        drops = [o for o in outcomes if isinstance(o, Drop) and o.stage == "judge"]
        write_jsonl(_path(cfg, "judged.jsonl"), judged)
        write_jsonl(_path(cfg, "judge.drops.jsonl"), drops)
        return {
            "accepted": sum(j.status == "accepted" for j in judged),
            "kept_non_call": sum(j.status == "kept_non_call" for j in judged),
            "dropped": len(drops),
            "drop_reasons": drop_counts(drops),
            "accepted_at_round": dict(
                sorted(Counter(str(j.rounds) for j in judged if j.status == "accepted").items())
            ),
        }

    return _write_stats(cfg, "judge", asyncio.run(_with_clients(cfg, body, need_judge=True)))


def run_validate(cfg: Config) -> dict:
    samples = _samples(cfg)
    judged = list(read_jsonl(_need(cfg, "judged.jsonl", "judge"), Judged))
    pairs = [(samples[j.sample_id], j) for j in judged]
    out = validate_many(pairs, cfg)
    passed = [v for v in out if isinstance(v, Validated)]
    drops = [d for d in out if isinstance(d, Drop)]
    write_jsonl(_path(cfg, "validated.jsonl"), passed)
    write_jsonl(_path(cfg, "validate.drops.jsonl"), drops)
    stats = {"passed": len(passed), "dropped": len(drops), "drop_reasons": drop_counts(drops)}
    return _write_stats(cfg, "validate", stats)


def run_final_judge(cfg: Config) -> dict:
    """FunRL's final LLM evaluation over stage 2's answers (``final_judge.enabled``)."""
    if not cfg.final_judge.enabled:
        raise ConfigError("final_judge.enabled is false: set final_judge.enabled=true to run this stage")
    check_judges(cfg, ("final_judge",))
    samples = _samples(cfg)
    validated = list(read_jsonl(_need(cfg, "validated.jsonl", "validate"), Validated))

    async def body() -> dict:
        journal = Journal(_path(cfg, "journal.sqlite"))
        client = ChatClient(cfg.final_judge_endpoint, journal, role="final_judge")
        try:

            async def fn(v: object) -> object:
                return await final_verdict(samples[v.sample_id], v, client, cfg)  # type: ignore[attr-defined]

            workers = 2 * cfg.final_judge_endpoint.concurrency
            out = await _pool(validated, fn, workers, "final judge", cfg, [client])
            stats = _client_stats({"final_judge": client})
        finally:
            await client.aclose()
            journal.close()
        passed = [o for o in out if isinstance(o, Validated)]
        drops = [o for o in out if isinstance(o, Drop)]
        write_jsonl(_path(cfg, "final.jsonl"), passed)
        write_jsonl(_path(cfg, "final_judge.drops.jsonl"), drops)
        return {
            "passed": len(passed),
            "dropped": len(drops),
            "drop_reasons": drop_counts(drops),
            "requests": stats,
        }

    return _write_stats(cfg, "final_judge", asyncio.run(body()))


def _stages(cfg: Config) -> tuple[str, ...]:
    return tuple(s for s in STAGES if s != "final_judge" or cfg.final_judge.enabled)


def run_export(cfg: Config) -> dict:
    samples = _samples(cfg)
    if cfg.final_judge.enabled:
        validated = list(read_jsonl(_need(cfg, "final.jsonl", "final_judge"), Validated))
    else:
        validated = list(read_jsonl(_need(cfg, "validated.jsonl", "validate"), Validated))
    sft, overlong, length_check = split_overlong(
        sft_rows(samples, validated, cfg), cfg.output.tokenizer, cfg.output.max_length
    )
    rl = rl_rows(samples, validated, cfg)
    write_parquet(_path(cfg, "sft.parquet"), sft, SFT_SCHEMA)
    write_parquet(_path(cfg, "rl.parquet"), rl, RL_SCHEMA)
    write_jsonl(_path(cfg, "overlong.jsonl"), overlong)
    stats = {
        "sft_rows": len(sft),
        "rl_rows": len(rl),
        "sft_overlong": len(overlong),
        "length_check": length_check,
    }
    _write_stats(cfg, "export", stats)
    report = {}
    for stage in _stages(cfg):
        stats_path = _path(cfg, f"{stage}.stats.json")
        if stats_path.is_file():
            report[stage] = json.loads(stats_path.read_text())
    report["lengths"] = lengths((v.answer for v in validated if v.status == "accepted"), cfg.output.tokenizer)
    write_json(_path(cfg, "report.json"), report)
    _guard(cfg, report, {"sft.parquet": len(sft), "rl.parquet": len(rl)})
    return report


def _drops(cfg: Config, name: str) -> list[dict]:
    path = _path(cfg, name)
    return list(read_jsonl(path)) if path.is_file() else []


def _guard(cfg: Config, report: dict, outputs: dict[str, int]) -> None:
    """guard.check_run over the finished run; on failure, the replies behind a retriable cause are set
    aside in the journal so that the same command, rerun after the fix, asks them again."""
    read = report.get("read", {})
    groups = [
        (_drops(cfg, "quarantine.jsonl"), read.get("samples", 0) + read.get("quarantined", 0), "rows read"),
        (
            [d for stage in _stages(cfg) for d in _drops(cfg, f"{stage}.drops.jsonl")],
            report.get("generate", {}).get("candidates", 0),
            "candidates",
        ),
    ]
    failed = [name for name, *_ in failed_causes(groups, cfg.guard) if name in RETRIABLE]
    hint = "Every reply is kept in the journal; rerun the same command after the fix to resume."
    if failed:
        journal = Journal(_path(cfg, "journal.sqlite"))
        try:
            keys = [
                e.key
                for e in journal.entries()
                if ("endpoint errors" in failed and e.error is not None)
                or (
                    "unparsable judge replies" in failed
                    and e.logical_id.startswith("judge/")
                    and _unparsable(e)
                )
            ]
            journal.set_aside(keys)
        finally:
            journal.close()
        hint = (
            f"Every reply is kept in the journal; the {len(keys)} behind {' and '.join(failed)} are set aside "
            "(table superseded), so the same command, rerun after the fix, asks those again and reuses the rest."
        )
    check_run(groups, outputs, cfg.guard, hint)


def _unparsable(entry: Entry) -> bool:
    if entry.content is None:
        return False
    try:
        parse_verdict(entry.content)
    except VerdictError:
        return True
    return False


RUNNERS: dict[str, Callable[[Config], dict]] = {
    "read": run_read,
    "generate": run_generate,
    "judge": run_judge,
    "validate": run_validate,
    "final_judge": run_final_judge,
    "export": run_export,
}


def run_all(cfg: Config, *, echo: Callable[[str], None] | None = None) -> dict:
    """Every stage in order; returns the report (also in work_dir/report.json)."""
    report: dict = {}
    check_judges(cfg, _stages(cfg), warn=False)  # before stage 0 spends anything (the stages warn)
    for stage in _stages(cfg):
        report = RUNNERS[stage](cfg)
    if echo is not None:
        echo(format_report(report))
    return report
