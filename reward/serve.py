"""``python -m funrl.reward serve``: the reward over HTTP (standard library only).

Endpoints (JSON in, JSON out):

``POST /get_reward`` -- OpenRLHF's remote reward-model protocol (``--remote_rm_url http://HOST:PORT/get_reward``
with ``--label_key`` naming the dataset column that holds the ground-truth JSON)::

    {"query": [prompt + response, ...], "prompts": [prompt, ...], "labels": [ground_truth, ...]}
    -> {"rewards": [1.0, 0.0, ...], "scores": [same], "extra_logs": {"format_ok": [1.0, 0.0, ...]}}

    The response is the part of ``query[i]`` after ``prompts[i]`` (OpenRLHF decodes prompt + response
    with special tokens, so left padding is skipped by finding the prompt), with trailing end-of-text
    tokens (``--strip-tokens``) and whitespace removed. Every sample must be scoreable: a missing field, a
    query that does not contain its prompt or a malformed ground truth is a data bug and fails the whole
    request with 400 naming ``labels[i]...`` (OpenRLHF then retries and stops, loudly), as the verl path
    raises on a malformed ground truth.

``POST /score`` -- FunRL's batch endpoint, with the reward's error types per sample::

    {"samples": [{"response": str, "ground_truth": str | {...}, "fmt"?: str, "require_think"?: bool}],
     "fmt"?: str, "require_think"?: bool}
    -> {"results": [{"score": 1.0 | 0.0, "format_ok": bool, "error_type": str | null, "errors": [str]}
                    | {"score": null, "error_type": "request_error:<field>", "errors": ["samples[3].<field>: ..."]}],
        "n": int, "n_rejected": int}

    A malformed sample is answered in place (``score`` null, ``request_error:*``) and the rest are scored.
    ``fmt`` / ``require_think`` override the ground truth's own: a sample's over the request's over the
    server's (``--fmt``, ``--require-think``).

``GET /health`` -> ``{"status": "ok", "pid": ..., "requests": ...}``.

Bounds: a body over ``--max-request-mb`` is refused with 413 before it is read; a body without
Content-Length with 411; more than ``--max-samples`` samples with 413; at most ``--max-concurrent``
bodies are read and scored at once per worker (further requests wait their turn). Connections are
kept alive (HTTP/1.1) and time out after ``--timeout`` seconds idle.

Concurrency: each worker serves requests on threads; scoring is pure Python, so ``--workers N`` forks
N worker processes that accept on the one listening socket (POSIX), for N cores' worth of scoring.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .api import load_ground_truth, score_prepared
from .formats import FORMATS
from .ground_truth import GroundTruthError

# End-of-text tokens that OpenRLHF's decoded ``query`` may end with (ChatML, Llama 3, Gemma, Phi, ...).
DEFAULT_STRIP_TOKENS = (
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<end_of_turn>",
    "<eos>",
    "<|end|>",
    "</s>",
)


@dataclass
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    workers: int = 1  # processes accepting on one socket (POSIX fork); 1 = serve in this process
    max_request_bytes: int = 64 * 1024 * 1024
    max_samples: int = 65536
    max_concurrent: int = 32  # requests read + scored at once per worker; others wait
    timeout_s: float = 120.0  # idle keep-alive connections and stalled bodies are closed after this
    fmt: str | None = None  # server-wide override of every ground truth's fmt
    require_think: bool | None = None
    strip_tokens: tuple[str, ...] = DEFAULT_STRIP_TOKENS


class RequestError(ValueError):
    """A request the server refuses: an HTTP status and a message naming the field."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# ----------------------------------------------------------------------------------------------------
# Scoring (no HTTP here: the handlers below only move JSON in and out)


def _override(name: str, value: Any, where: str) -> Any:
    if value is None:
        return None
    if name == "fmt" and value not in FORMATS:
        raise ValueError(f"{where}.fmt: {value!r} is not one of {', '.join(FORMATS)}")
    if name == "require_think" and not isinstance(value, bool):
        raise ValueError(f"{where}.require_think: expected true or false, got {value!r}")
    return value


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


class _SampleError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def score_batch(body: Any, cfg: ServeConfig) -> dict:
    """``POST /score``: per-sample verdicts; a malformed sample gets ``score: null`` and its reason."""
    if not isinstance(body, dict):
        raise RequestError(400, f"body: expected a JSON object, got {type(body).__name__}")
    samples = body.get("samples")
    if not isinstance(samples, list):
        raise RequestError(400, "samples: missing or not a list of {response, ground_truth} objects")
    if len(samples) > cfg.max_samples:
        raise RequestError(413, f"samples: {len(samples)} samples, more than --max-samples={cfg.max_samples}")
    try:
        req_fmt = _override("fmt", body.get("fmt"), "body")
        req_think = _override("require_think", body.get("require_think"), "body")
    except ValueError as e:
        raise RequestError(400, str(e)) from None
    results = []
    rejected = 0
    for i, sample in enumerate(samples):
        where = f"samples[{i}]"
        try:
            if not isinstance(sample, dict):
                raise _SampleError("sample", f"{where}: expected an object, got {type(sample).__name__}")
            text = sample.get("response")
            if not isinstance(text, str):
                raise _SampleError("response", f"{where}.response: missing or not a string")
            if "ground_truth" not in sample:
                raise _SampleError("ground_truth", f"{where}.ground_truth: missing")
            try:
                fmt = _first(_override("fmt", sample.get("fmt"), where), req_fmt, cfg.fmt)
                think = _first(
                    _override("require_think", sample.get("require_think"), where),
                    req_think,
                    cfg.require_think,
                )
            except ValueError as e:
                raise _SampleError("override", str(e)) from None
            try:
                gt = load_ground_truth(sample["ground_truth"])
            except ValueError as e:  # GroundTruthError, JSON errors
                raise _SampleError("ground_truth", f"{where}.ground_truth: {e}") from None
        except _SampleError as e:
            rejected += 1
            results.append({"score": None, "error_type": f"request_error:{e.field}", "errors": [str(e)]})
            continue
        result = score_prepared(gt, text, fmt=fmt, require_think=think)
        results.append(
            {
                "score": float(result),
                "format_ok": result.format_ok,
                "error_type": result.error_type,
                "errors": result.errors,
            }
        )
    return {"results": results, "n": len(results), "n_rejected": rejected}


def response_of(query: str, prompt: str, strip_tokens: tuple[str, ...]) -> str | None:
    """The model's response in an OpenRLHF ``query`` (prompt + response, special tokens included):
    what follows the first occurrence of ``prompt``, trailing end-of-text tokens and whitespace removed.
    None when the query does not contain the prompt."""
    start = query.find(prompt)
    if start < 0:
        return None
    text = query[start + len(prompt) :].rstrip()
    stripped = True
    while stripped:
        stripped = False
        for tok in strip_tokens:
            if tok and text.endswith(tok):
                text = text[: -len(tok)].rstrip()
                stripped = True
    return text


def openrlhf_rewards(body: Any, cfg: ServeConfig) -> dict:
    """``POST /get_reward``: OpenRLHF's remote RM protocol. Any unscoreable sample fails the request."""
    if not isinstance(body, dict):
        raise RequestError(400, f"body: expected a JSON object, got {type(body).__name__}")
    fields = {}
    for name in ("query", "prompts", "labels"):
        value = body.get(name)
        if not isinstance(value, list):
            hint = " (OpenRLHF sends labels when --label_key names the ground-truth column)" * (
                name == "labels"
            )
            raise RequestError(400, f"{name}: missing or not a list{hint}")
        fields[name] = value
    n = len(fields["query"])
    if n > cfg.max_samples:
        raise RequestError(413, f"query: {n} samples, more than --max-samples={cfg.max_samples}")
    for name in ("prompts", "labels"):
        if len(fields[name]) != n:
            raise RequestError(400, f"{name}: {len(fields[name])} items for {n} queries")
    rewards, format_ok = [], []
    for i, (query, prompt, label) in enumerate(zip(*fields.values())):
        if not isinstance(query, str) or not isinstance(prompt, str):
            raise RequestError(400, f"query[{i}] / prompts[{i}]: expected strings")
        text = response_of(query, prompt, cfg.strip_tokens)
        if text is None:
            raise RequestError(400, f"query[{i}]: does not contain prompts[{i}]; cannot find the response")
        try:
            gt = load_ground_truth(label)
        except ValueError as e:
            raise RequestError(400, f"labels[{i}]: {e}") from None
        result = score_prepared(gt, text, fmt=cfg.fmt, require_think=cfg.require_think)
        rewards.append(float(result))
        format_ok.append(1.0 if result.format_ok else 0.0)
    return {"rewards": rewards, "scores": list(rewards), "extra_logs": {"format_ok": format_ok}}


# ----------------------------------------------------------------------------------------------------
# HTTP


class RewardHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, cfg: ServeConfig, bind_and_activate: bool = True) -> None:
        self.cfg = cfg
        self.slots = threading.BoundedSemaphore(cfg.max_concurrent)
        self.n_requests = 0
        self._count_lock = threading.Lock()
        super().__init__((cfg.host, cfg.port), RewardHandler, bind_and_activate)

    def count(self) -> None:
        with self._count_lock:
            self.n_requests += 1


ROUTES = {"/get_reward": openrlhf_rewards, "/score": score_batch}


class RewardHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small replies go out at once, not after the client's delayed ACK
    server: RewardHTTPServer

    def setup(self) -> None:
        self.timeout = self.server.cfg.timeout_s
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # one line per request would cost more than scoring it; errors are answered, not logged

    def _send(self, status: int, payload: dict, *, close: bool = False) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self._headers_buffer.append(b"\r\n")  # end_headers() without its flush: one write, below
        self.wfile.write(b"".join(self._headers_buffer) + data)
        self._headers_buffer = []

    def _error(self, status: int, message: str, *, close: bool = False) -> None:
        self._send(status, {"error": {"status": status, "message": message}}, close=close)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.count()
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/health":
            self._send(200, {"status": "ok", "pid": os.getpid(), "requests": self.server.n_requests})
        elif path in ROUTES:
            self._error(405, f"{path} takes POST")
        else:
            self._error(404, f"no route GET {path}; try /health, POST /score or POST /get_reward")

    def do_POST(self) -> None:  # noqa: N802
        self.server.count()
        cfg = self.server.cfg
        path = self.path.split("?", 1)[0].rstrip("/")
        route = ROUTES.get(path)
        # Anything refused before the body is read closes the connection: the unread body would
        # otherwise be parsed as the next request.
        if route is None:
            self._error(404, f"no route POST {path}; try /score or /get_reward", close=True)
            return
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._error(411, "Transfer-Encoding: chunked is not supported; send Content-Length", close=True)
            return
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self._error(411, "Content-Length: required", close=True)
            return
        try:
            length = int(length_header)
            if length < 0:
                raise ValueError
        except ValueError:
            self._error(400, f"Content-Length: {length_header!r} is not a byte count", close=True)
            return
        if length > cfg.max_request_bytes:
            self._error(
                413,
                f"body: {length} bytes, more than --max-request-mb allows ({cfg.max_request_bytes} bytes); "
                "send smaller batches",
                close=True,
            )
            return
        with self.server.slots:
            raw = self.rfile.read(length)
            if len(raw) != length:
                self.close_connection = True
                return  # the client went away mid-body
            try:
                body = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                self._error(400, f"body: not valid JSON ({e})")
                return
            try:
                payload = route(body, cfg)
            except RequestError as e:
                self._error(e.status, str(e))
                return
            except GroundTruthError as e:  # pragma: no cover - routes convert these; kept as a guard
                self._error(400, str(e))
                return
            except Exception as e:  # noqa: BLE001 - a server bug: answer 500 with the reason, keep serving
                self._error(500, f"internal error: {type(e).__name__}: {e}")
                return
        self._send(200, payload)


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


def serve(cfg: ServeConfig) -> None:
    """Serve until SIGINT/SIGTERM. Prints ``funrl.reward serve: listening on http://HOST:PORT`` once
    the socket is bound (port 0 picks a free one). ``cfg.workers > 1`` forks that many workers."""
    httpd = RewardHTTPServer(cfg)
    host, port = httpd.server_address[:2]
    workers = cfg.workers if hasattr(os, "fork") else 1
    print(
        f"funrl.reward serve: listening on http://{host}:{port} ({workers} worker{'s' * (workers > 1)}); "
        "POST /get_reward (OpenRLHF), POST /score, GET /health",
        flush=True,
    )
    if workers <= 1:
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=httpd.shutdown).start())
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            httpd.server_close()
        return
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # worker: accept on the inherited socket until told to stop
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us with SIGTERM
            signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
            try:
                httpd.serve_forever()
            finally:
                os._exit(0)
        children.append(pid)

    def stop_children(*_: object) -> None:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, lambda *_: stop_children())
    try:
        for pid in children:
            while True:
                try:
                    os.waitpid(pid, 0)
                    break
                except InterruptedError:
                    continue
                except ChildProcessError:
                    break
    except KeyboardInterrupt:
        stop_children()
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    finally:
        httpd.server_close()


def add_serve_parser(sub: Any) -> None:
    """The ``serve`` subcommand of ``python -m funrl.reward``."""
    d = ServeConfig()
    p = sub.add_parser("serve", help="serve the reward over HTTP (OpenRLHF's remote RM protocol + /score)")
    p.add_argument("--host", default=d.host, help="interface to bind (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=d.port, help="0 picks a free port (printed at start)")
    p.add_argument("--workers", type=int, default=d.workers, help="worker processes (POSIX)")
    p.add_argument("--max-request-mb", type=float, default=d.max_request_bytes / 2**20)
    p.add_argument("--max-samples", type=int, default=d.max_samples, help="samples per request at most")
    p.add_argument(
        "--max-concurrent", type=int, default=d.max_concurrent, help="requests scored at once per worker"
    )
    p.add_argument(
        "--timeout", type=float, default=d.timeout_s, help="seconds before an idle connection closes"
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
    for name in ("workers", "max_samples", "max_concurrent"):
        if getattr(args, name) < 1:
            print(f"--{name.replace('_', '-')} must be at least 1", file=sys.stderr)
            return 2
    cfg = ServeConfig(
        host=args.host,
        port=args.port,
        workers=args.workers,
        max_request_bytes=int(args.max_request_mb * 2**20),
        max_samples=args.max_samples,
        max_concurrent=args.max_concurrent,
        timeout_s=args.timeout,
        fmt=args.fmt,
        require_think=args.require_think,
        strip_tokens=tuple(args.strip_tokens),
    )
    serve(cfg)
    return 0


__all__ = [
    "DEFAULT_STRIP_TOKENS",
    "RewardServer",
    "ServeConfig",
    "openrlhf_rewards",
    "response_of",
    "score_batch",
    "serve",
]
