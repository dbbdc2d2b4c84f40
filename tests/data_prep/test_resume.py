"""kill -9 in the middle of stage 0 and again in the middle of stage 1, then resume: the outputs equal
an uninterrupted run's, no sample is lost or duplicated, and no journaled request is sent again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pyarrow.parquet as pq
from funrl.data_prep.config import InputConfig, load_config
from funrl.data_prep.pipeline import run_all
from funrl.data_prep.readers import read_input
from funrl.data_prep.records import Sample
from funrl.data_prep.scripted_endpoints import ScriptedTeacherJudge

from funrl.toy.scripted_server import OpenAIServer

N = 40
TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {
            "city": {"type": "str", "description": "city"},
            "days": {"type": "int", "description": "days"},
        },
    }
]


def _write_inputs(path):
    rows = [
        {
            "id": i,
            "query": f"Weather in Town{i} for {i % 5 + 1} days?",
            "tools": json.dumps(TOOLS),
            "answers": json.dumps(
                [{"name": "get_weather", "arguments": {"city": f"Town{i}", "days": i % 5 + 1}}]
            ),
        }
        for i in range(N)
    ]
    path.write_text(json.dumps(rows))


def _journal_keys(path) -> set[str]:
    if not path.exists():
        return set()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {row[0] for row in db.execute("SELECT key FROM replies")}
    except sqlite3.OperationalError:  # table not created yet
        return set()
    finally:
        db.close()


def _tables(work_dir):
    return [pq.read_table(work_dir / f).to_pylist() for f in ("sft.parquet", "rl.parquet")]


def test_kill_9_and_resume(tmp_path):
    data = tmp_path / "rows.json"
    _write_inputs(data)
    samples = [s for s in read_input(InputConfig(path=str(data), format="xlam")) if isinstance(s, Sample)]
    model = ScriptedTeacherJudge(samples, wrong_first=[f"rows:{i}" for i in range(0, N, 4)])
    with OpenAIServer(model, latency_s=0.04) as server:

        def config(work_dir) -> dict:
            ep = {
                "base_url": server.base_url,
                "model": "loopback",
                "concurrency": 4,
                "backoff_initial_s": 0.01,
            }
            return {
                "inputs": [{"path": str(data), "format": "xlam"}],
                "work_dir": str(work_dir),
                "progress": False,
                "generate": {"endpoint": ep},
                "judge": {"endpoint": {**ep, "model": "loopback-judge"}},  # same server, separate judge
            }

        # The reference: one uninterrupted run.
        run_all(load_config(None, [f"{k}={json.dumps(v)}" for k, v in config(tmp_path / "ref").items()]))
        reference_requests = len(server.log)
        # Per sample: 1 generation + 5 checks. A fixed one: its first round stops at call_params (no format
        # check), then 1 regeneration + 4 checks (query_tool_fit is not asked again): 4 more requests.
        assert reference_requests == N * (1 + 5) + (N // 4) * 4

        work = tmp_path / "killed"
        cfg_file = tmp_path / "prep.yaml"
        cfg_file.write_text(json.dumps(config(work)))
        journal = work / "journal.sqlite"
        command = [sys.executable, "-m", "funrl.data_prep", "all", "--config", str(cfg_file)]

        segments = []  # (journal keys before the run, server log slice of the run)
        for kill_at in (N // 2, N + 3 * N):  # mid stage 0 (40 generations), then mid stage 1
            before_keys, start = _journal_keys(journal), len(server.log)
            proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 120
            while len(_journal_keys(journal)) < kill_at:
                assert proc.poll() is None, f"finished before the kill: {proc.stderr.read().decode()[-2000:]}"
                assert time.monotonic() < deadline
                time.sleep(0.005)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            assert proc.returncode == -signal.SIGKILL
            segments.append((before_keys, start, len(server.log)))

        before_keys, start = _journal_keys(journal), len(server.log)
        done = subprocess.run(command, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        segments.append((before_keys, start, len(server.log)))

        # No request whose reply was journaled was ever sent again.
        for before, first, last in segments:
            resent = before & {r.key for r in server.log[first:last]}
            assert not resent, f"{len(resent)} journaled requests were sent again"
        # At most the requests in flight at each kill (<= concurrency 4 per role) were lost and re-asked.
        killed_requests = len(server.log) - reference_requests
        assert reference_requests <= killed_requests <= reference_requests + 2 * 2 * 4
        assert not server.errors

    assert _tables(work) == _tables(tmp_path / "ref")
    sft, rl = _tables(work)
    assert len(rl) == len({r["extra_info"]["sample_id"] for r in rl}) == N
    assert sorted(r["sample_id"] for r in sft) == sorted(s.id for s in samples)
    assert len(_journal_keys(journal)) == len(_journal_keys(tmp_path / "ref" / "journal.sqlite"))
