"""The demo's multi-turn warm start, run once per test session and shared by the tests that train on it
(tests/rl/multi_turn/test_e2e_cpu.py and the demo's tests/test_e2e_cpu.py): ~80 s of CPU each time."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def warm_started(tmp_path_factory) -> Path:
    """A folder with ``train.parquet`` (the demo's two BFCL base entries) and ``model`` (the tiny Qwen2
    warm-started on them), made by the demo's own command (``funrl.demo.multi_turn_prep_command``:
    ``python -m funrl.rl.multi_turn.warm_start``) the first time a test asks; read-only for the tests."""
    from funrl.demo import multi_turn_prep_command

    d = tmp_path_factory.getbasetemp() / "multi_turn_warm_start"
    if not (d / "warm_start.json").exists():  # written last, after the model
        env = {**os.environ, "OMP_NUM_THREADS": "1"}  # as the demo runs it
        cmd = multi_turn_prep_command(d)
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return d
