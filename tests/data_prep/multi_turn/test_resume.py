"""kill -9 at several moments of Phases II-III, then resume: the outputs equal an uninterrupted run's
(nothing lost, nothing duplicated) and no request whose reply was journaled is ever sent again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
from funrl.data_prep.multi_turn.config import load_config
from funrl.data_prep.multi_turn.pipeline import run_multi_turn
from funrl.data_prep.multi_turn.scripted import ScriptedRoles

from funrl.toy.scripted_server import OpenAIServer

CONCURRENCY = 4


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


def _outputs(work) -> tuple:
    texts = tuple(
        (work / f).read_text() for f in ("trajectories.jsonl", "drops.jsonl", "rl_multi_turn.jsonl")
    )
    return texts + (pq.read_table(work / "sft.parquet").to_pylist(),)


@pytest.mark.slow  # about 40 s: four pipeline processes
def test_kill_9_at_several_moments_and_resume(tmp_path):
    roles = ScriptedRoles(
        wrong_first={"cat", "place_order", "get_account_info"}, stubborn={"get_order_details"}
    )
    with OpenAIServer(roles, latency_s=0.02) as server:

        def config(work) -> dict:
            return {
                "work_dir": str(work),
                "trajectories": 12,
                "class_sets": [["GorillaFileSystem", "TradingBot"], ["TradingBot"]],
                "progress": False,
                "query_writer": {
                    "base_url": server.base_url,
                    "model": "loopback",
                    "concurrency": CONCURRENCY,
                    "backoff_initial_s": 0.01,
                },
            }

        run_multi_turn(
            load_config(None, [f"{k}={json.dumps(v)}" for k, v in config(tmp_path / "ref").items()])
        )
        reference_requests = len(server.log)
        assert reference_requests > 100

        work = tmp_path / "killed"
        cfg_file = tmp_path / "mt.yaml"
        cfg_file.write_text(json.dumps(config(work)))
        journal = work / "journal.sqlite"
        command = [sys.executable, "-m", "funrl.data_prep", "multi_turn", "--config", str(cfg_file)]
        segments = []  # (journal keys before the run, first and last index of its requests in the log)
        for kill_at in (3, 40, 90):
            before, start = _journal_keys(journal), len(server.log)
            proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 120
            while len(_journal_keys(journal)) < kill_at:
                assert proc.poll() is None, f"finished before the kill: {proc.stderr.read().decode()[-2000:]}"
                assert time.monotonic() < deadline
                time.sleep(0.005)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            assert proc.returncode == -signal.SIGKILL
            assert not (work / "trajectories.jsonl").exists()  # outputs are written whole, at the end
            segments.append((before, start, len(server.log)))
        before, start = _journal_keys(journal), len(server.log)
        done = subprocess.run(command, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        segments.append((before, start, len(server.log)))

        for before, first, last in segments:  # 0 repeated requests
            resent = before & {r.key for r in server.log[first:last]}
            assert not resent, f"{len(resent)} journaled requests were sent again"
        # only requests in flight at a kill (at most CONCURRENCY per role) were lost and asked again
        assert (
            reference_requests
            <= len(server.log) - reference_requests
            <= reference_requests + 3 * 3 * CONCURRENCY
        )
        assert not server.errors

    assert _outputs(work) == _outputs(tmp_path / "ref")  # 0 lost, 0 duplicated
    trajectories = [json.loads(x) for x in (work / "trajectories.jsonl").read_text().splitlines()]
    assert len({t["id"] for t in trajectories}) == len(trajectories) > 0
    assert len(_journal_keys(journal)) == len(_journal_keys(tmp_path / "ref" / "journal.sqlite"))
