"""W&B offline runs record FunRL's metric keys; ``python -m funrl.curves`` renders a PNG from the local log;
a checkpoint exports to a Hugging Face model.

- SFT, end to end: ``python -m funrl.train +recipe=sft_srml hardware=cpu`` on a tiny random Qwen2 (verl's
  real SFT trainer, 2 steps) with ``WANDB_MODE=offline``; the run's ``.wandb`` file holds the SRML metrics
  with the values printed on the console, under project ``funrl`` and the recipe's run name.
- RL: the ``funrl/*`` statistics of the ``grpo_entropy`` estimator, logged next to verl's reward / KL /
  entropy keys through verl's own ``Tracking`` (the trainer's logger) into an offline W&B run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from funrl.curves import main as curves_main
from funrl.curves import plotted_series, read_jsonl, read_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def run_info(run_dir: Path) -> tuple[str, str]:
    """(project, run name) from the run record of a local W&B run."""
    from wandb.proto import wandb_internal_pb2 as pb

    from funrl.curves import wandb_file, wandb_records

    for payload in wandb_records(wandb_file(run_dir).read_bytes()):
        record = pb.Record()
        record.ParseFromString(payload)
        if record.HasField("run"):
            return record.run.project, record.run.display_name
    raise AssertionError("no run record")


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory):
    from funrl.samples import write_sft_sample_parquet
    from funrl.toy import tiny_qwen2

    d = tmp_path_factory.mktemp("sft_wandb")
    tiny_qwen2(d / "model")
    write_sft_sample_parquet(d / "train.parquet")
    cmd = [
        sys.executable,
        "-m",
        "funrl.train",
        "+recipe=sft_srml",
        "hardware=cpu",
        f"model.path={d / 'model'}",
        f"data.train_files={d / 'train.parquet'}",
        "data.train_batch_size=8",
        "data.use_dynamic_bsz=False",
        "data.micro_batch_size_per_gpu=8",
        "trainer.total_training_steps=2",
        f"trainer.default_local_dir={d / 'ckpt'}",
        "optim.lr=1e-3",
    ]
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_DIR": str(d), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=d, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return d, out


def console_metrics(out: str) -> dict[int, dict[str, float]]:
    steps = {}
    for match in re.finditer(r"step:(\d+) - (.*)", out):
        items = (item.partition(":") for item in match.group(2).split(" - "))
        steps[int(match.group(1))] = {
            k.strip(): float(v) for k, _, v in items if re.fullmatch(r"[-+.e\d]+", v)
        }
    return steps


@pytest.mark.slow
def test_sft_offline_run_records_the_srml_metrics(sft_run):
    d, out = sft_run
    series = read_run(d / "wandb")  # latest-run
    console = console_metrics(out)
    assert sorted(console) == [1, 2]
    for key in ("train/L_think", "train/L_call", "train/L_total", "train/w_think", "train/n_think_tokens"):
        assert [s for s, _ in series[key]] == [1, 2], key
        for step, value in series[key]:
            assert value == pytest.approx(console[step][key], rel=1e-6), (key, step)
    assert all(v == pytest.approx(0.7) for _, v in series["train/w_think"])
    assert run_info(d / "wandb") == ("funrl", "sft_srml_qwen2.5-coder-7b")


@pytest.mark.slow
def test_curves_png_from_the_sft_run(sft_run, tmp_path):
    d, out_text = sft_run
    out = tmp_path / "sft.png"
    curves_main([str(d / "wandb"), "-o", str(out), "--metric", "train/L_think", "--metric", "train/L_call"])
    assert png_size(out) == (1000, 360)  # 2 panels x 5 in x 100 dpi, 3.6 in high
    # what is drawn: per panel, the run's points of that key, equal to what the trainer printed per step
    console = console_metrics(out_text)
    panels = {"train/L_think": ("train/L_think",), "train/L_call": ("train/L_call",)}
    drawn = plotted_series(read_run(d / "wandb"), panels)
    for key in panels:
        assert list(drawn[key]) == [key]
        assert [s for s, _ in drawn[key][key]] == [1, 2]
        for step, value in drawn[key][key]:
            assert value == pytest.approx(console[step][key], rel=1e-6), (key, step)


@pytest.mark.slow
def test_checkpoint_exports_a_hugging_face_model(sft_run, tmp_path):
    """The recipe saves hf_model; verl's model merger exports the sharded checkpoint to the same weights."""
    import torch
    from transformers import AutoModelForCausalLM

    d, _ = sft_run
    step = d / "ckpt" / "global_step_2"
    merge = [sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp"]
    merge += ["--local_dir", str(step), "--target_dir", str(tmp_path / "hf")]
    subprocess.run(merge, check=True, capture_output=True, timeout=300)
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "hf").state_dict()
    saved = AutoModelForCausalLM.from_pretrained(step / "huggingface").state_dict()
    initial = AutoModelForCausalLM.from_pretrained(d / "model").state_dict()
    assert merged.keys() == saved.keys()
    assert all(torch.equal(merged[k], saved[k]) for k in merged)
    assert max((merged[k] - initial[k]).abs().max().item() for k in merged) > 1e-4  # trained weights


RL_LOGGER = r"""
import sys, torch
from verl.utils.tracking import Tracking
from funrl.rl.advantage import entropy_shaped_grpo_advantage
from funrl.rl.trainer_hook import METRIC_PREFIX

rewards = torch.zeros(4, 3); rewards[0, -1] = 1.0; rewards[2, -1] = 1.0   # (bs=4, T=3), score on last token
mask = torch.ones(4, 3)
index = ["a", "a", "b", "b"]
entropy = torch.tensor([[0.9, 0.5, 0.1], [0.2, 0.4, 0.3], [1.0, 1.0, 1.0], [0.6, 0.6, 0.6]])
cot = torch.tensor([[1, 1, 0], [1, 0, 0], [1, 1, 0], [0, 0, 0]], dtype=torch.bool)
_, _, stats = entropy_shaped_grpo_advantage(rewards, mask, index, entropy, cot, alpha=0.4, kappa=2.0,
                                            form="sequence", norm_adv_by_std=True, epsilon=1e-6)
tracking = Tracking(project_name="funrl", experiment_name="grpo_entropy_test", default_backend=["console", "wandb"])
for step in (1, 2, 3):
    metrics = {METRIC_PREFIX + k: v for k, v in stats.items()}
    metrics.update({"critic/score/mean": 0.1 * step, "actor/kl_loss": 0.01 * step, "actor/ppo_kl": 0.001,
                    "actor/entropy": 1.0 - 0.1 * step})
    tracking.log(data=metrics, step=step)
tracking.finish()
print("FUNRL_KEYS", ",".join(sorted(METRIC_PREFIX + k for k in stats)))
"""


@pytest.mark.slow
def test_rl_funrl_metrics_reach_an_offline_wandb_run_and_plot(tmp_path):
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", RL_LOGGER], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    keys = re.search(r"FUNRL_KEYS (\S+)", proc.stdout).group(1).split(",")
    assert "funrl/cot_entropy_mean" in keys and "funrl/entropy_bonus_mean" in keys
    series = read_run(tmp_path / "wandb")
    for key in keys:
        assert [s for s, _ in series[key]] == [1, 2, 3], key
    # hand-computed: CoT tokens of the 3 responses with CoT: (0.9 + 0.5) + 0.2 + (1.0 + 1.0) = 3.6 over 5 tokens
    assert series["funrl/cot_entropy_mean"][0][1] == pytest.approx(3.6 / 5)
    assert series["actor/kl_loss"] == [(1, 0.01), (2, 0.02), (3, pytest.approx(0.03))]
    assert run_info(tmp_path / "wandb") == ("funrl", "grpo_entropy_test")
    out = tmp_path / "curves.png"
    curves_main([str(tmp_path / "wandb"), "-o", str(out)])  # default panels: reward, KL, entropy
    assert png_size(out) == (1500, 360)


def test_curves_reads_verls_file_logger(tmp_path):
    log = tmp_path / "run.jsonl"
    log.write_text(
        '{"step": 1, "data": {"critic/score/mean": 0.25, "actor/kl_loss": 0.001, "actor/entropy": 0.9, "x": "s"}}\n'
        '{"step": 2, "data": {"critic/score/mean": 0.5, "actor/kl_loss": 0.002, "actor/entropy": 0.8}}\n'
    )
    series = read_jsonl(log)
    assert series["critic/score/mean"] == [(1, 0.25), (2, 0.5)] and "x" not in series
    out = tmp_path / "c.png"
    curves_main([str(log), "-o", str(out)])
    assert png_size(out) == (1500, 360)
    with pytest.raises(SystemExit) as exit_info:
        curves_main([str(log), "-o", str(out), "--metric", "funrl/nope"])
    assert exit_info.value.code == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"data": {}}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:1: not a verl file-logger line"):
        read_jsonl(bad)
