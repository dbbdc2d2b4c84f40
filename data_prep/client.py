"""Async chat client for an OpenAI-compatible endpoint: bounded concurrency, retries, journaled replies.

    client = ChatClient(endpoint_cfg, journal)
    reply = await client.complete("judge/xlam:7/0/0/format/0", messages)   # -> Entry(content, error)

- At most ``concurrency`` requests are in flight (a slot is held only while a request is on the wire,
  not during a backoff).
- 429, 5xx, timeouts, connection errors and malformed replies are retried ``max_retries`` times with
  exponential backoff and jitter (a 429's Retry-After is honoured, capped at ``backoff_max_s``). When the
  retries run out, :class:`EndpointError` stops the run, saying what failed and that a rerun resumes.
- Any other 4xx concerns this one request (e.g. a prompt too long): it is journaled as an error, and the
  sample is dropped with that reason instead of stopping the run.
- Every reply is journaled before it is returned; a journaled request is never sent again. A reply that
  no UTF-8 store can hold (a lone surrogate) is journaled as a ``bad_reply`` error: its sample is dropped
  with that reason, and neither this run nor a rerun stops on it.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
from dataclasses import dataclass, field

import openai

from .config import EndpointConfig
from .journal import Entry, Journal, encode_body, request_key

REQUEST_KEY_HEADER = "X-Request-Key"
CONNECTIONS_PER_CLIENT = 8


class EndpointError(RuntimeError):
    """An endpoint kept failing after every retry; the run stops (a rerun resumes from the journal)."""


class MalformedReply(ValueError):
    pass


@dataclass
class ClientStats:
    sent: int = 0  # HTTP requests made, retries included
    replies: int = 0  # replies journaled by this process
    reused: int = 0  # replies taken from the journal instead of the endpoint
    retries: dict[str, int] = field(default_factory=dict)  # retried failures by kind
    request_errors: int = 0  # non-retryable per-request failures (journaled)


def _retryable_kind(exc: BaseException) -> str | None:
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection"
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429:
            return "http_429"
        if exc.status_code >= 500 or exc.status_code == 408:
            return f"http_{exc.status_code}"
        return None
    if isinstance(exc, (MalformedReply, json.JSONDecodeError, openai.APIResponseValidationError)):
        return "malformed"
    return None


def _content(raw: str) -> str:
    """The assistant text of a chat completion body; MalformedReply when there is none."""
    try:
        content = json.loads(raw)["choices"][0]["message"]["content"]
    except (json.JSONDecodeError, KeyError, IndexError, TypeError) as e:
        raise MalformedReply(f"not a chat completion ({type(e).__name__}): {raw[:120]!r}") from None
    if not isinstance(content, str):
        raise MalformedReply(f"choices[0].message.content is not a string: {raw[:120]!r}")
    return content


def _message(raw: str) -> str:
    """A reply to a request with ``tools``: the assistant message as canonical JSON,
    ``{"content": text or null, "tool_calls": [{"id", "name", "arguments"}]}`` (a tools API may answer
    with calls and no text). MalformedReply when it has neither shape."""
    try:
        message = json.loads(raw)["choices"][0]["message"]
        content, calls = message.get("content"), message.get("tool_calls") or []
        tool_calls = [
            {"id": c.get("id"), "name": c["function"]["name"], "arguments": c["function"]["arguments"]}
            for c in calls
        ]
    except (json.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError) as e:
        raise MalformedReply(
            f"not a chat completion with tool calls ({type(e).__name__}): {raw[:120]!r}"
        ) from None
    if not (content is None or isinstance(content, str)) or not all(
        isinstance(c["name"], str) and isinstance(c["arguments"], str) for c in tool_calls
    ):
        raise MalformedReply(f"choices[0].message: content or tool_calls of the wrong type: {raw[:120]!r}")
    return json.dumps({"content": content, "tool_calls": tool_calls}, ensure_ascii=False)


class ChatClient:
    def __init__(self, cfg: EndpointConfig, journal: Journal, *, role: str = "endpoint") -> None:
        self.cfg = cfg
        self.journal = journal
        self.role = role
        self.stats = ClientStats()
        # httpcore scans every pooled connection for each request, so one client with 64 connections
        # spends more CPU per request than eight clients with 8 each. A slot = the right to one request
        # in flight on one client: ``concurrency`` slots spread over the clients bound both totals.
        n_clients = math.ceil(cfg.concurrency / CONNECTIONS_PER_CLIENT)
        plain_http = cfg.base_url.startswith("http://")
        self._clients = [
            openai.AsyncOpenAI(
                base_url=cfg.base_url,
                api_key=os.environ.get(cfg.api_key_env) or "EMPTY",
                timeout=cfg.timeout_s,
                max_retries=0,  # retries are ours: we decide what is retryable and journal the outcome
                # No TLS on plain http: skip loading the CA store (~35 ms of CPU per client).
                http_client=openai.DefaultAsyncHttpxClient(verify=False) if plain_http else None,
            )
            for _ in range(n_clients)
        ]
        self._slots: asyncio.Queue = asyncio.Queue()
        for i in range(cfg.concurrency):
            self._slots.put_nowait(self._clients[i % n_clients])

    def body(
        self, messages: list[dict], *, response_format: dict | None = None, tools: list[dict] | None = None
    ) -> dict:
        body = {
            "model": self.cfg.model,
            "messages": messages,
            "temperature": self.cfg.temperature,
            "max_tokens": self.cfg.max_tokens,
        }
        if response_format is not None:
            body["response_format"] = response_format
        if tools is not None:
            body["tools"] = tools
        return body

    async def complete(
        self,
        logical_id: str,
        messages: list[dict],
        *,
        response_format: dict | None = None,
        tools: list[dict] | None = None,
    ) -> Entry:
        """The reply to ``messages`` (journaled). With ``tools`` (an OpenAI tools list) the entry's
        content is the assistant message as JSON, ``{"content", "tool_calls"}`` (see ``_message``)."""
        body = self.body(messages, response_format=response_format, tools=tools)
        blob = encode_body(body)
        key = request_key(logical_id, blob)
        cached = self.journal.get(key)
        if cached is not None:
            self.stats.reused += 1
            return cached
        content, error = await self._send(logical_id, key, blob, with_tools=tools is not None)
        self.stats.replies += 1
        entry = self.journal.put(key, logical_id, content, error)
        if entry.error is not None and error is None:  # a reply SQLite cannot hold: a bad reply
            self.stats.request_errors += 1
        return entry

    async def _send(
        self, logical_id: str, key: str, blob: bytes, with_tools: bool = False
    ) -> tuple[str | None, str | None]:
        cfg = self.cfg
        last = "no attempt"
        for attempt in range(cfg.max_retries + 1):
            wait = 0.0
            try:
                client = await self._slots.get()
                try:
                    self.stats.sent += 1
                    # The SDK's low-level post: its errors, timeouts and connection handling, without
                    # the per-request params transform, body copy and pydantic parsing (~2 ms of CPU).
                    raw = await client.post(
                        "/chat/completions",
                        content=blob,
                        cast_to=str,
                        options={"headers": {REQUEST_KEY_HEADER: key, "Content-Type": "application/json"}},
                    )
                finally:
                    self._slots.put_nowait(client)
                return (_message(raw) if with_tools else _content(raw)), None
            except Exception as exc:  # noqa: BLE001 - classified below; anything unknown is re-raised
                kind = _retryable_kind(exc)
                if kind is None:
                    if isinstance(exc, openai.APIStatusError):
                        self.stats.request_errors += 1
                        return None, f"http_{exc.status_code}: {str(exc)[:200]}"
                    raise
                last = f"{kind}: {str(exc)[:200]}"
                self.stats.retries[kind] = self.stats.retries.get(kind, 0) + 1
                if isinstance(exc, openai.APIStatusError) and exc.status_code == 429:
                    try:
                        wait = float(exc.response.headers.get("retry-after", 0))
                    except ValueError:
                        wait = 0.0
            if attempt < cfg.max_retries:
                backoff = min(cfg.backoff_max_s, cfg.backoff_initial_s * 2**attempt)
                await asyncio.sleep(min(cfg.backoff_max_s, max(wait, backoff * (0.5 + random.random() / 2))))
        raise EndpointError(
            f"{self.role} at {cfg.base_url} (model {cfg.model!r}): request {logical_id} failed "
            f"{cfg.max_retries + 1} times; last error: {last}. Replies received so far are journaled in "
            f"{self.journal.path}: rerun the same command to resume."
        )

    async def aclose(self) -> None:
        for client in self._clients:
            await client.close()
