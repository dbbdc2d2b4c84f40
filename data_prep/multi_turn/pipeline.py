"""The multi-turn pipeline over a work directory: walk (Phase I), synthesize (II + III), export.

    work_dir/
      walks.jsonl            Phase I: the walked rounds of every trajectory (seeded, recomputed each run)
      journal.sqlite         every reply of the three roles, committed as it arrives
      trajectories.jsonl     Phases II-III: the kept trajectories (rounds with query, reply messages, tries)
      drops.jsonl            dropped rounds / trajectories with their reasons
      sft.parquet  rl_multi_turn.jsonl  contamination.json  report.json

Resuming: Phase I is deterministic (seeded), and every request of Phases II-III is built from the walk
and the replies before it, so a rerun of the same command asks the same requests, finds the journaled
ones and sends only the rest; files are written whole (temp file + rename) at the end. A run killed at
any moment therefore loses only requests in flight, duplicates nothing and never asks a journaled
request again.
"""

from __future__ import annotations

import asyncio
import statistics
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from ..client import ChatClient
from ..export import SFT_SCHEMA, write_parquet
from ..guard import RunFailed
from ..journal import Journal
from ..records import write_json, write_jsonl
from .config import MultiTurnConfig
from .export import BfclQuestions, contamination, rl_entry, sft_rows
from .graph import build_graph
from .states import bfcl_configs, generate_config
from .synth import Counts, Roles, synthesize
from .walk import walk_trajectory


def walk_all(cfg: MultiTurnConfig) -> list[dict]:
    """Phase I for every trajectory (deterministic for a config)."""
    out = []
    bar = tqdm(range(cfg.trajectories), desc="phase I walk", unit="traj", disable=not cfg.progress)
    for i in bar:
        classes = list(cfg.class_sets[i % len(cfg.class_sets)])
        seed = cfg.seed * 1_000_003 + i
        if cfg.from_bfcl_states:
            config, source = bfcl_configs(classes, i)
        else:
            config, source = generate_config(classes, seed), f"generated:{seed}"
        entry = {"id": f"funrl_mt_{cfg.seed}_{i}", "involved_classes": classes, "initial_config": config}
        rounds = walk_trajectory(build_graph(tuple(classes)), entry, seed, cfg.walk)
        out.append({**entry, "state_source": source, "rounds": [r.__dict__ for r in rounds]})
    return out


async def _synthesize_all(
    cfg: MultiTurnConfig, walks: list[dict], journal: Journal
) -> tuple[list, list, Counts, dict]:
    clients = {
        role: ChatClient(cfg.endpoint(role), journal, role=role)
        for role in ("query_writer", "reasoner", "critic")
    }
    roles = Roles(clients["query_writer"], clients["reasoner"], clients["critic"])
    counts = Counts()
    results: list = [None] * len(walks)
    work = iter(enumerate(walks))
    bar = tqdm(total=len(walks), desc="phases II-III", unit="traj", disable=not cfg.progress)

    async def worker() -> None:
        for i, walked in work:
            results[i] = await synthesize(roles, cfg, walked, counts)
            bar.update(1)

    n_workers = max(1, min(len(walks), 2 * max(c.cfg.concurrency for c in clients.values())))
    tasks = [asyncio.ensure_future(worker()) for _ in range(n_workers)]
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
        for c in clients.values():
            await c.aclose()
    stats = {
        role: {
            "sent": c.stats.sent,
            "replies": c.stats.replies,
            "reused": c.stats.reused,
            "retries": dict(c.stats.retries),
        }
        for role, c in clients.items()
    }
    trajectories = [t for t, _ in results]
    drops = [d for _, ds in results for d in ds]
    return trajectories, drops, counts, stats


def _spread(values: list[int]) -> dict:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "mean": round(statistics.fmean(values), 2),
        "min": min(values),
        "max": max(values),
    }


def run_multi_turn(
    cfg: MultiTurnConfig, *, echo: Callable[[str], None] | None = None, questions: BfclQuestions | None = None
) -> dict:
    """Every stage; returns the report (also in work_dir/report.json). Raises RunFailed (exit 4) when
    nothing is kept or request errors dropped more than guard.max_drop_rate of the rounds."""
    work = Path(cfg.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    walks = walk_all(cfg)
    write_jsonl(work / "walks.jsonl", walks)
    journal = Journal(work / "journal.sqlite")
    try:
        trajectories, drops, counts, requests = asyncio.run(_synthesize_all(cfg, walks, journal))
    finally:
        journal.close()
    dropped_ids = {d["trajectory_id"] for d in drops if d["stage"] == "trajectory"}
    kept = [t for t in trajectories if t["id"] not in dropped_ids]
    questions = questions or BfclQuestions(cfg.contamination.n)
    contam, near = contamination(kept, questions, cfg.contamination.drop_above)
    for tid in sorted(near):
        drops.append(
            {
                "trajectory_id": tid,
                "round": None,
                "stage": "trajectory",
                "reason": "contamination:near_duplicate",
                "detail": f"a query shares more than {cfg.contamination.drop_above} of its {questions.n}-grams with BFCL",
            }
        )
    kept = [t for t in kept if t["id"] not in near]
    sft = sft_rows(kept)
    rl = [rl_entry(t) for t in kept]
    write_jsonl(work / "trajectories.jsonl", kept)
    write_jsonl(work / "drops.jsonl", drops)
    write_parquet(work / "sft.parquet", sft, SFT_SCHEMA)
    write_jsonl(work / "rl_multi_turn.jsonl", rl)
    write_json(work / "contamination.json", contam)
    report = _report(cfg, walks, trajectories, kept, drops, counts, requests, len(sft), contam)
    write_json(work / "report.json", report)
    if echo is not None:
        echo(format_report(report))
    _guard(cfg, report, drops)
    return report


def _report(
    cfg: MultiTurnConfig,
    walks: list,
    trajectories: list,
    kept: list,
    drops: list,
    counts: Counts,
    requests: dict,
    n_sft: int,
    contam: dict,
) -> dict:
    walked_rounds = sum(len(w["rounds"]) for w in walks)
    round_drops = Counter(d["reason"] for d in drops if d["stage"] == "round")
    writer_drops = sum(n for r, n in round_drops.items() if r.startswith("query_writer"))
    # a round gets a query unless the writer failed or an earlier round of its trajectory was dropped
    queried = sum(len(t["rounds"]) for t in trajectories) + sum(round_drops.values()) - writer_drops
    return {
        "phase_1_walk": {
            "trajectories": len(walks),
            "with_rounds": sum(bool(w["rounds"]) for w in walks),
            "rounds": walked_rounds,
            "calls": sum(len(r["calls"]) for w in walks for r in w["rounds"]),
        },
        "phase_2_queries": {"rounds_queried": queried, "writer_drops": writer_drops},
        "phase_3_chain": {
            "rounds_accepted": sum(len(t["rounds"]) for t in kept),
            "tries_per_accepted_round": dict(sorted(counts.tries.items())),
            "critic_hints": counts.hints,
            "failed_tries": dict(sorted(counts.failures.items())),
            "reasoner_tool_calls": counts.tool_calls,
            "reasoner_tool_error_rate": round(counts.tool_errors / counts.tool_calls, 4)
            if counts.tool_calls
            else 0.0,
        },
        "kept": {
            "trajectories": len(kept),
            "turns_per_trajectory": _spread([len(t["rounds"]) for t in kept]),
            "calls_per_trajectory": _spread([sum(len(r["calls"]) for r in t["rounds"]) for t in kept]),
            "sft_rows": n_sft,
            "rl_entries": len(kept),
        },
        "drop_reasons": dict(sorted(Counter(d["reason"] for d in drops).items())),
        "contamination": {
            k: contam[k] for k in ("n", "queries", "mean_overlap", "max_overlap", "queries_with_any_overlap")
        },
        "requests": requests,
    }


def format_report(report: dict) -> str:
    lines = []
    for section, info in report.items():
        flat = ", ".join(f"{k} {v}" for k, v in info.items() if not isinstance(v, dict))
        lines.append(f"{section:16s} {flat}")
        for k, v in info.items():
            if isinstance(v, dict) and v:
                lines.append(f"{'':16s}   {k}: " + ", ".join(f"{a} {b}" for a, b in v.items()))
    return "\n".join(lines)


def _guard(cfg: MultiTurnConfig, report: dict, drops: list[dict]) -> None:
    walked = report["phase_1_walk"]["rounds"]
    errors = [d for d in drops if d["reason"].endswith(":request_error")]
    lines = []
    if walked and len(errors) / walked > cfg.guard.max_drop_rate:
        lines.append(
            f"{len(errors)} of {walked} rounds ({len(errors) / walked:.0%}) dropped for endpoint errors (more than guard.max_drop_rate={cfg.guard.max_drop_rate}); e.g. {errors[0]['detail'][:200]}"
        )
    if not report["kept"]["trajectories"]:
        reasons = ", ".join(f"{k} {v}" for k, v in report["drop_reasons"].items()) or "no round was walked"
        lines.append(f"the output is empty: no trajectory kept ({reasons})")
    if lines:
        journal = Journal(Path(cfg.work_dir) / "journal.sqlite")
        try:  # error replies are set aside (kept, not replayed) so that a rerun asks them again
            journal.set_aside([e.key for e in journal.entries() if e.error is not None])
        finally:
            journal.close()
        raise RunFailed(
            "multi-turn run failed:\n"
            + "\n".join(lines)
            + "\nEvery reply is kept in the journal; rerun the same command after the fix to resume.",
            ["empty output"] if not report["kept"]["trajectories"] else ["endpoint errors"],
        )
