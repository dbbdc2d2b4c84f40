"""``python -m funrl.train`` as users run it: from any directory, in an editable and in a regular
(non-editable) install; ``--cfg job`` and ``--check`` start nothing; a missing recipe fails clearly; the
verl plugin registers ``grpo_entropy`` in a fresh process with no FunRL import."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def train(*args: str, cwd: Path, pythonpath: Path | None = None, timeout: int = 300):
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-m", "funrl.train", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def job_config(out: str) -> dict:
    return yaml.safe_load(out)


def test_cfg_job_prints_the_composed_config_from_any_directory(tmp_path):
    proc = train(
        "+recipe=grpo_entropy", "hardware=h100_80gb", "trainer.nnodes=4", "--cfg", "job", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    cfg = job_config(proc.stdout)
    assert cfg["algorithm"]["adv_estimator"] == "grpo_entropy"
    assert cfg["funrl"]["entropy"] == {"alpha": 0.4, "kappa": 2.0, "form": "sequence"}
    assert cfg["actor_rollout_ref"]["rollout"]["tensor_model_parallel_size"] == 1  # the H100 profile
    assert cfg["trainer"]["nnodes"] == 4
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "checkpoints").exists()  # started nothing


def test_check_validates_and_prints_the_batch_arithmetic(tmp_path, inputs):
    from tests.train.conftest import write_rl_parquet

    rl = write_rl_parquet(tmp_path / "rl.parquet", rows=512)
    data = [
        f"data.train_files={rl}",
        f"data.val_files={rl}",
        f"actor_rollout_ref.model.path={inputs['model']}",
    ]
    proc = train("--check", "+recipe=grpo_entropy", *data, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[funrl.train] per step: 512 prompts x 8 = 4096 responses" in proc.stdout
    assert "[funrl.train] advantage estimator grpo_entropy (funrl.rl.estimator)" in proc.stdout
    assert "config OK (--check: nothing started)" in proc.stdout
    assert not (tmp_path / "checkpoints").exists()
    bad = train("--check", "+recipe=grpo_entropy", *data, "trainer.nnodes=3", cwd=tmp_path)
    assert bad.returncode == 2
    assert "config error: data.train_batch_size=512 prompts x rollout.n=8 = 4096 responses" in bad.stderr


def test_without_a_recipe_it_says_which_exist(tmp_path):
    proc = train(cwd=tmp_path)
    assert proc.returncode == 2
    assert re.search(
        r"no recipe selected: add \+recipe=<name> \(one of: grpo, grpo_entropy, .*sft_srml", proc.stderr
    )


def test_plugin_registers_grpo_entropy_in_a_fresh_process(tmp_path):
    code = (
        "import sys, verl\n"
        "from verl.trainer.ppo.core_algos import get_adv_estimator_fn\n"
        "fn = get_adv_estimator_fn('grpo_entropy')\n"
        "print(fn.__module__, 'funrl.rl.trainer_hook' in sys.modules, 'funrl.train' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["funrl.rl.estimator", "False", "False"]


def test_editable_install_finds_the_recipes_in_the_repository(tmp_path):
    code = "import funrl.recipes; print(funrl.recipes.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert Path(out.stdout.strip()).resolve() == REPO / "recipes" / "__init__.py"  # this checkout: editable
    proc = train("+recipe=sft_srml", "--cfg", "job", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (
        job_config(proc.stdout)["funrl"]["srml"]["alpha"] == 0.7
    )  # the group was found, not just a key added


@pytest.fixture(scope="module")
def regular_install(tmp_path_factory) -> Path:
    """``pip install --no-deps --target``: a regular (non-editable) install of this checkout's tracked files."""
    root = tmp_path_factory.mktemp("regular")
    src, site = root / "src", root / "site"
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for name in tracked.splitlines():
        if name.split("/")[0] in {"funrl", "recipes", "reward", "data_prep", "pyproject.toml", "README.md"}:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            if (REPO / name).is_file():
                shutil.copy2(REPO / name, src / name)
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--target", str(site)]
    subprocess.run([*pip, "-q", str(src)], check=True, capture_output=True, timeout=300)
    return site


def test_regular_install_ships_the_recipes_and_launch_scripts(regular_install, tmp_path):
    recipes = regular_install / "funrl" / "recipes"
    shipped = {p.name for p in (recipes / "recipe").glob("*.yaml")}
    assert {"grpo.yaml", "grpo_entropy.yaml", "sft_srml.yaml"} <= shipped
    assert (recipes / "hardware" / "rl" / "h100_80gb.yaml").is_file()
    assert (recipes / "launch" / "submit_ray_job.sh").is_file() and (
        recipes / "launch" / "slurm_sft.sbatch"
    ).is_file()
    code = "import funrl.recipes; print(funrl.recipes.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(regular_install)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(out.stdout.strip()).is_relative_to(regular_install)  # not the editable checkout
    for recipe, key in [
        ("grpo_entropy", ("algorithm", "adv_estimator")),
        ("sft_srml", ("funrl", "srml", "alpha")),
    ]:
        proc = train(
            f"+recipe={recipe}",
            "hardware=h100_80gb",
            "--cfg",
            "job",
            cwd=tmp_path,
            pythonpath=regular_install,
        )
        assert proc.returncode == 0, proc.stderr
        value = job_config(proc.stdout)
        for part in key:
            value = value[part]
        assert value == {"grpo_entropy": "grpo_entropy", "sft_srml": 0.7}[recipe]
