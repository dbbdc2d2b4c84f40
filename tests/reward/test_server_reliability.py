"""The reward server under slow clients, hostile bodies, bad samples and dead workers (issue #12, items
3, 4, 5, 7): a real server on 127.0.0.1 (in a subprocess where processes are killed), bounded in time."""

from __future__ import annotations

import http.client
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from funrl.reward.serve import RewardServer, ServeConfig

from .test_server import GOLD, GT, PROMPT, WRONG

HEAD = b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"


@pytest.fixture(scope="module")
def server():
    cfg = ServeConfig(port=0, max_concurrent=2, timeout_s=10, request_timeout_s=2.0, token=None)
    with RewardServer(cfg) as s:
        yield s


def post(port: int, path: str, body: object, *, headers: dict | None = None, timeout: float = 10) -> tuple:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request("POST", path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    resp = conn.getresponse()
    out = json.loads(resp.read())
    conn.close()
    return resp.status, out


def get_health(port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/health")
    out = json.loads(conn.getresponse().read())
    conn.close()
    return out


def read_reply(sock: socket.socket) -> tuple[int | None, bytes]:
    """(status, body) of the reply on ``sock``; (None, b"") when the server closed without one."""
    f = sock.makefile("rb")
    line = f.readline()
    if not line:
        return None, b""
    headers = {}
    while (h := f.readline().strip()) != b"":
        k, v = h.decode().split(":", 1)
        headers[k.strip().lower()] = v.strip()
    return int(line.split()[1]), f.read(int(headers["content-length"]))


# ----------------------------------------------------------------------------------------------------
# Item 3: slow bodies hold no scoring slot, and a whole request has a deadline


def test_slow_bodies_do_not_starve_scoring(server):
    """8 clients trickle their bodies (more than the 2 scoring slots); a normal request is answered
    meanwhile, and each slow client gets 408 once its request deadline (2 s) has passed."""
    body = json.dumps({"samples": [{"response": GOLD, "ground_truth": GT}]}).encode()
    slow = []
    for _ in range(8):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(HEAD % len(body) + body[:5])
        slow.append(s)
    stop = threading.Event()

    def trickle() -> None:  # one byte per slow client every 0.2 s: never done within the deadline
        for i in range(5, len(body) - 1):
            for s in slow:
                try:
                    s.sendall(body[i : i + 1])
                except OSError:
                    pass
            if stop.wait(0.2):
                return

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    try:
        time.sleep(0.5)  # the slow clients are all mid-body now
        t0 = time.monotonic()
        status, out = post(
            server.port, "/score", {"samples": [{"response": GOLD, "ground_truth": GT}]}, timeout=5
        )
        assert status == 200 and out["results"][0]["score"] == 1.0
        assert time.monotonic() - t0 < 1.5  # not queued behind the slow bodies (the deadline is 2 s)
        for s in slow:
            status, data = read_reply(s)
            assert status == 408 and b"--request-timeout=2s" in data
    finally:
        stop.set()
        for s in slow:
            s.close()


def test_header_trickle_is_cut_at_the_deadline(server):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    t0 = time.monotonic()
    s.sendall(b"POST /score HTTP/1.1\r\n")
    try:
        for _ in range(40):  # one header byte every 0.1 s: each read is quick, the request never ends
            s.sendall(b"X")
            time.sleep(0.1)
    except OSError:
        pass  # the server has already closed the connection
    status, _ = read_reply(s) if s.fileno() >= 0 else (None, b"")
    s.close()
    assert status is None  # cut without a reply ...
    assert time.monotonic() - t0 < 4.5  # ... at its deadline (2 s + 1 s grace), not when the client stops


# ----------------------------------------------------------------------------------------------------
# Item 4: linear-time end-token stripping


@pytest.mark.timeout(30)
def test_600k_end_tokens_are_stripped(server):
    query = PROMPT + GOLD + "</s>" * 600_000  # 2.4 MB; the quadratic strip took ~50 s: this bound fails it
    body = {"query": [query, PROMPT + WRONG + " </s>\n" * 1000], "prompts": [PROMPT] * 2, "labels": [GT] * 2}
    status, out = post(server.port, "/get_reward", body, timeout=25)
    assert status == 200 and out["rewards"] == [1.0, 0.0]


# ----------------------------------------------------------------------------------------------------
# Item 7: a bad sample is that sample's error; bad labels and nesting bombs are 400


def _bad_ground_truths() -> dict[str, object]:
    gt = json.loads(GT)
    bad_fmt = dict(gt, fmt="nope")
    name_list = json.loads(GT)
    name_list["functions"][0]["name"] = ["get_weather"]
    deep = "[" * 100_000 + "]" * 100_000
    return {"fmt": bad_fmt, "name": name_list, "deep": deep}


def test_one_bad_sample_never_fails_the_batch(server):
    bad = _bad_ground_truths()
    samples = [{"response": GOLD, "ground_truth": GT}]
    samples += [{"response": GOLD, "ground_truth": g} for g in bad.values()]
    samples += [{"response": WRONG, "ground_truth": GT}, {"response": ["not", "text"], "ground_truth": GT}]
    status, out = post(server.port, "/score", {"samples": samples})
    assert status == 200 and out["n"] == 6 and out["n_rejected"] == 4
    res = out["results"]
    assert [r["score"] for r in res] == [1.0, None, None, None, 0.0, None]
    assert all(r["error_type"] == "request_error:ground_truth" for r in res[1:4])
    assert "samples[1].ground_truth" in res[1]["errors"][0] and "'nope'" in res[1]["errors"][0]
    assert "samples[2].ground_truth: functions[0].name" in res[2]["errors"][0]
    # a GroundTruthError from the reward's loader (#12 item 9), no longer a RecursionError
    assert res[3]["errors"] == ["samples[3].ground_truth: ground_truth: not valid JSON (nests too deep)"]
    assert res[5]["error_type"] == "request_error:response"


@pytest.mark.parametrize("which", ["fmt", "name", "deep"])
def test_get_reward_bad_label_is_400_naming_it(server, which):
    label = _bad_ground_truths()[which]
    body = {"query": [PROMPT + GOLD] * 3, "prompts": [PROMPT] * 3, "labels": [GT, GT, label]}
    status, out = post(server.port, "/get_reward", body)
    assert status == 400 and out["error"]["message"].startswith("labels[2]: ")


@pytest.mark.parametrize("path", ["/score", "/get_reward"])
def test_deeply_nested_json_body_is_400(server, path):
    status, out = post(server.port, path, b"[" * 100_000 + b"]" * 100_000)
    assert status == 400 and "nests too deeply" in out["error"]["message"]
    assert get_health(server.port)["status"] == "ok"  # and the server serves on


def test_shared_token():
    with RewardServer(ServeConfig(port=0, token="s3cret")) as s:
        body = {"samples": [{"response": GOLD, "ground_truth": GT}]}
        assert post(s.port, "/score", body)[0] == 401
        assert post(s.port, "/score", body, headers={"Authorization": "Bearer wrong"})[0] == 401
        status, out = post(s.port, "/score", body, headers={"Authorization": "Bearer s3cret"})
        assert status == 200 and out["results"][0]["score"] == 1.0
        assert get_health(s.port)["status"] == "ok"  # /health needs no token


def test_connection_limit_answers_503():
    with RewardServer(ServeConfig(port=0, max_connections=2)) as s:
        held = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(2)]
        time.sleep(0.2)
        extra = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        assert read_reply(extra)[0] == 503
        extra.close()
        for h in held:
            h.close()
        time.sleep(0.2)
        assert get_health(s.port)["status"] == "ok"  # slots come back when connections close


# ----------------------------------------------------------------------------------------------------
# Item 5: dead workers are replaced, counted in /health; none left -> the parent exits non-zero


def start_cli(*args: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "funrl.reward", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if "listening on http://127.0.0.1:" not in line:
        proc.kill()
        pytest.fail(line + proc.stderr.read())
    return proc, int(line.split("http://127.0.0.1:")[1].split()[0])


def children(pid: int) -> set[int]:
    path = pathlib.Path(f"/proc/{pid}/task/{pid}/children")
    if not path.exists():
        pytest.skip("needs Linux /proc to list a process's children")
    return {int(p) for p in path.read_text().split()}


def wait_for(predicate, timeout: float = 10.0):  # noqa: ANN001 - a test helper
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def test_killed_worker_is_replaced_and_counted():
    proc, port = start_cli("--workers", "2")
    try:
        before = wait_for(lambda: len(children(proc.pid)) == 2 and children(proc.pid))
        assert get_health(port)["workers"] == {"alive": 2, "configured": 2, "restarts": 0}
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        after = wait_for(lambda: (c := children(proc.pid)) and len(c) == 2 and victim not in c and c)
        assert after and victim not in after and len(after & before) == 1
        health = wait_for(lambda: (h := get_health(port))["workers"]["restarts"] == 1 and h)
        assert health["status"] == "ok" and health["workers"] == {"alive": 2, "configured": 2, "restarts": 1}
        assert health["pid"] in after
        body = {"samples": [{"response": GOLD, "ground_truth": GT}]}
        assert all(post(port, "/score", body)[1]["results"][0]["score"] == 1.0 for _ in range(4))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert "replaced" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_all_workers_dead_parent_exits_nonzero():
    proc, port = start_cli("--workers", "2", "--max-restarts", "1")
    try:
        first = wait_for(lambda: len(children(proc.pid)) == 2 and children(proc.pid))
        os.kill(min(first), signal.SIGKILL)  # replaced (the one restart allowed) ...
        second = wait_for(lambda: (c := children(proc.pid)) and len(c) == 2 and min(first) not in c and c)
        assert get_health(port)["workers"]["restarts"] == 1
        for pid in second:  # ... then both die: no restart left, so no worker can serve
            os.kill(pid, signal.SIGKILL)
        assert proc.wait(timeout=15) == 1
        err = proc.stderr.read()
        assert "not replaced" in err and "no worker left" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_health_reports_degraded_when_a_worker_is_not_replaced():
    proc, port = start_cli("--workers", "2", "--max-restarts", "0")
    try:
        pids = wait_for(lambda: len(children(proc.pid)) == 2 and children(proc.pid))
        os.kill(min(pids), signal.SIGKILL)
        health = wait_for(lambda: (h := get_health(port))["workers"]["alive"] == 1 and h)
        assert health["status"] == "degraded" and health["workers"] == {
            "alive": 1,
            "configured": 2,
            "restarts": 0,
        }
        assert health["pid"] == max(pids)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_unbindable_address_exits_nonzero():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "funrl.reward", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert out.returncode == 1 and "cannot listen" in out.stderr
