"""The reward over real HTTP on 127.0.0.1: OpenRLHF's protocol, /score, bounds, bad requests, concurrency."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading

import pytest
from funrl.reward import ground_truth_json, score
from funrl.reward.serve import RewardServer, ServeConfig, response_of

from tests.conftest import WEATHER_FUNCTIONS

FUNCTIONS = WEATHER_FUNCTIONS
ANSWER = [{"get_weather": {"city": ["Paris"], "unit": ["celsius", ""]}}]
GT = ground_truth_json(FUNCTIONS, ANSWER, "simple", fmt="think_answer")
GOLD = "<think>Paris.</think><answer>[get_weather(city='Paris')]</answer>"
WRONG = "<think>Rome.</think><answer>[get_weather(city='Rome')]</answer>"
UNREADABLE = "<think>hmm</think><answer>[get_weather(city='Paris'</answer>"
PROMPT = "<|im_start|>system\nCall functions.<|im_end|>\n<|im_start|>user\nParis?<|im_end|>\n<|im_start|>assistant\n"
LIMITS = ServeConfig(port=0, max_request_bytes=64 * 1024, max_samples=50, max_concurrent=4, timeout_s=10)


@pytest.fixture(scope="module")
def server():
    with RewardServer(LIMITS) as s:
        yield s


def request(server, method, path, body=None, *, raw=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    resp = conn.getresponse()
    payload = json.loads(resp.read())
    conn.close()
    return resp.status, payload


def test_health(server):
    status, body = request(server, "GET", "/health")
    assert status == 200 and body["status"] == "ok" and body["pid"] == os.getpid()


def test_score_endpoint_per_sample_verdicts_and_errors(server):
    samples = [
        {"response": GOLD, "ground_truth": GT},
        {"response": WRONG, "ground_truth": json.loads(GT)},  # a decoded object is accepted too
        {"response": UNREADABLE, "ground_truth": GT},
        {"response": GOLD, "ground_truth": GT.replace('"string"', '"str"', 1)},  # malformed ground truth
        {"ground_truth": GT},  # no response
        "not an object",
        {"response": GOLD},  # no ground truth
        {"response": GOLD, "ground_truth": GT, "fmt": "yaml"},
    ]
    status, body = request(server, "POST", "/score", {"samples": samples})
    assert status == 200
    assert body["n"] == 8 and body["n_rejected"] == 5
    res = body["results"]
    kw = {"functions": FUNCTIONS, "possible_answer": ANSWER, "category": "simple", "fmt": "think_answer"}
    for got, text in zip(res[:3], (GOLD, WRONG, UNREADABLE)):
        want = score(text, **kw)  # the in-process reward is the reference
        assert got == {
            "score": float(want),
            "format_ok": want.format_ok,
            "error_type": want.error_type,
            "errors": want.errors,
        }
    assert [r["score"] for r in res[:3]] == [1.0, 0.0, 0.0]
    assert res[1]["error_type"] == "value_error:string"
    assert res[2]["error_type"].startswith("format_error:") and res[2]["format_ok"] is False
    assert res[3]["score"] is None and res[3]["error_type"] == "request_error:ground_truth"
    assert "samples[3].ground_truth" in res[3]["errors"][0] and "'str'" in res[3]["errors"][0]
    assert res[4] == {
        "score": None,
        "error_type": "request_error:response",
        "errors": ["samples[4].response: missing or not a string"],
    }
    assert res[5]["error_type"] == "request_error:sample" and "samples[5]" in res[5]["errors"][0]
    assert res[6]["error_type"] == "request_error:ground_truth" and "missing" in res[6]["errors"][0]
    assert res[7]["error_type"] == "request_error:override" and "samples[7].fmt" in res[7]["errors"][0]


def test_score_fmt_overrides_sample_over_request(server):
    python_text = "[get_weather(city='Paris')]"
    samples = [
        {"response": python_text, "ground_truth": GT},
        {"response": GOLD, "ground_truth": GT, "fmt": "answer"},
    ]
    _, as_is = request(server, "POST", "/score", {"samples": samples})
    _, python = request(server, "POST", "/score", {"samples": samples, "fmt": "python"})
    assert [r["score"] for r in as_is["results"]] == [0.0, 1.0]  # the ground truth says think_answer
    assert [r["score"] for r in python["results"]] == [
        1.0,
        1.0,
    ]  # the sample's own fmt wins over the request's
    status, body = request(server, "POST", "/score", {"samples": samples, "require_think": "yes"})
    assert status == 400 and "body.require_think" in body["error"]["message"]


def test_openrlhf_protocol(server):
    pad = "<|endoftext|>" * 3  # OpenRLHF decodes left-padded sequences with special tokens
    queries = [
        pad + PROMPT + GOLD + "<|im_end|><|endoftext|><|endoftext|>",
        PROMPT + WRONG + "<|im_end|>",
        PROMPT + UNREADABLE,
    ]
    body = {"query": queries, "prompts": [PROMPT] * 3, "labels": [GT] * 3}
    status, out = request(server, "POST", "/get_reward", body)
    assert status == 200
    assert out == {
        "rewards": [1.0, 0.0, 0.0],
        "scores": [1.0, 0.0, 0.0],
        "extra_logs": {"format_ok": [1.0, 1.0, 0.0]},
    }


def test_response_of_strips_end_tokens_only_at_the_end():
    toks = ("<|im_end|>", "<|endoftext|>")
    assert (
        response_of("xxPROMPT a <|im_end|> b<|im_end|>\n<|endoftext|>", "PROMPT", toks) == " a <|im_end|> b"
    )
    assert response_of("no prompt here", "PROMPT", toks) is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": [PROMPT + GOLD], "prompts": [PROMPT]}, "labels: missing"),
        (
            {"query": [PROMPT + GOLD], "prompts": [PROMPT], "labels": [GT, GT]},
            "labels: 2 items for 1 queries",
        ),
        ({"query": [PROMPT + GOLD, "elsewhere"], "prompts": [PROMPT] * 2, "labels": [GT] * 2}, "query[1]"),
        (
            {"query": [PROMPT + GOLD] * 2, "prompts": [PROMPT] * 2, "labels": [GT, '{"functions": 1}']},
            "labels[1]",
        ),
        ({"query": [PROMPT + GOLD], "prompts": [PROMPT], "labels": [None]}, "labels[0]"),
        ([1, 2], "body: expected a JSON object"),
    ],
)
def test_openrlhf_bad_requests_fail_loudly(server, body, field):
    status, out = request(server, "POST", "/get_reward", body)
    assert status == 400
    assert field in out["error"]["message"]


def test_bad_http_requests(server):
    assert request(server, "POST", "/score", raw=b"{not json")[0] == 400
    status, out = request(server, "POST", "/score", {"items": []})
    assert status == 400 and out["error"]["message"].startswith("samples:")
    assert request(server, "POST", "/nowhere", {})[0] == 404
    assert request(server, "GET", "/score")[0] == 405
    too_many = {"samples": [{"response": GOLD, "ground_truth": GT}] * 51}
    status, out = request(server, "POST", "/score", too_many)
    assert status == 413 and "--max-samples=50" in out["error"]["message"]


def raw_exchange(server, head: bytes, body: bytes = b"") -> tuple[int, bytes, bool]:
    """Send raw bytes; return (status, response body, whether the server then closed the connection)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(head + body)
    f = sock.makefile("rb")
    status = int(f.readline().split()[1])
    headers = {}
    while (line := f.readline().strip()) != b"":
        k, v = line.decode().split(":", 1)
        headers[k.strip().lower()] = v.strip()
    data = f.read(int(headers["content-length"]))
    closed = f.read(1) == b""  # EOF: the server closed its side
    sock.close()
    return status, data, closed


def test_oversized_body_refused_before_it_is_read(server):
    head = b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
    status, data, closed = raw_exchange(server, head)  # the 10 MB body is never sent: no read is waited on
    assert status == 413 and closed
    assert "10000000 bytes" in json.loads(data)["error"]["message"]


def test_missing_content_length_and_chunked_are_refused(server):
    status, _, closed = raw_exchange(server, b"POST /score HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 411 and closed
    head = b"POST /score HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    status, data, closed = raw_exchange(server, head, b"2\r\n{}\r\n0\r\n\r\n")
    assert status == 411 and closed and b"chunked" in data


def test_keep_alive_and_concurrent_clients(server):
    body = {"samples": [{"response": GOLD, "ground_truth": GT}, {"response": WRONG, "ground_truth": GT}] * 10}
    failures: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        for _ in range(15):  # one connection, many requests
            conn.request(
                "POST", "/score", body=json.dumps(body), headers={"Content-Type": "application/json"}
            )
            resp = conn.getresponse()
            out = json.loads(resp.read())
            if resp.status != 200 or [r["score"] for r in out["results"]] != [1.0, 0.0] * 10:
                failures.append(f"{resp.status}: {out}")
        conn.close()

    # A stalled client holds a half-sent body; the others must still be served meanwhile.
    stalled = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    stalled.sendall(b'POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"samples": [')
    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    stalled.close()
    assert not failures, failures[:3]
    assert all(not t.is_alive() for t in threads)


def test_cli_serve_with_two_workers_and_sigterm(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "funrl.reward", "serve", "--port", "0", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line + proc.stderr.read()
        port = int(line.split("http://127.0.0.1:")[1].split()[0])
        pids = set()
        for _ in range(6):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(
                "POST", "/score", body=json.dumps({"samples": [{"response": GOLD, "ground_truth": GT}]})
            )
            resp = conn.getresponse()
            assert resp.status == 200 and json.loads(resp.read())["results"][0]["score"] == 1.0
            conn.request("GET", "/health")
            health = json.loads(conn.getresponse().read())
            pids.add(health["pid"])
            conn.close()
        assert proc.pid not in pids  # answered by forked workers, not the parent
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
