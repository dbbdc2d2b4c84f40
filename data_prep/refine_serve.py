"""Serving a round's checkpoint for the self-refinement loop, and running its subprocesses with a log.

``serve.command`` (e.g. ``vllm serve {checkpoint} --port {port}``) is started per round, its output in
``round_<r>/serve.log``, and probed on ``GET /v1/models`` until it answers (or exits, or
``serve.ready_timeout_s`` passes: both fail loudly with the log's tail); it is stopped when the round no
longer needs it. ``serve.endpoint`` is a server the user runs: it must list the round's checkpoint path
among its models (vLLM's id for ``vllm serve <path>``), else the round stops and says what to serve.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .refine_config import ServeConfig


class RefineFailed(RuntimeError):
    """A round cannot go on (no rows exported, a server or the trainer failed); the message names it."""


@dataclass
class Served:
    """A server answering for a round's checkpoint: its base URL, the model id to ask, its process."""

    base_url: str
    model: str
    process: subprocess.Popen | None = None  # None: a server the user runs

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def list_models(base_url: str, timeout_s: float = 5.0) -> list[str]:
    """The model ids ``GET <base_url>/models`` lists; raises OSError (URLError) when it does not answer."""
    with urllib.request.urlopen(f"{base_url.rstrip('/')}/models", timeout=timeout_s) as reply:
        body = json.loads(reply.read())
    return [str(m.get("id")) for m in body.get("data", []) if isinstance(m, dict)]


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 30) -> str:
    if not path.is_file():
        return "(no output)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def serve_checkpoint(cfg: ServeConfig, checkpoint: str, round_dir: Path, what: str) -> Served:
    """A server for ``checkpoint``: started from ``cfg.command`` and probed until ready, or the user's
    ``cfg.endpoint``, checked to serve it. ``what`` names the round in errors."""
    if cfg.command is None:
        assert cfg.endpoint is not None
        try:
            models = list_models(cfg.endpoint)
        except (OSError, ValueError) as e:
            raise RefineFailed(
                f"{what}: serve.endpoint {cfg.endpoint} does not answer /models: {e}"
            ) from None
        if checkpoint not in models:
            raise RefineFailed(
                f"{what}: serve.endpoint {cfg.endpoint} serves {models}, not this round's checkpoint "
                f"{checkpoint}; serve it there (e.g. `vllm serve {checkpoint}`) and rerun the same command "
                "(finished steps are kept)"
            )
        return Served(cfg.endpoint, checkpoint)
    port = cfg.port or free_port(cfg.host)
    fields = {
        "python": sys.executable,
        "checkpoint": checkpoint,
        "port": str(port),
        "host": cfg.host,
        "round_dir": str(round_dir),
    }
    argv = [arg.format(**fields) for arg in cfg.command]
    log = round_dir / "serve.log"
    with log.open("a") as fh:
        fh.write(f"$ {' '.join(argv)}\n")
        fh.flush()
        process = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT)
    served = Served(f"http://{cfg.host}:{port}/v1", checkpoint, process)
    try:
        served.model = _wait_ready(served, cfg, checkpoint, log, what)
    except BaseException:
        served.stop()
        raise
    return served


def _wait_ready(served: Served, cfg: ServeConfig, checkpoint: str, log: Path, what: str) -> str:
    """Polls /models until it answers; returns the model id to ask (the checkpoint path if listed, else
    the only one listed)."""
    assert served.process is not None
    deadline = time.monotonic() + cfg.ready_timeout_s
    while True:
        code = served.process.poll()
        if code is not None:
            raise RefineFailed(
                f"{what}: the serve command exited with {code} before it was ready:\n{tail(log)}"
            )
        try:
            models = list_models(served.base_url, timeout_s=2.0)
        except (OSError, ValueError):
            models = None
        if models is not None:
            if checkpoint in models:
                return checkpoint
            if len(models) == 1:
                return models[0]
            raise RefineFailed(f"{what}: the served server lists {models}, none of them {checkpoint}")
        if time.monotonic() > deadline:
            raise RefineFailed(
                f"{what}: the serve command did not answer {served.base_url}/models within "
                f"serve.ready_timeout_s={cfg.ready_timeout_s}:\n{tail(log)}"
            )
        time.sleep(cfg.poll_s)


def run_logged(argv: list[str], log: Path, what: str) -> str:
    """Runs ``argv`` with its output in ``log`` (appended); returns this run's output, or raises
    RefineFailed with its tail when it exits non-zero."""
    start = log.stat().st_size if log.is_file() else 0
    with log.open("a") as fh:
        fh.write(f"$ {' '.join(argv)}\n")
        fh.flush()
        code = subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, check=False).returncode
    with log.open("rb") as fh:
        fh.seek(start)
        output = fh.read().decode(errors="replace")
    if code != 0:
        raise RefineFailed(f"{what} exited with {code}: {' '.join(argv)}\n{tail(log)}\n(full log: {log})")
    return output
