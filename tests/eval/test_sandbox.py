"""The sandbox that runs model-written code: verdicts, limits, and each layer stopping what it must.

Every escape is tried twice where it is safe to: once with the layer under test alone (it must stop
it, and the harm must not have happened: no file outside, no connection on the listener), and once
with no optional layer at all (the same program then succeeds, so the check itself can fail).
"""

from __future__ import annotations

import os
import re
import socket

import pytest

from funrl.eval.sandbox import LAYERS, Limits, RunResult, probe, run_program, seccomp_filter

ACTIVE = probe().layers  # the layers this kernel allows (all four on Linux >= 6.7 with user namespaces)
FAST = Limits(timeout_s=30, cpu_s=10)  # generous: the machine may be busy (no timing is asserted)


def _process_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_correct_program_passes_with_every_layer_this_kernel_allows() -> None:
    source = "def add(a, b):\n    return a + b\n\nassert add(2, 3) == 5\n"
    result = run_program(source, FAST)
    assert result == RunResult(True, "passed", "", ACTIVE, result.unavailable)
    assert set(LAYERS) <= set(ACTIVE) | set(result.unavailable)


def test_a_wrong_program_fails_with_the_failed_assertion() -> None:
    result = run_program("def add(a, b):\n    return a - b\n\nassert add(2, 3) == 5\n", FAST)
    assert (result.passed, result.reason) == (False, "wrong")
    assert "assert add(2, 3) == 5" in result.detail


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("raise ValueError('boom')\n", "exception"),
        ("import sys\nsys.exit(0)\nassert False\n", "exception"),  # exit 0 before the end is no pass
        ("import os\nos._exit(0)\n", "exception"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", "forbidden"),  # audit: no kill
        ("def f():\n    return f()\nf()\n", "exception"),
    ],
)
def test_every_way_of_not_reaching_the_end_is_a_failure(source: str, reason: str) -> None:
    result = run_program(source, FAST)
    assert (result.passed, result.reason) == (False, reason), result.detail


def test_a_main_block_does_not_run_and_site_packages_are_not_visible() -> None:
    source = (
        "import importlib.util\n"
        "assert importlib.util.find_spec('pytest') is None\n"
        "if __name__ == '__main__':\n"
        "    raise AssertionError('the main block ran')\n"
    )
    result = run_program(source, FAST)
    assert result.passed, result.detail


def test_an_infinite_loop_is_stopped_by_the_wall_clock() -> None:
    result = run_program("while True:\n    pass\n", Limits(timeout_s=1.0, cpu_s=30))
    assert (result.passed, result.reason) == (False, "timeout")
    assert "wall clock" in result.detail


def test_an_infinite_loop_is_stopped_by_the_cpu_limit() -> None:
    result = run_program("while True:\n    pass\n", Limits(timeout_s=300, cpu_s=1))
    assert (result.passed, result.reason) == (False, "timeout")
    assert "CPU time limit" in result.detail


def test_a_2_gb_allocation_is_refused() -> None:
    result = run_program("x = bytearray(2 * 1024**3)\nassert len(x) > 0\n", Limits(memory_mb=1024))
    assert (result.passed, result.reason) == (False, "memory")
    assert "MemoryError" in result.detail


FORK_BOMB = "import os\nprint('WORK', os.getcwd(), flush=True)\nwhile True:\n    os.fork()\n"


def _processes_naming(text: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text.encode() in f.read() and _process_alive(int(pid)):
                    found.append(int(pid))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("layers", [LAYERS, ("seccomp",), ("audit",), ("namespaces",)])
def test_a_fork_bomb_is_stopped_and_leaves_no_process(layers: tuple[str, ...]) -> None:
    if not set(layers) <= set(ACTIVE) or (layers == ("namespaces",) and ACTIVE["namespaces"] != "user+net"):
        pytest.skip(f"{layers} unavailable here (or no user namespace to count processes in)")
    # namespaces alone: forks do happen, up to the per-run process limit (counted in the user
    # namespace), and the bomb churns at that limit until the wall clock kills the group.
    result = run_program(FORK_BOMB, Limits(timeout_s=3, max_processes=16), layers)
    assert not result.passed
    expected = ("exception", "timeout") if layers == ("namespaces",) else ("forbidden",)
    assert result.reason in expected, result.detail
    work = re.search(r"WORK (\S+)", result.detail).group(1)
    assert _processes_naming(work) == []


def test_a_process_that_leaves_the_group_does_not_survive_the_run() -> None:
    """No optional layer, so the fork and setsid succeed; the sweep after the run must kill it."""
    source = (
        "import os, time\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os.setsid()\n"
        "    time.sleep(120)\n"
        "    os._exit(0)\n"
        "print('CHILD', pid, flush=True)\n"
        "raise SystemExit(3)\n"
    )
    result = run_program(source, FAST, layers=())
    pid = int(re.search(r"CHILD (\d+)", result.detail).group(1))
    assert not result.passed
    assert not _process_alive(pid)


WRITE = "open({path!r}, 'w').write('escaped')\n"
CATCH_WRITE = "try:\n    open({path!r}, 'w').write('escaped')\nexcept OSError:\n    pass\n"


@pytest.mark.parametrize("layer", ["landlock", "audit"])
def test_a_write_outside_the_run_directory_is_stopped(layer: str, tmp_path) -> None:
    if layer not in ACTIVE:
        pytest.skip(f"{layer} unavailable here")
    target = tmp_path / "escape.txt"
    result = run_program(WRITE.format(path=str(target)), FAST, layers=(layer,))
    assert (result.passed, result.reason) == (False, "forbidden"), result.detail
    assert not target.exists()


def test_a_caught_refusal_still_fails_the_program(tmp_path) -> None:
    target = tmp_path / "escape.txt"
    result = run_program(CATCH_WRITE.format(path=str(target)), FAST)
    assert (result.passed, result.reason) == (False, "forbidden")
    assert "open" in result.detail
    assert not target.exists()


def test_without_layers_the_same_write_happens(tmp_path) -> None:
    """The control: rlimits alone do not stop the write (so the tests above can fail)."""
    target = tmp_path / "escape.txt"
    result = run_program(WRITE.format(path=str(target)), FAST, layers=())
    assert result.passed
    assert target.read_text() == "escaped"


def test_writes_inside_the_run_directory_are_allowed_and_removed_afterwards() -> None:
    source = (
        "import os, tempfile\n"
        "open('scratch.txt', 'w').write('x')\n"
        "os.mkdir('d')\n"
        "with tempfile.NamedTemporaryFile('w', delete=False) as f:\n"
        "    f.write('y')\n"
        "print('WORK', os.getcwd(), flush=True)\n"
        "assert False\n"
    )
    result = run_program(source, FAST)
    assert result.reason == "wrong", result.detail
    work = re.search(r"WORK (\S+)", result.detail).group(1)
    assert not os.path.exists(work)


CONNECT = (
    "import socket\n"
    "s = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
    "s.sendall(b'hello')\n"
    "s.close()\n"
)


def _connected(listener: socket.socket) -> bool:
    listener.settimeout(0.5)
    try:
        conn, _ = listener.accept()
    except TimeoutError:
        return False
    conn.close()
    return True


@pytest.mark.parametrize("layers", [LAYERS, ("namespaces",), ("landlock",), ("seccomp",), ("audit",), ()])
def test_a_connection_to_a_loopback_listener_is_stopped(layers: tuple[str, ...]) -> None:
    if not set(layers) <= set(ACTIVE):
        pytest.skip(f"{layers} unavailable here")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        result = run_program(CONNECT.format(port=port), FAST, layers)
        if layers == ():  # the control: with no layer the connection is made
            assert result.passed, result.detail
            assert _connected(listener)
        else:
            assert not result.passed
            assert result.reason in ("forbidden", "exception"), result.detail
            assert not _connected(listener)


def test_threads_and_common_modules_still_work() -> None:
    source = (
        "import threading, hashlib, math, re, json, collections, itertools, functools, tempfile\n"
        "out = []\n"
        "t = threading.Thread(target=lambda: out.append(hashlib.md5(b'abc').hexdigest()))\n"
        "t.start(); t.join()\n"
        "assert out == ['900150983cd24fb0d6963f7d28e17f72']\n"
        "assert math.isclose(math.pi, 3.14159, rel_tol=1e-5)\n"
    )
    result = run_program(source, FAST)
    assert result.passed, result.detail


def test_the_seccomp_program_only_jumps_forward_and_ends_in_returns() -> None:
    for machine in ("x86_64", "aarch64"):
        program = seccomp_filter(machine, pid=1234)
        assert program[0] == (0x20, 0, 0, 4)  # load the architecture first
        assert all(code == 0x06 for code, *_ in program[-3:])  # allow, EPERM, kill
        for i, (code, jt, jf, _k) in enumerate(program):
            if code & 0x07 == 0x05:  # a jump: its targets exist
                assert i + 1 + max(jt, jf) < len(program)


def test_bad_arguments_are_refused_with_the_field() -> None:
    with pytest.raises(ValueError, match="Limits.memory_mb"):
        Limits(memory_mb=0)
    with pytest.raises(ValueError, match="layers: unknown"):
        run_program("pass", FAST, layers=("chroot",))
