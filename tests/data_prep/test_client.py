"""The endpoint client against a real loopback HTTP server: one test per fault, concurrency, journal."""

from __future__ import annotations

import asyncio
import time

import pytest
from funrl.data_prep.client import ChatClient, EndpointError
from funrl.data_prep.config import EndpointConfig
from funrl.data_prep.journal import Journal, request_key

from funrl.toy.scripted_server import OpenAIServer

MESSAGES = [{"role": "user", "content": "hello"}]


@pytest.fixture
def server():
    with OpenAIServer() as srv:
        yield srv


def _client(server: OpenAIServer, tmp_path, **overrides) -> ChatClient:
    cfg = EndpointConfig(
        base_url=server.base_url,
        model="loopback",
        timeout_s=5.0,
        max_retries=3,
        backoff_initial_s=0.01,
        backoff_max_s=0.05,
        concurrency=4,
    )
    for k, v in overrides.items():
        setattr(cfg, k, v)
    return ChatClient(cfg, Journal(tmp_path / "journal.sqlite"))


def _run(coro):
    return asyncio.run(coro)


async def _complete_and_close(client: ChatClient, logical_id: str = "req/1"):
    try:
        return await client.complete(logical_id, MESSAGES)
    finally:
        await client.aclose()


def test_plain_request_is_answered_and_journaled(server, tmp_path):
    client = _client(server, tmp_path)
    entry = _run(_complete_and_close(client))
    assert entry.content == "echo: hello" and entry.error is None
    key = request_key("req/1", client.body(MESSAGES))
    assert server.keys() == [key]  # the request carries its journal key
    assert Journal(tmp_path / "journal.sqlite").get(key).content == "echo: hello"


@pytest.mark.parametrize("kind", ["http_500", "http_429"])
def test_error_status_is_retried_then_succeeds(server, tmp_path, kind):
    server.add_fault(kind, times=2)
    client = _client(server, tmp_path)
    entry = _run(_complete_and_close(client))
    assert entry.content == "echo: hello"
    assert client.stats.retries == {kind: 2}
    assert [r.status for r in server.log] == [int(kind[5:]), int(kind[5:]), 200]
    assert len(set(server.keys())) == 1  # the same request, three times


def test_timeout_is_retried(server, tmp_path):
    server.add_fault("timeout", times=1, delay_s=5.0)
    client = _client(server, tmp_path, timeout_s=0.3)
    start = time.monotonic()
    entry = _run(_complete_and_close(client))
    assert entry.content == "echo: hello"
    assert client.stats.retries == {"timeout": 1}
    assert time.monotonic() - start < 3.0  # did not wait for the hung reply


def test_malformed_reply_is_retried(server, tmp_path):
    server.add_fault("malformed", times=2)
    client = _client(server, tmp_path)
    entry = _run(_complete_and_close(client))
    assert entry.content == "echo: hello"
    assert client.stats.retries == {"malformed": 2}


def test_reply_without_content_counts_as_malformed(tmp_path):
    answers = iter([{"id": "x", "object": "chat.completion", "choices": []}, "fine"])
    with OpenAIServer(lambda body: next(answers)) as srv:
        client = _client(srv, tmp_path)
        entry = _run(_complete_and_close(client))
    assert entry.content == "fine"
    assert client.stats.retries == {"malformed": 1}


def test_client_error_is_journaled_not_retried(server, tmp_path):
    server.add_fault("http_400", times=1)
    client = _client(server, tmp_path)
    entry = _run(_complete_and_close(client))
    assert entry.content is None and entry.error.startswith("http_400")
    assert len(server.log) == 1
    # Asked again (e.g. after a restart): answered from the journal, not re-sent.
    again = _client(server, tmp_path)
    entry2 = _run(_complete_and_close(again))
    assert entry2.error == entry.error and len(server.log) == 1 and again.stats.reused == 1


def test_retries_exhausted_fail_loudly(server, tmp_path):
    server.add_fault("http_500", times=-1)
    client = _client(server, tmp_path, max_retries=2)
    with pytest.raises(EndpointError) as info:
        _run(_complete_and_close(client, "judge/s:1/0/0/format/0"))
    message = str(info.value)
    assert "judge/s:1/0/0/format/0" in message and "failed 3 times" in message
    assert "http_500" in message and "rerun the same command to resume" in message
    assert len(server.log) == 3
    assert len(Journal(tmp_path / "journal.sqlite")) == 0  # nothing recorded for the failed request


def test_journaled_reply_is_never_requested_again(server, tmp_path):
    _run(_complete_and_close(_client(server, tmp_path)))
    client = _client(server, tmp_path)
    entry = _run(_complete_and_close(client))
    assert entry.content == "echo: hello"
    assert len(server.log) == 1 and client.stats.reused == 1 and client.stats.sent == 0


def test_concurrency_is_bounded_and_used(tmp_path):
    with OpenAIServer(latency_s=0.1) as srv:
        client = _client(srv, tmp_path, concurrency=4)

        async def many():
            try:
                return await asyncio.gather(*(client.complete(f"req/{i}", MESSAGES) for i in range(16)))
            finally:
                await client.aclose()

        start = time.monotonic()
        entries = _run(many())
        elapsed = time.monotonic() - start
    assert all(e.content == "echo: hello" for e in entries)
    assert srv.max_in_flight == 4
    assert elapsed >= 0.4  # 16 requests / 4 at a time * 0.1 s


def test_latency_fault_delays_one_request(server, tmp_path):
    server.add_fault("latency", times=1, delay_s=0.3)
    start = time.monotonic()
    entry = _run(_complete_and_close(_client(server, tmp_path)))
    assert entry.content == "echo: hello" and time.monotonic() - start >= 0.3
