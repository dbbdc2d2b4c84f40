"""Load test of ``python -m funrl.reward serve``: throughput and latency over real HTTP on loopback.

Samples: --samples candidates drawn (seeded) from the golden BFCL set in tests/data/bfcl (gold answers and
mutations of all 2,351 entries of BFCL's 8 Python AST categories, python and JSON renderings), each with
its ground truth as the JSON string data preparation writes. Every verdict that comes back is compared
with the official checker's verdict recorded there (a mismatch is reported: the figures would not count).

The server runs as its own process (``--workers`` forked workers); --clients client processes with
--threads threads each send batches of --batch samples on keep-alive connections, to /score (FunRL's
batch endpoint) or /get_reward (OpenRLHF's protocol: query = a chat prompt + the candidate + <|im_end|>).

    python benchmarks/reward_server.py                      # both endpoints, batch 1 and 64
    python benchmarks/reward_server.py --batch 256 --workers 4 --clients 8

Prints, per configuration: samples/s, requests/s, request latency p50 / p99 / max (ms).
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import multiprocessing as mp
import os
import pathlib
import platform
import random
import subprocess
import sys
import threading
import time

from funrl.reward import ground_truth_json

DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "bfcl"
PROMPT = "<|im_start|>system\nYou call functions.<|im_end|>\n<|im_start|>user\nDo it.<|im_end|>\n<|im_start|>assistant\n"


def load_samples(n: int, seed: int) -> list[tuple[str, str, bool]]:
    """[(candidate text, ground-truth JSON, official verdict)] * n."""
    with gzip.open(DATA / "entries.jsonl.gz", "rt") as f:
        entries = {e["id"]: e for e in map(json.loads, f)}
    with gzip.open(DATA / "verdicts.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    gts = {i: ground_truth_json(e["function"], e["ground_truth"], e["category"]) for i, e in entries.items()}
    rng = random.Random(seed)
    picked = rng.sample(rows, n) if n <= len(rows) else [rng.choice(rows) for _ in range(n)]
    return [(r["text"], gts[r["id"]], r["valid"]) for r in picked]


def body_of(batch: list[tuple[str, str, bool]], endpoint: str) -> bytes:
    if endpoint == "score":
        return json.dumps({"samples": [{"response": t, "ground_truth": g} for t, g, _ in batch]}).encode()
    return json.dumps(
        {
            "query": [PROMPT + t + "<|im_end|>" for t, _, _ in batch],
            "prompts": [PROMPT] * len(batch),
            "labels": [g for _, g, _ in batch],
        }
    ).encode()


def rewards_of(payload: dict, endpoint: str) -> list[float]:
    if endpoint == "score":
        return [r["score"] for r in payload["results"]]
    return payload["rewards"]


def client_process(port: int, endpoint: str, batches: list, threads: int, out: mp.Queue) -> None:
    """One client process: ``threads`` threads share its batches; reports latencies and mismatches."""
    bodies = [(body_of(b, endpoint), [v for _, _, v in b]) for b in batches]
    lock = threading.Lock()
    latencies: list[float] = []
    mismatches = [0]
    errors: list[str] = []
    todo = list(range(len(bodies)))

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not todo:
                    break
                i = todo.pop()
            data, expected = bodies[i]
            t0 = time.perf_counter()
            conn.request("POST", f"/{endpoint}", body=data, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            raw = resp.read()
            dt = time.perf_counter() - t0
            if resp.status != 200:
                with lock:
                    errors.append(f"{resp.status}: {raw[:200]!r}")
                continue
            got = rewards_of(json.loads(raw), endpoint)
            bad = sum((g == 1.0) != v for g, v in zip(got, expected))
            with lock:
                latencies.append(dt)
                mismatches[0] += bad
        conn.close()

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put((latencies, mismatches[0], errors))


def start_server(workers: int) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "funrl.reward", "serve", "--port", "0", "--workers", str(workers)],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, int(line.split("http://127.0.0.1:")[1].split()[0])


def run_config(port: int, samples: list, endpoint: str, batch: int, clients: int, threads: int) -> dict:
    batches = [samples[i : i + batch] for i in range(0, len(samples), batch)]
    per_client = [batches[c::clients] for c in range(clients)]
    out: mp.Queue = mp.get_context("fork").Queue()
    procs = [
        mp.get_context("fork").Process(target=client_process, args=(port, endpoint, pc, threads, out))
        for pc in per_client
    ]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    lat = sorted(x for r in results for x in r[0])
    errors = [e for r in results for e in r[2]]

    def pct(q: float) -> float:
        return 1000 * lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")

    return {
        "endpoint": endpoint,
        "batch": batch,
        "samples_per_s": len(samples) / wall,
        "requests_per_s": len(batches) / wall,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": 1000 * lat[-1] if lat else float("nan"),
        "mismatches": sum(r[1] for r in results),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--batch", type=int, nargs="*", default=[1, 64])
    parser.add_argument(
        "--endpoint", nargs="*", default=["score", "get_reward"], choices=["score", "get_reward"]
    )
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per client process")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    samples = load_samples(args.samples, args.seed)
    print(
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"{args.samples} samples, server workers={args.workers}, "
        f"{args.clients} client processes x {args.threads} threads"
    )
    proc, port = start_server(args.workers)
    rows = []
    try:
        run_config(port, samples[:500], "score", 50, 1, 1)  # warm-up: imports, ground-truth caches
        for endpoint in args.endpoint:
            for batch in args.batch:
                rows.append(run_config(port, samples, endpoint, batch, args.clients, args.threads))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"{'endpoint':<12}{'batch':>6}{'samples/s':>11}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  check"
    )
    for r in rows:
        check = (
            "all verdicts = official"
            if not r["mismatches"] and not r["errors"]
            else (f"{r['mismatches']} MISMATCHES, {r['errors']} errors {r['first_error'] or ''}")
        )
        print(
            f"{r['endpoint']:<12}{r['batch']:>6}{r['samples_per_s']:>11,.0f}{r['requests_per_s']:>9,.0f}"
            f"{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['max_ms']:>9.1f}  {check}"
        )


if __name__ == "__main__":
    main()
