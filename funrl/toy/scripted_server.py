"""A real OpenAI-compatible HTTP server on loopback, answering from a script, with injectable faults.

Tests and benchmarks start it instead of mocking a client: the code under test talks HTTP to it
through the real ``openai`` SDK. It serves ``POST /v1/chat/completions`` and ``GET /v1/models``.

    responder(request_body: dict) -> str | list | dict

    str    the assistant's text
    list   tool calls: ``[{"name": ..., "arguments": {...} or a JSON string}]``, answered as OpenAI's
           ``message.tool_calls`` with ``content`` null and ``finish_reason`` "tool_calls", as vLLM's
           tool parsers answer (text and calls together: return :func:`tool_call_completion`'s body)
    dict   a whole reply body, sent as it is

Faults are queued with :meth:`OpenAIServer.add_fault` and applied, in order, to the requests they
match (a substring of the request's messages or of its ``X-Request-Key`` header):

    "http_500", "http_429", "http_400"   an error status with an OpenAI-style error body (after ``delay_s``)
    "timeout"                            hang ``delay_s`` seconds, then drop the connection unanswered
    "malformed"                          200 with a body that is not a chat completion
    "latency"                            add ``delay_s`` before answering normally

Every request is logged (:attr:`OpenAIServer.log`), so tests can assert what was sent, and how often.

In-process (a background thread with its own event loop)::

    with OpenAIServer(responder, latency_s=0.1) as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key="x")

As a process (the benchmark does this so that client and server do not share one GIL)::

    python -m funrl.toy.scripted_server --responder pkg.module:function --latency 0.1
    # prints "LISTENING <port>" once ready
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Responder = Callable[[dict], "str | list | dict"]
FAULT_KINDS = ("http_500", "http_429", "http_400", "timeout", "malformed", "latency")
REQUEST_KEY_HEADER = "x-request-key"


@dataclass
class Fault:
    """One injected fault, applied to the next ``times`` requests that ``match`` (None: any request)."""

    kind: str
    times: int = 1
    match: str | None = None
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"Fault.kind must be one of {FAULT_KINDS}, got {self.kind!r}")


@dataclass
class RequestRecord:
    """What the server saw and did for one request."""

    key: str | None
    body: dict
    fault: str | None
    status: int | None = None  # None: the connection was dropped unanswered
    received_at: float = field(default_factory=time.monotonic)


def echo_responder(body: dict) -> str:
    """Default responder: repeats the last user message."""
    users = [m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"]
    return f"echo: {users[-1] if users else ''}"


def _completion(body: dict, content: str) -> dict:
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "loopback"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def tool_call_completion(body: dict, calls: list[dict], content: str | None = None) -> dict:
    """A chat completion whose assistant message holds ``calls`` (``{"name", "arguments"}``; arguments as a
    dict are JSON-encoded, a string is sent as it is, malformed or not) as OpenAI ``tool_calls``."""
    reply = _completion(body, "")
    tool_calls = [
        {
            "id": f"call_{i}",
            "type": "function",
            "function": {
                "name": call["name"],
                "arguments": call["arguments"]
                if isinstance(call["arguments"], str)
                else json.dumps(call["arguments"], ensure_ascii=False),
            },
        }
        for i, call in enumerate(calls)
    ]
    reply["choices"][0]["message"] = {"role": "assistant", "content": content, "tool_calls": tool_calls}
    reply["choices"][0]["finish_reason"] = "tool_calls"
    return reply


class OpenAIServer:
    """Loopback OpenAI-compatible server (see the module docstring)."""

    def __init__(
        self,
        responder: Responder = echo_responder,
        *,
        latency_s: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_log: bool = True,
    ) -> None:
        self.responder = responder
        self.latency_s = latency_s
        self.host = host
        self.port = port
        self.keep_log = keep_log
        self.log: list[RequestRecord] = []
        self.errors: list[str] = []  # exceptions raised by the responder (answered with a 500)
        self.n_requests = 0
        self.in_flight = 0  # chat requests received and not yet answered (or dropped)
        self.max_in_flight = 0
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None

    # ----- configuration -----
    def add_fault(self, kind: str, times: int = 1, match: str | None = None, delay_s: float = 0.0) -> None:
        with self._lock:
            self._faults.append(Fault(kind, times, match, delay_s))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending_faults(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if f.times != 0]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def keys(self) -> list[str | None]:
        """The ``X-Request-Key`` header of every logged request, in arrival order."""
        with self._lock:
            return [r.key for r in self.log]

    # ----- lifecycle -----
    async def start_async(self) -> None:
        self._server = await asyncio.start_server(self._serve_connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def start(self) -> OpenAIServer:
        """Serve from a background thread; returns once the port is bound."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self.start_async())
            except BaseException as e:  # noqa: BLE001 - reported to the starting thread
                failure.append(e)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="openai-loopback", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop = None
        self._thread = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- HTTP -----
    def _take_fault(self, key: str | None, body: dict) -> Fault | None:
        if not self._faults:
            return None
        text = json.dumps(body.get("messages", []), ensure_ascii=False)
        with self._lock:
            for fault in self._faults:
                if fault.times == 0:
                    continue
                if fault.match is None or fault.match in text or (key is not None and fault.match in key):
                    fault.times -= 1
                    return fault
        return None

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                raw = await reader.readexactly(int(headers.get("content-length", "0")))
                keep_going = await self._handle(method, path, headers, raw, writer)
                if not keep_going or headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            writer.close()

    async def _handle(self, method: str, path: str, headers: dict, raw: bytes, writer: Any) -> bool:
        path = path.split("?", 1)[0].rstrip("/")
        if method == "GET" and path.endswith("/models"):
            await self._write(
                writer, 200, {"object": "list", "data": [{"id": "loopback", "object": "model"}]}
            )
            return True
        if method != "POST" or not path.endswith("/chat/completions"):
            await self._write(writer, 404, {"error": {"message": f"no route {method} {path}"}})
            return True
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            await self._write(writer, 400, {"error": {"message": "request body is not JSON"}})
            return True
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._chat(headers, body, writer)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _chat(self, headers: dict, body: dict, writer: Any) -> bool:
        key = headers.get(REQUEST_KEY_HEADER)
        fault = self._take_fault(key, body)
        record = RequestRecord(key=key, body=body, fault=fault.kind if fault else None)
        with self._lock:
            self.n_requests += 1
            if self.keep_log:
                self.log.append(record)

        slow = fault and (fault.kind == "latency" or fault.kind.startswith("http_"))
        delay = self.latency_s + (fault.delay_s if slow else 0.0)
        if fault and fault.kind == "timeout":
            await asyncio.sleep(fault.delay_s or 3600.0)
            return False  # drop the connection unanswered
        if delay > 0:
            await asyncio.sleep(delay)
        if fault and fault.kind.startswith("http_"):
            status = int(fault.kind[5:])
            message = {500: "injected server error", 429: "injected rate limit", 400: "injected bad request"}
            error = {"error": {"message": message[status], "type": "injected", "code": status}}
            record.status = status
            await self._write(writer, status, error)
            return True
        if fault and fault.kind == "malformed":
            record.status = 200
            await self._write_raw(writer, 200, b'{"id": "x", "object": "chat.completion", "choices": [{"mess')
            return True
        try:
            reply = self.responder(body)
            if isinstance(reply, dict):
                payload = reply
            elif isinstance(reply, list):
                payload = tool_call_completion(body, reply)
            else:
                payload = _completion(body, str(reply))
        except Exception:  # noqa: BLE001 - a responder bug must reach the test, not kill the server
            with self._lock:
                self.errors.append(traceback.format_exc())
            record.status = 500
            await self._write(writer, 500, {"error": {"message": "responder raised"}})
            return True
        record.status = 200
        await self._write(writer, 200, payload)
        return True

    async def _write(self, writer: Any, status: int, payload: dict) -> None:
        await self._write_raw(writer, status, json.dumps(payload).encode())

    @staticmethod
    async def _write_raw(writer: Any, status: int, data: bytes) -> None:
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests"}
        head = (
            f"HTTP/1.1 {status} {reason.get(status, 'Error')}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            "Connection: keep-alive\r\n\r\n"
        )
        writer.write(head.encode() + data)
        await writer.drain()


def load_responder(spec: str) -> Responder:
    """``"package.module:function"`` -> the function (a factory is called when named ``make_*``)."""
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise ValueError(f"--responder must look like 'package.module:function', got {spec!r}")
    obj = getattr(importlib.import_module(module_name), attr)
    return obj() if attr.startswith("make_") else obj


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--responder", default="funrl.toy.scripted_server:echo_responder")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before every answer")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = OpenAIServer(
        load_responder(args.responder), latency_s=args.latency, host=args.host, port=args.port
    )
    server.keep_log = False

    async def serve() -> None:
        await server.start_async()
        print(f"LISTENING {server.port}", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
