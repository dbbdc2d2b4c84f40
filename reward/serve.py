"""``python -m funrl.reward serve``: the reward over HTTP (standard library only).

This module is the transport: a threaded HTTP/1.1 server (``http.server``) that moves bytes in and out
of the protocols in :mod:`funrl.reward.serve_protocol` (``POST /get_reward``, OpenRLHF's remote RM
protocol; ``POST /score``, FunRL's batch endpoint; ``GET /health``), and :mod:`funrl.reward.serve_workers`
forks and supervises the worker processes. docs/reward_reuse.md documents the endpoints and the bounds.

Per request: a request line is awaited up to ``--timeout`` on an idle keep-alive connection; from then
on the whole request (headers and body) must arrive within ``--request-timeout`` (else 408, and the
connection closes). A body is read *without* holding a scoring slot: one of the worker's
``--max-concurrent`` slots is taken only to parse and score a complete body, so slow clients cannot
starve scoring. Bodies being read count against a per-worker byte budget (``max-concurrent x
max-request-mb``; past it: 503), a worker holds at most ``--max-connections`` connections (more: 503).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import FORMATS
from .serve_protocol import (
    DEFAULT_STRIP_TOKENS,
    ServeConfig,
    Workers,
    check_route,
    error_body,
    handle,
    health,
    normalize_path,
    openrlhf_rewards,
    response_of,
    score_batch,
)

GRACE_S = 1.0  # the watchdog cuts a request this long after its deadline (the handler answers 408 first)


class Deadlines:
    """One watchdog thread per worker: a connection still receiving its request past its deadline is
    shut down, which ends any blocking read on it (a client trickling header bytes, say)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: dict[int, tuple[float, socket.socket]] = {}
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():  # threads do not survive fork()
            self._thread = threading.Thread(target=self._run, name="funrl-reward-deadlines", daemon=True)
            self._thread.start()

    def watch(self, sock: socket.socket, deadline: float) -> None:
        with self._lock:
            self._watched[id(sock)] = (deadline, sock)

    def forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._watched.pop(id(sock), None)

    def _run(self) -> None:
        while True:
            time.sleep(0.25)
            now = time.monotonic()
            with self._lock:
                late = [k for k, (deadline, _) in self._watched.items() if deadline < now]
                socks = [self._watched.pop(k)[1] for k in late]
            for sock in socks:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class ByteBudget:
    """Bytes of request bodies held by one worker at once, bounded."""

    def __init__(self, limit: int) -> None:
        self.limit, self.held = limit, 0
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        with self._lock:
            if self.held + n > self.limit:
                return False
            self.held += n
            return True

    def give(self, n: int) -> None:
        with self._lock:
            self.held -= n


def _reply(status: int, payload: dict, *, close: bool) -> bytes:
    """A whole HTTP/1.1 response, written with one call (small replies leave at once, Nagle off)."""
    data = json.dumps(payload).encode()
    head = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "Content-Type: application/json",
        f"Content-Length: {len(data)}",
    ]
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data


class RewardHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, cfg: ServeConfig, bind_and_activate: bool = True) -> None:
        self.cfg = cfg
        self.slots = threading.BoundedSemaphore(cfg.max_concurrent)
        self.connections = threading.BoundedSemaphore(cfg.max_connections)
        self.budget = ByteBudget(cfg.max_concurrent * cfg.max_request_bytes)
        self.deadlines = Deadlines()
        self.workers: Callable[[], Workers] = Workers  # the supervisor installs its shared counts
        self.n_requests = 0
        self.count_lock = threading.Lock()
        super().__init__((cfg.host, cfg.port), RewardHandler, bind_and_activate)

    def count(self) -> int:
        with self.count_lock:
            self.n_requests += 1
            return self.n_requests

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self.deadlines.start()
        super().serve_forever(poll_interval)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.connections.acquire(blocking=False):
            busy = error_body(503, f"busy: --max-connections={self.cfg.max_connections} open; retry")
            try:
                request.sendall(_reply(503, busy, close=True))
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.connections.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connections.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # a client that went away (or was cut at its deadline): nothing to report
        super().handle_error(request, client_address)


class RewardHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: RewardHTTPServer
    deadline = 0.0

    def setup(self) -> None:
        self.timeout = self.server.cfg.timeout_s  # waiting for a request line on an idle connection
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # one line per request would cost more than scoring it; errors are answered, not logged

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        finally:
            self.server.deadlines.forget(self.connection)
            if not self.close_connection:
                self.connection.settimeout(self.timeout)

    def parse_request(self) -> bool:
        """The request line has arrived: from now on the whole request has ``--request-timeout``."""
        limit = self.server.cfg.request_timeout_s
        self.deadline = time.monotonic() + limit
        self.server.deadlines.watch(self.connection, self.deadline + GRACE_S)
        self.connection.settimeout(limit)
        return super().parse_request()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's refusals (bad request line, header too long, unknown method) in JSON."""
        self._send(code, error_body(code, message or HTTPStatus(code).phrase), close=True)

    def _send(self, status: int, payload: dict, *, close: bool = False) -> None:
        close = close or self.close_connection
        self.close_connection = close
        self.wfile.write(_reply(status, payload, close=close))

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        n = self.server.count()
        path = normalize_path(self.path)
        if self.headers.get("Content-Length", "0").strip() not in ("", "0"):
            self.close_connection = True  # an unread body would be read as the next request
        refusal = check_route("GET", path, None, self.server.cfg)
        if refusal is not None:
            self._send(*refusal)
            return
        self._send(*health(os.getpid(), n, self.server.workers()))

    def do_POST(self) -> None:  # noqa: N802
        self.server.count()
        cfg = self.server.cfg
        path = normalize_path(self.path)
        # Anything refused before the body is read closes the connection: the unread body would
        # otherwise be parsed as the next request.
        refusal = check_route("POST", path, self.headers.get("Authorization"), cfg) or self._check_length()
        if refusal is not None:
            self._send(*refusal, close=True)
            return
        length = int(self.headers["Content-Length"])
        raw = self._read_body(length)
        if raw is None:
            return
        try:
            with self.server.slots:  # taken only now that the body is complete
                status, payload = handle(path, raw, cfg)
        finally:
            self.server.budget.give(length)
        self._send(status, payload)

    def _check_length(self) -> tuple[int, dict] | None:
        cfg = self.server.cfg
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return 411, error_body(411, "Transfer-Encoding: chunked is not supported; send Content-Length")
        header = self.headers.get("Content-Length")
        if header is None:
            return 411, error_body(411, "Content-Length: required")
        if not header.strip().isdigit():
            return 400, error_body(400, f"Content-Length: {header!r} is not a byte count")
        length = int(header)
        if length > cfg.max_request_bytes:
            return 413, error_body(
                413,
                f"body: {length} bytes, more than --max-request-mb allows ({cfg.max_request_bytes} bytes); "
                "send smaller batches",
            )
        return None

    def _read_body(self, length: int) -> bytes | None:
        """The body, read before its deadline and within the worker's byte budget; None when refused
        (answered here) or when the client went away."""
        chunks, got = [], 0
        while got < length:
            remaining = self.deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise TimeoutError
                self.connection.settimeout(remaining)
                chunk = self.rfile.read1(min(length - got, 1 << 20))
            except TimeoutError:
                limit = self.server.cfg.request_timeout_s
                self._refuse_body(
                    got, 408, f"body: {got} of {length} bytes arrived in --request-timeout={limit:g}s"
                )
                return None
            except OSError:
                chunk = b""
            if not chunk:  # the client went away mid-body
                self._refuse_body(got, None, "")
                return None
            if not self.server.budget.take(len(chunk)):
                self._refuse_body(got, 503, "busy: this worker holds its budget of request bodies; retry")
                return None
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _refuse_body(self, held: int, status: int | None, message: str) -> None:
        self.server.budget.give(held)
        self.close_connection = True
        if status is not None:
            try:
                self._send(status, error_body(status, message), close=True)
            except OSError:
                pass


# ----------------------------------------------------------------------------------------------------
# Running


class RewardServer:
    """The server in a background thread of this process (tests; embedding in a launcher)::

    with RewardServer(ServeConfig(port=0)) as server:
        requests.post(f"{server.url}/score", json={...})
    """

    def __init__(self, cfg: ServeConfig | None = None) -> None:
        self.cfg = cfg or ServeConfig(port=0)
        self.httpd: RewardHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self.httpd is not None, "server not started"
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.cfg.host}:{self.port}"

    def start(self) -> RewardServer:
        self.httpd = RewardHTTPServer(self.cfg)
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="funrl-reward-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self) -> RewardServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(cfg: ServeConfig) -> int:
    """Serve until SIGINT/SIGTERM; returns the exit status (0 after a signal; 1 when no worker is left
    and the restart budget is spent, or the address cannot be bound). Prints ``funrl.reward serve:
    listening on http://HOST:PORT`` once bound (port 0 picks a free one)."""
    from .serve_workers import supervise

    try:
        httpd = RewardHTTPServer(cfg)
    except OSError as e:
        print(f"funrl.reward serve: cannot listen on {cfg.host}:{cfg.port}: {e}", file=sys.stderr)
        return 1
    host, port = httpd.server_address[:2]
    workers = cfg.workers
    print(
        f"funrl.reward serve: listening on http://{host}:{port} ({workers} worker{'s' * (workers > 1)}); "
        "POST /get_reward (OpenRLHF), POST /score, GET /health",
        flush=True,
    )
    return supervise(httpd, cfg)


def add_serve_parser(sub: Any) -> None:
    """The ``serve`` subcommand of ``python -m funrl.reward``."""
    d = ServeConfig()
    p = sub.add_parser("serve", help="serve the reward over HTTP (OpenRLHF's remote RM protocol + /score)")
    p.add_argument("--host", default=d.host, help="interface to bind (keep loopback or a private network)")
    p.add_argument("--port", type=int, default=d.port, help="0 picks a free port (printed at start)")
    p.add_argument("--workers", type=int, default=d.workers, help="worker processes (POSIX fork)")
    p.add_argument("--max-request-mb", type=float, default=d.max_request_bytes / 2**20)
    p.add_argument("--max-samples", type=int, default=d.max_samples, help="samples per request at most")
    p.add_argument(
        "--max-concurrent", type=int, default=d.max_concurrent, help="requests scored at once per worker"
    )
    p.add_argument(
        "--timeout", type=float, default=d.timeout_s, help="seconds before an idle connection closes"
    )
    p.add_argument(
        "--request-timeout",
        type=float,
        default=d.request_timeout_s,
        help="seconds for a whole request to arrive",
    )
    p.add_argument(
        "--max-connections", type=int, default=d.max_connections, help="open connections per worker"
    )
    p.add_argument(
        "--max-restarts", type=int, default=d.max_restarts, help="dead workers replaced per minute"
    )
    p.add_argument(
        "--token",
        default=os.environ.get("FUNRL_REWARD_TOKEN"),
        help="require 'Authorization: Bearer TOKEN' on POST (default: $FUNRL_REWARD_TOKEN; unset: none)",
    )
    p.add_argument("--fmt", choices=FORMATS, default=None, help="override every ground truth's fmt")
    p.add_argument(
        "--require-think", action=argparse.BooleanOptionalAction, default=None, help="override require_think"
    )
    p.add_argument(
        "--strip-tokens",
        nargs="*",
        default=list(DEFAULT_STRIP_TOKENS),
        help="end-of-text tokens removed from the end of an OpenRLHF query's response",
    )
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: Any) -> int:
    for name in ("workers", "max_samples", "max_concurrent", "max_connections"):
        if getattr(args, name) < 1:
            print(f"--{name.replace('_', '-')} must be at least 1", file=sys.stderr)
            return 2
    if args.max_restarts < 0 or args.timeout <= 0 or args.request_timeout <= 0:
        print("--max-restarts must be >= 0, --timeout and --request-timeout > 0", file=sys.stderr)
        return 2
    cfg = ServeConfig(
        host=args.host,
        port=args.port,
        workers=args.workers,
        max_request_bytes=int(args.max_request_mb * 2**20),
        max_samples=args.max_samples,
        max_concurrent=args.max_concurrent,
        timeout_s=args.timeout,
        request_timeout_s=args.request_timeout,
        max_connections=args.max_connections,
        max_restarts=args.max_restarts,
        token=args.token or None,
        fmt=args.fmt,
        require_think=args.require_think,
        strip_tokens=tuple(args.strip_tokens),
    )
    return serve(cfg)


__all__ = [
    "DEFAULT_STRIP_TOKENS",
    "RewardServer",
    "ServeConfig",
    "openrlhf_rewards",
    "response_of",
    "score_batch",
    "serve",
]
