"""Throughput of the multi-turn pipeline against a loopback server with a fixed latency.

    python -m funrl.data_prep.multi_turn.benchmark --trajectories 256 --latency 0.1 --concurrency 64

The scripted roles run in a separate server process (``funrl.toy.scripted_server``), so client and
server do not share one GIL. Reported: the graph build (once per process), Phase I time, Phases II-III
time (the run minus a second, identical Phase I), requests, trajectories per minute, and the ideal: ``concurrency / latency`` requests per second divided by the requests one
trajectory needs (each request of a trajectory waits for the one before it, and at most ``concurrency``
are in flight).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

from .config import load_config
from .graph import build_graph
from .pipeline import run_multi_turn, walk_all


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "funrl.toy.scripted_server", "--responder"]
    cmd += ["funrl.data_prep.multi_turn.scripted:all_pass", "--latency", str(latency)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().split()
    if line[:1] != ["LISTENING"]:
        proc.kill()
        raise RuntimeError(f"loopback server did not start: {line}")
    return proc, f"http://127.0.0.1:{line[1]}/v1"


def bench(trajectories: int, latency: float, concurrency: int, rounds: int) -> dict:
    proc, url = start_server(latency)
    try:
        with tempfile.TemporaryDirectory() as work:
            cfg = load_config(
                None,
                [
                    f"work_dir={work}",
                    f"trajectories={trajectories}",
                    f"walk.rounds={rounds}",
                    "progress=false",
                    f"query_writer.base_url={url}",
                    "query_writer.model=loopback",
                    f"query_writer.concurrency={concurrency}",
                ],
            )
            start = time.perf_counter()
            for classes in cfg.class_sets:  # probed once per process: timed apart from the walks
                build_graph(tuple(classes))
            graph_s = time.perf_counter() - start
            start = time.perf_counter()
            walk_all(cfg)
            phase_1 = time.perf_counter() - start
            start, cpu = time.perf_counter(), time.process_time()
            report = run_multi_turn(cfg)  # walks again (deterministic), then Phases II-III and export
            total, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        proc.kill()
        proc.wait()
    requests = sum(r["sent"] for r in report["requests"].values())
    kept = report["kept"]["trajectories"]
    per_traj = requests / trajectories
    ideal = concurrency / latency / per_traj * 60
    rest = total - phase_1
    return {
        "trajectories": trajectories,
        "kept": kept,
        "requests": requests,
        "requests_per_trajectory": round(per_traj, 2),
        "graph_build_s": round(graph_s, 2),
        "phase_1_s": round(phase_1, 2),
        "pipeline_cpu_s": round(cpu, 2),  # the client process's CPU time over the whole run
        "phases_2_3_and_export_s": round(rest, 2),
        "trajectories_per_min_phases_2_3": round(trajectories / rest * 60, 1),
        "trajectories_per_min_all": round(trajectories / total * 60, 1),
        "ideal_trajectories_per_min": round(ideal, 1),
        "share_of_ideal_phases_2_3": round(trajectories / rest * 60 / ideal, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trajectories", type=int, default=256)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(bench(args.trajectories, args.latency, args.concurrency, args.rounds), indent=1))


if __name__ == "__main__":
    main()
