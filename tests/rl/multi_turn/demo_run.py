"""The demo's multi-turn stage, run once per test session and shared by the tests that check it
(tests/rl/multi_turn/test_e2e_cpu.py, the issue's checks, and the demo's tests/test_e2e_cpu.py): the
warm start (~80 s of CPU) and the 2-step GRPO run (~1 min of Ray start-up and ~15-30 s a step) each
cost more than all the checks on them. Nothing here writes into what it returns once it is complete."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def warm_started(tmp_path_factory) -> Path:
    """A folder with ``train.parquet`` (the demo's two BFCL base entries), ``model`` (the tiny Qwen2
    warm-started on them) and ``warm_start.json``, made by the demo's own command
    (``funrl.demo.multi_turn_prep_command``: ``python -m funrl.rl.multi_turn.warm_start``)."""
    from funrl.demo import multi_turn_prep_command

    d = tmp_path_factory.getbasetemp() / "multi_turn_warm_start"
    if not (d / "warm_start.json").exists():  # written last, after the model
        env = {**os.environ, "OMP_NUM_THREADS": "1"}  # as the demo runs it
        proc = subprocess.run(
            multi_turn_prep_command(d), env=env, capture_output=True, text=True, timeout=1200
        )
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return d


def demo_multi_turn(tmp_path_factory) -> Path:
    """The demo's output folder after its multi-turn GRPO stage (``funrl.demo.multi_turn_grpo``,
    ``MT_GRPO_STEPS`` steps on :func:`warm_started`'s model): ``multi_turn/metrics.jsonl`` (verl's file
    logger), ``multi_turn/trajectories`` (the loop's per-trajectory JSON and the trainer hook's
    ``hook_<step>.pt``), ``multi_turn/checkpoints``, ``logs/multi_turn_grpo.log``."""
    from funrl.demo import MT_GRPO_STEPS, multi_turn_grpo

    out = tmp_path_factory.getbasetemp() / "demo_multi_turn"
    done = out / "done"
    if not done.exists():
        multi_turn_grpo(out, warm_started(tmp_path_factory), MT_GRPO_STEPS)  # exits on failure
        done.touch()
    return out
