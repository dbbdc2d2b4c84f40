"""Load test of the reward server over real HTTP on loopback: the standard-library transport side by side
with the same protocol functions behind starlette + uvicorn (``asgi``: scoring in the thread pool;
``asgi-inline``: scoring on the event loop).

Samples: --samples candidates drawn (seeded) from the golden BFCL set in tests/data/bfcl (gold answers and
mutations of all 2,351 entries of BFCL's 8 Python AST categories, python and JSON renderings), each with
its ground truth as the JSON string data preparation writes. Every verdict that comes back is compared
with the official checker's verdict recorded there (a mismatch is reported: the figures would not count).

Each transport runs as its own process tree (--workers workers); --clients client processes with
--threads threads each send batches of --batch samples on keep-alive connections, to /score (FunRL's
batch endpoint) or /get_reward (OpenRLHF's protocol: query = a chat prompt + the candidate + <|im_end|>).

    python benchmarks/reward_server.py                              # 3 transports, batches 8 16 64
    python benchmarks/reward_server.py --transport stdlib --batch 1 64 --no-probe

Prints, per configuration: samples/s, requests/s, request latency p50 / p99 (ms); per transport: cold
start (exec to the first 200 on /health), RSS and PSS of all its processes idle and after the load, and a
reliability probe (a request's latency while 64 clients trickle bodies, a 100,000-deep JSON body,
600,000 trailing </s>, a SIGKILLed worker).
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
import signal
import socket
import subprocess
import sys
import threading
import time

from funrl.reward import ground_truth_json

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "bfcl"
TRANSPORTS = ("stdlib", "asgi", "asgi-inline")
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
            bad = [(g, v) for g, v in zip(got, expected) if (g == 1.0) != v]
            with lock:
                latencies.append(dt)
                mismatches[0] += len(bad)
                if bad and len(errors) < 3:
                    errors.append(f"mismatch (got, official) {bad[0]}: {raw[:300]!r}")
        conn.close()

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put((latencies, mismatches[0], errors))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(transport: str, workers: int) -> tuple[subprocess.Popen, int, float]:
    """(process, port, cold start in s: from exec to the first 200 on /health)."""
    port = free_port()
    env = dict(os.environ, FUNRL_BENCH_ASGI_INLINE=str(int(transport == "asgi-inline")))
    if transport == "stdlib":
        cmd = [sys.executable, "-m", "funrl.reward", "serve", "--port", str(port), "--workers", str(workers)]
    else:
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.reward_server:asgi_app",
            "--factory",
            "--port",
            str(port),
        ]
        cmd += ["--workers", str(workers), "--log-level", "warning", "--timeout-keep-alive", "120"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
    while time.perf_counter() - t0 < 60:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                # uvicorn: wait until every worker is up (the first answers before the others)
                while len(descendants(proc.pid)) < workers and time.perf_counter() - t0 < 60:
                    time.sleep(0.01)
                return proc, port, time.perf_counter() - t0
        except OSError:
            time.sleep(0.01)
    proc.kill()
    raise RuntimeError(f"{transport} server did not start")


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = [int(c) for c in pathlib.Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            kids = []
        out += kids
        todo += kids
    return out


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) summed over the server's process tree, MiB. PSS splits pages shared after fork()."""
    rss = pss = 0
    for p in [pid, *descendants(pid)]:
        try:
            for line in pathlib.Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            pass
    return rss / 1024, pss / 1024


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


# ----------------------------------------------------------------------------------------------------
# The ASGI side of the comparison: the same protocol functions behind starlette + uvicorn, with the same
# reliability rules (whole-body deadline, slot taken once the body is complete, scoring in a thread so
# the event loop keeps reading other requests). ``uvicorn benchmarks.reward_server:asgi_app --factory``.


def asgi_app() -> object:
    import asyncio

    from funrl.reward.serve_protocol import ServeConfig, Workers, check_route, error_body, handle, health
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import ClientDisconnect
    from starlette.responses import Response
    from starlette.routing import Route

    cfg = ServeConfig()
    inline = os.environ.get("FUNRL_BENCH_ASGI_INLINE") == "1"
    slots: list[asyncio.Semaphore] = []
    count = [0]

    def reply(status: int, payload: dict) -> Response:
        return Response(json.dumps(payload).encode(), status, media_type="application/json")

    async def get(request: object) -> Response:
        count[0] += 1
        return reply(*health(os.getpid(), count[0], Workers()))

    async def post(request: object) -> Response:
        count[0] += 1
        path = request.url.path.rstrip("/")
        refusal = check_route("POST", path, request.headers.get("authorization"), cfg)
        length = request.headers.get("content-length")
        if refusal is None and (length is None or not length.isdigit()):
            refusal = 411, error_body(411, "Content-Length: required")
        if refusal is None and int(length) > cfg.max_request_bytes:
            refusal = 413, error_body(413, f"body: {length} bytes, more than --max-request-mb allows")
        if refusal is not None:
            return reply(*refusal)
        try:
            raw = await asyncio.wait_for(request.body(), cfg.request_timeout_s)
        except TimeoutError:
            return reply(408, error_body(408, "body: not complete within --request-timeout"))
        except ClientDisconnect:
            return reply(400, error_body(400, "body: the client went away"))
        if inline:  # score on the event loop: no thread hand-off, but nothing else moves meanwhile
            return reply(*handle(path, raw, cfg))
        if not slots:
            slots.append(asyncio.Semaphore(cfg.max_concurrent))
        async with slots[0]:  # taken only once the body is complete
            return reply(*(await run_in_threadpool(handle, path, raw, cfg)))

    routes = [Route("/health", get, methods=["GET"])]
    routes += [Route(p, post, methods=["POST"]) for p in ("/score", "/get_reward")]
    return Starlette(routes=routes)


def probe(proc: subprocess.Popen, port: int, batch: list) -> dict:
    """Reliability, side by side: a normal request's latency while 64 clients trickle their bodies; a
    100,000-deep JSON body; 600,000 trailing </s>; a SIGKILLed worker (is it replaced within 3 s?)."""
    out: dict = {}
    slow = []
    for _ in range(64):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b'{"samples": [')
        slow.append(s)
    time.sleep(0.5)
    out["under_slow_bodies_ms"] = timed_post(port, "/score", body_of(batch, "score"))[1]
    for s in slow:
        s.close()
    out["deep_json"] = timed_post(port, "/score", b"[" * 100_000 + b"]" * 100_000)[0]
    query = PROMPT + batch[0][0] + "</s>" * 600_000
    body = json.dumps({"query": [query], "prompts": [PROMPT], "labels": [batch[0][1]]}).encode()
    out["strip_600k_ms"] = timed_post(port, "/get_reward", body)[1]
    workers = descendants(proc.pid)
    os.kill(max(workers), signal.SIGKILL)
    time.sleep(3)
    out["workers_3s_after_kill"] = f"{len(descendants(proc.pid))}/{len(workers)}"
    return out


def timed_post(port: int, path: str, data: bytes) -> tuple[object, float]:
    """(status, or the exception's name when there was no reply; milliseconds)."""
    t0 = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        status: object = resp.status
        conn.close()
    except OSError as e:
        status = type(e).__name__
    return status, 1000 * (time.perf_counter() - t0)


def bench_transport(transport: str, samples: list, args: argparse.Namespace) -> tuple[list, dict]:
    proc, port, cold = start_server(transport, args.workers)
    rows = []
    try:
        idle = memory_mb(proc.pid)
        run_config(port, samples[:500], "score", 50, 1, 1)  # warm-up: imports, ground-truth caches
        for endpoint in args.endpoint:
            for batch in args.batch:
                row = run_config(port, samples, endpoint, batch, args.clients, args.threads)
                rows.append({"transport": transport, **row})
        loaded = memory_mb(proc.pid)
        summary = {"transport": transport, "cold_start_ms": 1000 * cold, "idle_mb": idle, "loaded_mb": loaded}
        if args.probe:
            summary.update(probe(proc, port, samples[:8]))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return rows, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=6_000)
    parser.add_argument("--batch", type=int, nargs="*", default=[8, 16, 64])
    parser.add_argument(
        "--endpoint", nargs="*", default=["score", "get_reward"], choices=["score", "get_reward"]
    )
    parser.add_argument("--transport", nargs="*", default=list(TRANSPORTS), choices=TRANSPORTS)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per client process")
    parser.add_argument(
        "--probe", action=argparse.BooleanOptionalAction, default=True, help="reliability probe"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    samples = load_samples(args.samples, args.seed)
    print(
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"{args.samples} samples, server workers={args.workers}, "
        f"{args.clients} client processes x {args.threads} threads"
    )
    rows, summaries = [], []
    for transport in args.transport:
        r, summary = bench_transport(transport, samples, args)
        rows += r
        summaries.append(summary)
    if args.json:
        print(json.dumps({"rows": rows, "summaries": summaries}, indent=2))
        return
    print_tables(rows, summaries)


def print_tables(rows: list, summaries: list) -> None:
    print(
        f"{'transport':<12}{'endpoint':<12}{'batch':>6}{'samples/s':>11}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}  check"
    )
    for r in rows:
        check = (
            "all verdicts = official"
            if not r["mismatches"] and not r["errors"]
            else (f"{r['mismatches']} MISMATCHES, {r['errors']} errors {r['first_error'] or ''}")
        )
        print(
            f"{r['transport']:<12}{r['endpoint']:<12}{r['batch']:>6}{r['samples_per_s']:>11,.0f}"
            f"{r['requests_per_s']:>9,.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}  {check}"
        )
    print()
    for s in summaries:
        idle, loaded = s["idle_mb"], s["loaded_mb"]
        print(
            f"{s['transport']}: cold start {s['cold_start_ms']:.0f} ms; memory (all processes) RSS/PSS "
            f"idle {idle[0]:.0f}/{idle[1]:.0f} MiB, after load {loaded[0]:.0f}/{loaded[1]:.0f} MiB"
        )
        if "deep_json" in s:
            print(
                f"  probe: normal request under 64 slow bodies {s['under_slow_bodies_ms']:.0f} ms; "
                f"100k-deep JSON -> {s['deep_json']}; 600k </s> stripped in {s['strip_600k_ms']:.0f} ms; "
                f"workers 3 s after SIGKILL of one: {s['workers_3s_after_kill']}"
            )


if __name__ == "__main__":
    main()
