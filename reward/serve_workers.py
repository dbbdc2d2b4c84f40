"""The reward server's worker processes: forked onto one listening socket, supervised, replaced.

The parent binds the socket, forks ``--workers`` workers that accept on it, and then only supervises:

* a worker that dies (SIGKILL, the OOM killer, a crash) is replaced at once, up to ``--max-restarts``
  replacements in any 60 s (a worker that keeps dying is a bug, not bad luck: it is not retried forever);
* the number of live workers, the configured number and the replacements so far sit in a page of shared
  memory the parent writes and every worker's ``GET /health`` reads (``"workers": {"alive": ...}``);
* SIGTERM or SIGINT stops the workers and returns 0; when no worker is alive and none may be started,
  serving is impossible: the parent says so on stderr and returns 1, so an on-failure supervisor
  (systemd, Kubernetes, a launcher script) restarts the whole server;
* a worker whose parent has gone (SIGKILLed) stops within a second instead of serving on, unsupervised.

Without ``os.fork`` (Windows) the one process serves alone.
"""

from __future__ import annotations

import mmap
import os
import signal
import struct
import sys
import threading
import time
from collections import deque
from typing import Any

from .serve_protocol import ServeConfig, Workers

_COUNTS = struct.Struct("iii")  # alive, configured, restarts
RESTART_WINDOW_S = 60.0


class SharedCounts:
    """Worker counts in anonymous shared memory: written by the parent, read by forked workers."""

    def __init__(self, configured: int) -> None:
        self._page = mmap.mmap(-1, mmap.PAGESIZE)
        self.write(0, configured, 0)

    def write(self, alive: int, configured: int, restarts: int) -> None:
        _COUNTS.pack_into(self._page, 0, alive, configured, restarts)

    def read(self) -> Workers:
        return Workers(*_COUNTS.unpack_from(self._page, 0))


def _worker_main(httpd: Any, parent: int) -> None:
    """In a forked worker: serve until SIGTERM, or until the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us with SIGTERM
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    def orphan_watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=orphan_watch, name="funrl-reward-orphan-watch", daemon=True).start()
    try:
        httpd.serve_forever()
    finally:
        os._exit(1)


class Supervisor:
    def __init__(self, httpd: Any, cfg: ServeConfig) -> None:
        self.httpd, self.cfg = httpd, cfg
        self.counts = SharedCounts(cfg.workers)
        httpd.workers = self.counts.read
        self.children: set[int] = set()
        self.restarts = 0
        self.recent: deque[float] = deque()  # times of recent replacements
        self.stopping = False

    def publish(self) -> None:
        self.counts.write(len(self.children), self.cfg.workers, self.restarts)

    def fork(self) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            _worker_main(self.httpd, parent)
        self.children.add(pid)
        self.publish()

    def stop(self, *_: object) -> None:
        self.stopping = True
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def may_replace(self) -> bool:
        now = time.monotonic()
        while self.recent and now - self.recent[0] > RESTART_WINDOW_S:
            self.recent.popleft()
        return len(self.recent) < self.cfg.max_restarts

    def reap(self, pid: int, status: int) -> None:
        """A worker ended: replace it unless stopping or past the restart budget."""
        self.children.discard(pid)
        self.publish()
        if self.stopping:
            return
        how = f"signal {-os.waitstatus_to_exitcode(status)}" if os.WIFSIGNALED(status) else "exit"
        if self.may_replace():
            self.recent.append(time.monotonic())
            self.restarts += 1
            self.fork()
            print(f"funrl.reward serve: worker {pid} died ({how}); replaced", file=sys.stderr, flush=True)
        else:
            print(
                f"funrl.reward serve: worker {pid} died ({how}); not replaced: "
                f"{self.cfg.max_restarts} replacements in the last {RESTART_WINDOW_S:g} s (--max-restarts)",
                file=sys.stderr,
                flush=True,
            )

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        for _ in range(self.cfg.workers):
            self.fork()
        while self.children:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            self.reap(pid, status)
        if self.stopping:
            return 0
        print(
            "funrl.reward serve: no worker left and none may be started; exiting", file=sys.stderr, flush=True
        )
        return 1


def supervise(httpd: Any, cfg: ServeConfig) -> int:
    """Run ``httpd`` in ``cfg.workers`` supervised forked workers; returns the exit status."""
    try:
        if not hasattr(os, "fork"):
            try:
                httpd.serve_forever()
            except KeyboardInterrupt:
                pass
            return 0
        return Supervisor(httpd, cfg).run()
    finally:
        httpd.server_close()
