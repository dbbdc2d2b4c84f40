"""Data-preparation speed: stage 1 judge throughput against a loopback server, stage 2 samples/s.

    python benchmarks/data_prep.py                       # defaults below
    python benchmarks/data_prep.py --judge-samples 2000 --latency 0.1 --concurrency 64 --validate-samples 60000

1. Judge throughput: the loopback server runs in its own process (so it does not share the client's
   GIL) and answers every request after ``--latency`` seconds with a passing verdict. Stage 1 runs on
   ``--judge-samples`` samples (5 checks each, every reply journaled in SQLite). Ideal throughput =
   concurrency / latency; the figure is the measured requests/s as a fraction of it (target >= 0.8).
2. Stage 2: ``--validate-samples`` synthetic judged answers (simple, multiple, parallel and
   parallel-multiple, in the think_answer format) through ``run_validate`` (JSONL in and out included)
   and through ``validate_one`` alone.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from funrl.data_prep.config import load_config
from funrl.data_prep.pipeline import run_judge, run_validate
from funrl.data_prep.records import Candidate, Judged, Sample, write_jsonl
from funrl.data_prep.render import render_answer
from funrl.data_prep.schemas import category_for
from funrl.data_prep.validate import validate_one

TOOLS = [
    {
        "name": f"tool_{i}",
        "description": f"Synthetic tool {i}.",
        "parameters": {
            "type": "dict",
            "properties": {
                "city": {"type": "string", "description": "a city"},
                "days": {"type": "integer", "description": "days"},
                "scale": {"type": "float", "description": "a scale"},
                "tags": {"type": "array", "items": {"type": "string"}, "description": "tags"},
                "strict": {"type": "boolean", "description": "strict mode"},
            },
            "required": ["city", "days"],
        },
    }
    for i in range(4)
]


def synthetic(n: int, seed: int = 0) -> tuple[list[Sample], list[Judged]]:
    rng = random.Random(seed)
    samples, judged = [], []
    for i in range(n):
        tools = TOOLS[: rng.choice([1, 1, 2, 4])]
        calls = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            args = {"city": f"City{rng.randrange(1000)}", "days": rng.randrange(1, 15)}
            if rng.random() < 0.5:
                args["scale"] = round(rng.random() * 10, 2)
            if rng.random() < 0.3:
                args["tags"] = [f"t{rng.randrange(9)}" for _ in range(rng.randrange(1, 4))]
            if rng.random() < 0.3:
                args["strict"] = rng.random() < 0.5
            calls.append({rng.choice(tools)["name"]: args})
        sid = f"syn:{i}"
        samples.append(Sample(sid, "syn", f"query {i}", tools, calls, None, category_for(calls, tools)))
        cot = "The user wants " + " ".join(f"word{rng.randrange(500)}" for _ in range(rng.randrange(20, 120)))
        judged.append(Judged(sid, 0, "accepted", render_answer(cot, calls, "think_answer"), 1))
    return samples, judged


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "funrl.toy.scripted_server",
            "--responder",
            "funrl.data_prep.scripted_endpoints:always_pass",
            "--latency",
            str(latency),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().split()
    if line[:1] != ["LISTENING"]:
        proc.kill()
        raise RuntimeError(f"loopback server did not start: {line}")
    return proc, f"http://127.0.0.1:{line[1]}/v1"


def bench_judge(n: int, latency: float, concurrency: int) -> None:
    proc, url = start_server(latency)
    try:
        with tempfile.TemporaryDirectory() as work:
            samples, judged = synthetic(n, seed=1)
            write_jsonl(Path(work) / "samples.jsonl", samples)
            write_jsonl(
                Path(work) / "generated.jsonl", [Candidate(j.sample_id, 0, 0, j.text) for j in judged]
            )
            cfg = load_config(
                None,
                [
                    f"work_dir={work}",
                    "progress=false",
                    f"judge.endpoint.base_url={url}",
                    "judge.endpoint.model=bench-judge",
                    f"judge.endpoint.concurrency={concurrency}",
                    "judge.structured_output=true",
                ],
            )
            load_before = os.getloadavg()[0]
            start, cpu_start = time.perf_counter(), time.process_time()
            stats = run_judge(cfg)
            elapsed, client_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    finally:
        proc.terminate()
        proc.wait()
    server_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = server_cpu.ru_utime + server_cpu.ru_stime
    sent = stats["requests"]["judge"]["sent"]
    ideal = concurrency / latency
    print(f"judge throughput: {n} samples, {sent} requests in {elapsed:.2f} s = {sent / elapsed:.1f} req/s")
    print(
        f"  ideal {ideal:.0f} req/s (concurrency {concurrency} / latency {latency * 1000:.0f} ms): "
        f"fraction {sent / elapsed / ideal:.3f} (target >= 0.8); accepted {stats['accepted']}"
    )
    print(
        f"  CPU per request: client {client_cpu / sent * 1000:.2f} ms, loopback server "
        f"{server_cpu / sent * 1000:.2f} ms; {os.cpu_count()} cores, load average {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after (other processes' load lowers the fraction)"
    )


def bench_validate(n: int, worker_counts: list[int]) -> None:
    samples, judged = synthetic(n, seed=2)
    cfg = load_config(None, ["progress=false"])
    by_id = {s.id: s for s in samples}
    start = time.perf_counter()
    results = [validate_one(by_id[j.sample_id], j, cfg) for j in judged]
    core = time.perf_counter() - start
    passed = sum(type(r).__name__ == "Validated" for r in results)
    print(f"stage 2 validate_one: {n} samples in {core:.2f} s = {n / core:,.0f} samples/s ({passed} passed)")
    with tempfile.TemporaryDirectory() as work:
        write_jsonl(Path(work) / "samples.jsonl", samples)
        write_jsonl(Path(work) / "judged.jsonl", judged)
        cfg.work_dir = work
        for workers in worker_counts:
            cfg.validate.workers = workers
            start = time.perf_counter()
            stats = run_validate(cfg)
            full = time.perf_counter() - start
            print(
                f"stage 2 run_validate, {workers} process(es), JSONL read/write included: {n / full:,.0f} "
                f"samples/s; {json.dumps(stats)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--judge-samples", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--validate-samples", type=int, default=60000)
    parser.add_argument("--validate-workers", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    args = parser.parse_args()
    if args.judge_samples:
        bench_judge(args.judge_samples, args.latency, args.concurrency)
    bench_validate(args.validate_samples, args.validate_workers)


if __name__ == "__main__":
    main()
