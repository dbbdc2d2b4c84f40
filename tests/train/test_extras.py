"""The light install: ``funrl.train``, ``funrl.demo`` and ``funrl.curves`` say which extra to install, in
one line with exit status 2 and before doing any work, when a module of the ``train`` extra is missing.
The missing module is simulated in a subprocess by a finder that refuses to import it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

BLOCKING_RUNNER = textwrap.dedent(
    """
    import runpy, sys
    blocked = set(sys.argv[1].split(","))

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in blocked:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
    module = sys.argv[2]
    sys.argv = [module, *sys.argv[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    """
)
HINT = 'pip install torch==2.13.0 (on CPU; on GPUs the gpu extra brings it), then pip install -e ".[train]"'


def run_without(blocked: str, module: str, *args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCKING_RUNNER, blocked, module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("blocked", "module", "args", "named"),
    [
        ("omegaconf", "funrl.train", ["--check", "+recipe=grpo_entropy"], "omegaconf"),
        ("torch", "funrl.train", ["+recipe=sft_srml"], "torch"),
        ("omegaconf,torch", "funrl.demo", ["--out", "demo"], "omegaconf, torch"),
        ("matplotlib", "funrl.curves", ["run-dir", "-o", "c.png"], "matplotlib"),
    ],
)
def test_missing_extra_is_one_line_naming_it_and_status_2(blocked, module, args, named, tmp_path):
    proc = run_without(blocked, module, *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        f"{module}: needs FunRL's train extra ({named} not installed): {HINT} in the FunRL checkout"
    ]
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert list(tmp_path.iterdir()) == []  # no work done: the demo's --out was not even created


def test_the_blocker_really_blocks(tmp_path):
    """The harness itself: without the guard, the blocked module is an ImportError (so the test can fail)."""
    proc = run_without("omegaconf", "omegaconf", cwd=tmp_path)
    assert proc.returncode == 1 and "ModuleNotFoundError: No module named 'omegaconf'" in proc.stderr


def test_curves_on_a_verl_jsonl_log_does_not_need_wandb(tmp_path):
    from funrl.train.extras import missing_modules

    assert missing_modules(["json", "no_such_module_funrl"]) == ["no_such_module_funrl"]
    proc = run_without("wandb", "funrl.curves", "log.jsonl", cwd=tmp_path)
    assert "train extra" not in proc.stderr  # went past the guard (then fails on the missing file)
