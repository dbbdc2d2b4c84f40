"""Soak test of ``python -m funrl.reward serve``: ~60 s of mixed valid, hostile, slow and oversized
requests against 2 workers, one SIGKILLed midway.

    python benchmarks/reward_soak.py [--seconds 60] [--workers 2]

Traffic (threads in this process, keep-alive connections, reconnecting after an error):
  valid      4 threads: /score and /get_reward batches of 8-64 golden BFCL samples; every verdict is
             compared with the official checker's
  hostile    1 thread cycling: 100,000-deep JSON, bad JSON, a batch with bad ground truths (fmt "nope", a
             nesting bomb, a list as function name), a bad OpenRLHF label, 600,000 trailing </s>, non-UTF-8,
             404, 405, chunked, no Content-Length, a 5 MB Content-Length over the 4 MB cap (never sent)
  slow       16 connections that trickle their bodies at 2 bytes/s (each gets 408 at --request-timeout
             10 s, then reconnects), and 4 that trickle header bytes
  oversized  1 thread: a 3.9 MB valid /score body (just under --max-request-mb 4) every 2 s

Prints: requests answered, answers by status per kind, requests with no answer (by exception), p50/p99 of
valid requests, verdict mismatches, /health at the end, and each worker's RSS before and after.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import pathlib
import random
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from benchmarks.reward_server import PROMPT, body_of, descendants, load_samples, rewards_of  # noqa: E402

Log = list[tuple[str, object, float]]  # (kind, status or exception name, seconds)
KILLED_AT = [float("inf")]  # time.perf_counter() of the SIGKILL


def rss_mb(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Client:
    """One keep-alive connection that reconnects after any error."""

    def __init__(self, port: int) -> None:
        self.port, self.conn = port, None

    def send(self, method: str, path: str, body: bytes | None, headers: dict | None = None) -> tuple:
        t0 = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.request(method, path, body=body, headers=headers or {})
            resp = self.conn.getresponse()
            data = resp.read()
            if resp.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return resp.status, data, time.perf_counter() - t0
        except (OSError, http.client.HTTPException) as e:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return type(e).__name__, b"", time.perf_counter() - t0


def valid_traffic(port: int, samples: list, stop: threading.Event, log: Log, bad: list, seed: int) -> None:
    rng, client = random.Random(seed), Client(port)
    while not stop.is_set():
        endpoint = rng.choice(("score", "get_reward"))
        batch = rng.sample(samples, rng.choice((8, 16, 32, 64)))
        status, data, dt = client.send("POST", f"/{endpoint}", body_of(batch, endpoint))
        log.append(("valid", status, dt))
        if status == 200:
            got = rewards_of(json.loads(data), endpoint)
            bad.extend((g, v) for g, (_, _, v) in zip(got, batch) if (g == 1.0) != v)


def hostile_requests(samples: list) -> list[tuple[str, str, bytes | None, dict]]:
    text, gt = samples[0][0], json.loads(samples[0][1])
    bad_gts = [dict(gt, fmt="nope"), "[" * 100_000 + "]" * 100_000, dict(gt, functions=[dict(name=["f"])])]
    batch = [{"response": text, "ground_truth": g} for g in [gt, *bad_gts, gt]]
    openrlhf = {"query": [PROMPT + text], "prompts": [PROMPT], "labels": [dict(gt, fmt="nope")]}
    strip = {"query": [PROMPT + text + "</s>" * 600_000], "prompts": [PROMPT], "labels": [samples[0][1]]}
    return [
        ("deep-json", "/score", b"[" * 100_000 + b"]" * 100_000, {}),
        ("bad-json", "/score", b'{"samples": [', {}),
        ("bad-samples", "/score", json.dumps({"samples": batch}).encode(), {}),
        ("bad-label", "/get_reward", json.dumps(openrlhf).encode(), {}),
        ("600k-</s>", "/get_reward", json.dumps(strip).encode(), {}),
        ("non-utf8", "/score", b'{"samples": ["\xff\xfe"]}', {}),
        ("404", "/nowhere", b"{}", {}),
        ("chunked", "/score", None, {"Transfer-Encoding": "chunked"}),
        ("no-length", "/score", None, {}),
    ]


def hostile_traffic(port: int, samples: list, stop: threading.Event, log: Log) -> None:
    requests = hostile_requests(samples)
    i = 0
    while not stop.is_set():
        kind, path, body, headers = requests[i % len(requests)]
        i += 1
        client = Client(port)
        if body is None:  # no body and no Content-Length (411), raw
            status, dt = raw_request(
                port,
                f"POST {path} HTTP/1.1\r\nHost: x\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                + "\r\n",
            )
        else:
            status, _, dt = client.send("POST", path, body, headers)
        log.append((kind, status, dt))
        if i % len(requests) == 0:
            status, dt = raw_request(
                port, "POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 5242880\r\n\r\n"
            )
            log.append(("413-unsent", status, dt))
            status, _, dt = Client(port).send("GET", "/score", None)
            log.append(("405", status, dt))
        stop.wait(0.05)


def raw_request(port: int, head: str) -> tuple[object, float]:
    t0 = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(head.encode())
            line = s.makefile("rb").readline()
            return (int(line.split()[1]) if line else "closed"), time.perf_counter() - t0
    except OSError as e:
        return type(e).__name__, time.perf_counter() - t0


def slow_traffic(port: int, stop: threading.Event, log: Log, headers_only: bool) -> None:
    """One slow client after another: trickles 2 bytes/s until the server answers or cuts it."""
    body = json.dumps({"samples": []}).encode() * 100
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                head = (
                    b"POST /score HTTP/1.1\r\n"
                    if headers_only
                    else (b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
                )
                s.sendall(head)
                s.settimeout(0.5)
                status: object = "cut"
                for i in range(10_000):
                    if stop.is_set():
                        status = "soak-ended"
                        break
                    try:
                        line = s.makefile("rb").readline()
                        status = int(line.split()[1]) if line else "cut"
                        break
                    except TimeoutError:
                        s.sendall(b"X" if headers_only else body[i : i + 1])
        except OSError as e:
            status = type(e).__name__
        if t0 < KILLED_AT[0] < time.perf_counter() and not isinstance(status, int):
            status = f"{status} (open across the kill)"
        log.append(("slow-headers" if headers_only else "slow-body", status, time.perf_counter() - t0))


def oversized_traffic(port: int, samples: list, stop: threading.Event, log: Log) -> None:
    big = []
    while len(body_of(big + samples[:8], "score")) < int(3.95 * 2**20):
        big += samples[:8]
    data, client = body_of(big, "score"), Client(port)
    while not stop.wait(2.0):
        status, _, dt = client.send("POST", "/score", data)
        log.append(("oversized-3.9MB", status, dt))


def start(workers: int) -> tuple:
    cmd = [sys.executable, "-m", "funrl.reward", "serve", "--port", "0", "--workers", str(workers)]
    cmd += ["--request-timeout", "10", "--max-request-mb", "4"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    port = int(line.split("http://127.0.0.1:")[1].split()[0])
    deadline = time.monotonic() + 30
    while len(descendants(proc.pid)) < workers and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc, port


def health(port: int) -> dict:
    status, data, _ = Client(port).send("GET", "/health", None)
    return json.loads(data) if status == 200 else {"status": status}


def report(log: Log, bad: list, rss_before: dict, rss_after: dict, end_health: dict, wall: float) -> None:
    by_kind: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for kind, status, _ in log:
        by_kind[kind][status] += 1
    answered = sum(isinstance(st, int) for _, st, _ in log)
    print(f"{len(log)} requests in {wall:.0f} s; {answered} answered with a status")
    for kind, counts in sorted(by_kind.items()):
        print(f"  {kind:<16}" + ", ".join(f"{st}: {n}" for st, n in counts.most_common()))
    lat = sorted(dt for kind, st, dt in log if kind == "valid" and st == 200)
    if lat:
        p50, p99 = (1000 * lat[min(len(lat) - 1, int(q * len(lat)))] for q in (0.5, 0.99))
        print(
            f"valid requests: {len(lat)} answered 200, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {1000 * lat[-1]:.0f} ms"
        )
    print(f"verdict mismatches against the official checker: {len(bad)}")
    print(f"/health at the end: {json.dumps(end_health)}")
    print("worker RSS before: " + ", ".join(f"{p}: {m:.0f} MiB" for p, m in rss_before.items()))
    print("worker RSS after:  " + ", ".join(f"{p}: {m:.0f} MiB" for p, m in rss_after.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()
    samples = load_samples(args.samples, 0)
    proc, port = start(args.workers)
    log: Log = []
    bad: list = []
    stop = threading.Event()
    rss_before = {p: rss_mb(p) for p in descendants(proc.pid)}
    threads = [
        threading.Thread(target=valid_traffic, args=(port, samples, stop, log, bad, k)) for k in range(4)
    ]
    threads.append(threading.Thread(target=hostile_traffic, args=(port, samples, stop, log)))
    threads += [threading.Thread(target=slow_traffic, args=(port, stop, log, False)) for _ in range(16)]
    threads += [threading.Thread(target=slow_traffic, args=(port, stop, log, True)) for _ in range(4)]
    threads.append(threading.Thread(target=oversized_traffic, args=(port, samples, stop, log)))
    t0 = time.monotonic()
    try:
        for t in threads:
            t.start()
        time.sleep(args.seconds / 2)
        victim = min(descendants(proc.pid))
        KILLED_AT[0] = time.perf_counter()
        os.kill(victim, signal.SIGKILL)
        print(f"SIGKILLed worker {victim} at {time.monotonic() - t0:.0f} s", flush=True)
        time.sleep(args.seconds / 2)
        stop.set()
        for t in threads:
            t.join(timeout=40)
        wall = time.monotonic() - t0
        rss_after = {p: rss_mb(p) for p in descendants(proc.pid)}
        end_health = health(port)
    finally:
        stop.set()
        proc.terminate()
        code = proc.wait(timeout=20)
    report(log, bad, rss_before, rss_after, end_health, wall)
    print(f"server exit status after SIGTERM: {code}; its stderr: {proc.stderr.read().strip()!r}")


if __name__ == "__main__":
    main()
