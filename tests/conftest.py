"""Fixtures shared by several test folders.

``WEATHER_FUNCTIONS`` is the one-function BFCL doc the reward, server and TRL tests score against
(``get_weather(city, unit)``, ``city`` required); the ``weather_functions`` fixture hands out a fresh copy
for tests that mutate it.
"""

from __future__ import annotations

import copy

import pytest

WEATHER_FUNCTIONS = [
    {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "dict",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
            "required": ["city"],
        },
    }
]


@pytest.fixture
def weather_functions() -> list[dict]:
    """A fresh copy of ``WEATHER_FUNCTIONS``."""
    return copy.deepcopy(WEATHER_FUNCTIONS)


#: The demo's warm start, run once for the session: 300 SRML SFT steps (the demo's) with a checkpoint
#: after step 200 as well; the refine test starts from step 200 (right on most demo queries, greedy, not
#: all), the single-turn end-to-end test from step 300 (the demo's own warm start).
DEMO_WARM_STEPS = (200, 300)


@pytest.fixture(scope="session")
def demo_warm_start(tmp_path_factory) -> dict:
    """The demo's data prep, tiny model and SRML SFT warm start, once per session.

    Returns ``{"data": <data-prep out dir>, "base": <untrained model>, 200: <hf dir>, 300: <hf dir>}``."""
    import os
    import subprocess

    from funrl.data_prep.demo import run_demo

    from funrl.demo import demo_model, sft_command

    d = tmp_path_factory.mktemp("demo_warm_start")
    run_demo(d / "data", ["progress=false"], echo=lambda s: None)
    base = demo_model(d / "base", d / "data" / "sft.parquet")
    save_at = DEMO_WARM_STEPS[0]
    cmd = [
        f"trainer.save_freq={save_at}" if arg == "trainer.save_freq=-1" else arg
        for arg in sft_command(base, d / "data" / "sft.parquet", d / "sft", steps=DEMO_WARM_STEPS[1])
    ]
    assert f"trainer.save_freq={save_at}" in cmd
    env = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    sft = subprocess.run(cmd, cwd=d, env=env, capture_output=True, text=True, timeout=1200)
    (d / "sft.log").write_text(sft.stdout + sft.stderr)
    assert sft.returncode == 0, (sft.stdout + sft.stderr)[-6000:]
    out = {"data": d / "data", "base": base}
    for step in DEMO_WARM_STEPS:
        out[step] = d / "sft" / f"global_step_{step}" / "huggingface"
        assert (out[step] / "config.json").is_file(), out[step]
    return out
