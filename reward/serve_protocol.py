"""The reward server's protocols, without HTTP: parsed request data in, ``(status, JSON body)`` out.

* :func:`openrlhf_rewards` -- ``POST /get_reward``, OpenRLHF's remote reward-model protocol;
* :func:`score_batch` -- ``POST /score``, FunRL's batch endpoint with per-sample errors;
* :func:`health` -- ``GET /health``;
* :func:`check_route` (before a body is read) and :func:`handle` (a whole request, body as bytes)
  are what a transport calls. :mod:`funrl.reward.serve` is the transport.

Nothing here raises for a bad request: every outcome is a status and a JSON object, so any transport
(``http.server``, ASGI, a test calling the functions) answers the same way.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from .api import load_ground_truth, score_prepared
from .decode import check_format

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
MAX_MESSAGE_CHARS = 2000  # an error message quotes at most this much (a ground truth may be megabytes)


@dataclass
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    workers: int = 1  # processes accepting on one socket (POSIX fork), supervised and replaced if they die
    max_request_bytes: int = 64 * 1024 * 1024
    max_samples: int = 65536
    max_concurrent: int = 32  # requests scored at once per worker (taken once the body is complete)
    timeout_s: float = 120.0  # an idle keep-alive connection is closed after this
    request_timeout_s: float = 60.0  # a request (line, headers, body) must arrive within this: else 408
    max_connections: int = 512  # open connections per worker; more are answered 503 and closed
    max_restarts: int = 5  # worker replacements allowed per minute; past it a dead worker stays dead
    fmt: str | None = None  # server-wide override of every ground truth's fmt
    require_think: bool | None = None
    strip_tokens: tuple[str, ...] = DEFAULT_STRIP_TOKENS
    token: str | None = None  # shared secret: when set, POST routes need "Authorization: Bearer <token>"


class RequestError(ValueError):
    """A request the server refuses: an HTTP status and a message naming the field."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def error_body(status: int, message: str) -> dict:
    return {"error": {"status": status, "message": _clip(message)}}


def _clip(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return message[:MAX_MESSAGE_CHARS] + f"... ({len(message) - MAX_MESSAGE_CHARS} more characters)"


def _describe(e: BaseException) -> str:
    """A sample's failure as one message: a ValueError's own text, else its type (a nesting bomb)."""
    if isinstance(e, RecursionError):
        return "nests too deeply to read"
    if isinstance(e, ValueError):
        return str(e)
    return f"{type(e).__name__}: {e}"


# ----------------------------------------------------------------------------------------------------
# POST /score


def _override(name: str, value: Any, where: str) -> Any:
    if value is None:
        return None
    if name == "fmt":
        check_format(value, key=f"{where}.fmt")
    if name == "require_think" and not isinstance(value, bool):
        raise ValueError(f"{where}.require_think: expected true or false, got {value!r:.100}")
    return value


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


class _SampleError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _prepare_sample(sample: Any, where: str, req_fmt: Any, req_think: Any, cfg: ServeConfig) -> tuple:
    """(ground truth, text, fmt, require_think) of one ``/score`` sample; raises _SampleError."""
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
            _override("require_think", sample.get("require_think"), where), req_think, cfg.require_think
        )
    except ValueError as e:
        raise _SampleError("override", str(e)) from None
    try:
        gt = load_ground_truth(sample["ground_truth"])
        _override("fmt", gt.fmt if fmt is None else fmt, "ground_truth")  # checked here, not mid-score
    except (ValueError, RecursionError) as e:  # GroundTruthError, JSON errors, a nesting bomb
        raise _SampleError("ground_truth", f"{where}.ground_truth: {_describe(e)}") from None
    return gt, text, fmt, think


def _score_one(sample: Any, where: str, req_fmt: Any, req_think: Any, cfg: ServeConfig) -> dict:
    """One ``/score`` result; never raises: whatever goes wrong is this sample's error, not the batch's."""
    try:
        gt, text, fmt, think = _prepare_sample(sample, where, req_fmt, req_think, cfg)
    except _SampleError as e:
        return {"score": None, "error_type": f"request_error:{e.field}", "errors": [_clip(str(e))]}
    try:
        result = score_prepared(gt, text, fmt=fmt, require_think=think)
    except Exception as e:  # noqa: BLE001 - one sample's failure must not fail its batch
        if isinstance(e, ValueError):  # a field of the ground truth, validated when a check first reads it
            kind, where = "request_error:ground_truth", f"{where}.ground_truth"
        else:
            kind = "server_error:internal"
        return {"score": None, "error_type": kind, "errors": [_clip(f"{where}: {_describe(e)}")]}
    return {
        "score": float(result),
        "format_ok": result.format_ok,
        "error_type": result.error_type,
        "errors": result.errors,
    }


def score_batch(body: Any, cfg: ServeConfig) -> dict:
    """``POST /score``: per-sample verdicts; a malformed sample gets ``score: null`` and its reason.
    Raises :class:`RequestError` only for a body of the wrong shape (not for any one sample)."""
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
    results = [_score_one(s, f"samples[{i}]", req_fmt, req_think, cfg) for i, s in enumerate(samples)]
    rejected = sum(r["score"] is None for r in results)
    return {"results": results, "n": len(results), "n_rejected": rejected}


# ----------------------------------------------------------------------------------------------------
# POST /get_reward


def _trailing_pattern(strip_tokens: tuple[str, ...]) -> re.Pattern:
    """Whitespace or any strip token, repeated, matched on the REVERSED text from its start: one linear
    pass (stripping at the end with slices would copy the text once per token: quadratic)."""
    alternatives = [r"\s+"] + [re.escape(tok[::-1]) for tok in strip_tokens if tok]
    return re.compile("(?:" + "|".join(alternatives) + ")*")


_PATTERNS: dict[tuple[str, ...], re.Pattern] = {}


def response_of(query: str, prompt: str, strip_tokens: tuple[str, ...]) -> str | None:
    """The model's response in an OpenRLHF ``query`` (prompt + response, special tokens included):
    what follows the first occurrence of ``prompt``, trailing end-of-text tokens and whitespace removed
    (in time linear in the query). None when the query does not contain the prompt."""
    start = query.find(prompt)
    if start < 0:
        return None
    pattern = _PATTERNS.get(strip_tokens)
    if pattern is None:
        pattern = _PATTERNS.setdefault(strip_tokens, _trailing_pattern(strip_tokens))
    text = query[start + len(prompt) :]
    trailing = pattern.match(text[::-1]).end()
    return text[: len(text) - trailing]


def _openrlhf_fields(body: Any, cfg: ServeConfig) -> tuple[list, list, list]:
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
    return fields["query"], fields["prompts"], fields["labels"]


def openrlhf_rewards(body: Any, cfg: ServeConfig) -> dict:
    """``POST /get_reward``: OpenRLHF's remote RM protocol. Any unscoreable sample fails the request
    with :class:`RequestError` 400 naming it (``labels[3]: ...``): a data bug, as on verl's path."""
    queries, prompts, labels = _openrlhf_fields(body, cfg)
    rewards, format_ok = [], []
    for i, (query, prompt, label) in enumerate(zip(queries, prompts, labels)):
        if not isinstance(query, str) or not isinstance(prompt, str):
            raise RequestError(400, f"query[{i}] / prompts[{i}]: expected strings")
        text = response_of(query, prompt, cfg.strip_tokens)
        if text is None:
            raise RequestError(400, f"query[{i}]: does not contain prompts[{i}]; cannot find the response")
        try:
            gt = load_ground_truth(label)
            _override("fmt", cfg.fmt or gt.fmt, "ground_truth")
        except (ValueError, RecursionError) as e:
            raise RequestError(400, f"labels[{i}]: {_describe(e)}") from None
        try:
            result = score_prepared(gt, text, fmt=cfg.fmt, require_think=cfg.require_think)
        except ValueError as e:
            raise RequestError(400, f"labels[{i}]: {e}") from None
        except RecursionError:
            raise RequestError(400, f"labels[{i}]: nests too deeply to compare") from None
        rewards.append(float(result))
        format_ok.append(1.0 if result.format_ok else 0.0)
    return {"rewards": rewards, "scores": list(rewards), "extra_logs": {"format_ok": format_ok}}


# ----------------------------------------------------------------------------------------------------
# Routing: what a transport calls


@dataclass
class Workers:
    """What ``/health`` reports about the worker processes (one, in-process, unless supervised)."""

    alive: int = 1
    configured: int = 1
    restarts: int = 0


ROUTES = {"/get_reward": openrlhf_rewards, "/score": score_batch}
HINT = "try GET /health, POST /score or POST /get_reward"


def health(pid: int, requests: int, workers: Workers) -> tuple[int, dict]:
    """``GET /health``: 200 while this worker answers; ``status`` is ``degraded`` when fewer workers are
    alive than configured (the supervisor is replacing one, or gave up replacing it)."""
    status = "ok" if workers.alive >= workers.configured else "degraded"
    counts = {"alive": workers.alive, "configured": workers.configured, "restarts": workers.restarts}
    return 200, {"status": status, "pid": pid, "requests": requests, "workers": counts}


def normalize_path(target: str) -> str:
    return target.split("?", 1)[0].rstrip("/")


def check_route(
    method: str, path: str, authorization: str | None, cfg: ServeConfig
) -> tuple[int, dict] | None:
    """The refusal of a request by its line and headers alone (before its body is read), or None."""
    if method == "GET" and path == "/health":
        return None
    if path not in ROUTES:
        return 404, error_body(404, f"no route {method} {path}; {HINT}")
    if method != "POST":
        return 405, error_body(405, f"{path} takes POST")
    if cfg.token is not None and not hmac.compare_digest(
        (authorization or "").encode(), f"Bearer {cfg.token}".encode()
    ):
        return 401, error_body(401, "Authorization: missing or wrong bearer token (the server has --token)")
    return None


def parse_body(raw: bytes) -> Any:
    """The JSON body; :class:`RequestError` 400 for bad JSON, bad UTF-8 or nesting too deep to parse."""
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RequestError(400, f"body: not valid JSON ({e})") from None
    except RecursionError:
        raise RequestError(400, "body: JSON nests too deeply") from None


def handle(path: str, raw: bytes, cfg: ServeConfig) -> tuple[int, dict]:
    """A POST request that :func:`check_route` let through, with its complete body: (status, reply)."""
    try:
        return 200, ROUTES[path](parse_body(raw), cfg)
    except RequestError as e:
        return e.status, error_body(e.status, str(e))
    except Exception as e:  # noqa: BLE001 - a server bug: answer 500 with the reason, keep serving
        return 500, error_body(500, f"internal error: {type(e).__name__}: {e}")


__all__ = [
    "DEFAULT_STRIP_TOKENS",
    "ROUTES",
    "RequestError",
    "ServeConfig",
    "Workers",
    "check_route",
    "error_body",
    "handle",
    "health",
    "normalize_path",
    "openrlhf_rewards",
    "parse_body",
    "response_of",
    "score_batch",
]
