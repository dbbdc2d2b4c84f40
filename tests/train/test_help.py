"""``python -m funrl.train --help``: FunRL's own help (recipes, hardware profiles, common overrides, --check,
examples), not Hydra's generic one; fast, and it works without a recipe."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from funrl.train import available_hardware, available_recipes
from funrl.train.usage import description, help_text


def section(text: str, title: str) -> list[str]:
    """The first words of the lines of a help section."""
    block = text.split(f"\n\n{title}", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines()[1:]]


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_what_exists(flag, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "funrl.train", flag], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out == help_text() + "\n"
    assert "powered by Hydra" not in out and "Config {}" not in out
    assert out.startswith("usage: python -m funrl.train [--check] +recipe=<name> [hardware=<profile>]")
    assert section(out, "Recipes") == available_recipes()
    assert {"grpo", "grpo_entropy", "grpo_entropy_cpu", "sft_srml"} <= set(section(out, "Recipes"))
    assert section(out, "Hardware profiles") == available_hardware()
    assert {"a100_80gb", "h100_80gb", "cpu"} <= set(section(out, "Hardware profiles"))
    assert "  --check " in out and "Examples:\n  python -m funrl.train --check +recipe=" in out
    assert "actor_rollout_ref.model.path=<dir|hub id>" in out and "trainer.nnodes=<N>" in out
    assert not list(tmp_path.iterdir())  # no outputs/ folder: Hydra did not start


def test_descriptions_come_from_the_files():
    assert description("recipe", "grpo_entropy.yaml") == (
        "FunRL: GRPO with the entropy-augmented advantage (arXiv 2508.05118), estimator grpo_entropy"
    )
    assert re.search(
        r"\n  cpu +\[RL/SFT\] CPU only \(tests, laptop debugging on tiny models\): hardware=cpu\n",
        help_text(),
    )
    long = description("recipe", "grpo_entropy_cpu.yaml", width=40)
    assert long == "grpo_entropy at toy scale on CPU:..." and len(long) <= 40  # cut between words
