"""The demo's multi-turn stage without running it (the run itself, on the demo's warm-started model, is
checked in tests/test_e2e_cpu.py, slow): its commands, the per-step summary, ``--no-multi-turn``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from funrl.demo import (
    MT_GROUP_SIZE,
    MT_GRPO_STEPS,
    MT_TOOL_CHARS,
    MT_WARM_STEPS,
    build_parser,
    multi_turn_command,
    multi_turn_prep_command,
    print_multi_turn_summary,
)


def test_the_demo_warm_start_defaults():
    cmd = multi_turn_prep_command(Path("/x"))
    assert cmd[1:3] == ["-m", "funrl.rl.multi_turn.warm_start"]
    assert f"--steps={MT_WARM_STEPS}" in cmd and f"--max_tool_output_chars={MT_TOOL_CHARS}" in cmd


def test_the_multi_turn_grpo_command_composes():
    from funrl.train import compose_config

    cmd = multi_turn_command(Path("/prep"), Path("/out"), steps=MT_GRPO_STEPS)
    assert cmd[1:4] == ["-m", "funrl.train", "+recipe=grpo_entropy_multi_turn_cpu"]
    cfg = compose_config(cmd[3:])
    assert cfg.actor_rollout_ref.model.path == "/prep/model"
    assert cfg.data.train_files == "/prep/train.parquet"
    assert cfg.trainer.total_training_steps == MT_GRPO_STEPS
    assert "wandb" not in cfg.trainer.logger  # the curves read the single-turn W&B run, the latest one
    assert cfg.bfcl_multi_turn.max_tool_output_chars == MT_TOOL_CHARS  # what the warm start rendered
    assert cfg.bfcl_multi_turn.reward == "turn_mean"
    assert cfg.actor_rollout_ref.rollout.n == MT_GROUP_SIZE == 4  # groups that are mixed more often


def test_the_multi_turn_summary(tmp_path, capsys):
    metrics = tmp_path / "metrics.jsonl"
    data = {
        "critic/score/mean": 0.125,
        "critic/score/min": 0.0,
        "critic/score/max": 0.5,
        "funrl/multi_turn/turns_passed": 0.25,
        "funrl/multi_turn/turns_reached": 2.75,
        "funrl/multi_turn/format_share": 0.23,
        "funrl/entropy_bonus_mean": 0.0581,
        "funrl/all_equal_group_frac": 0.5,
        "timing_s/step": 20.0,
    }
    metrics.write_text(json.dumps({"step": 1, "data": data}) + "\n")
    print_multi_turn_summary(metrics)
    line = capsys.readouterr().out
    assert line.startswith(
        "[funrl.demo] multi-turn GRPO step 1: reward (turn_mean) 0.125 (min 0.00, max 0.50)"
    )
    assert "turns passed 0.25, reached 2.75" in line and "entropy bonus 0.0581" in line


def test_no_multi_turn_flag():
    parser = build_parser()
    assert parser.parse_args(["--out", "o", "--no-multi-turn"]).no_multi_turn
    args = parser.parse_args(["--out", "o"])
    assert not args.no_multi_turn and args.multi_turn_steps == MT_GRPO_STEPS


def test_a_background_stage_logs_and_fails_loudly(tmp_path, capsys):
    import sys

    import pytest

    from funrl.demo import finish_stage, start_stage

    ok = start_stage("ok", [sys.executable, "-c", "print('hello')"], out=tmp_path)
    bad = start_stage("bad", [sys.executable, "-c", "raise SystemExit(3)"], out=tmp_path)
    finish_stage(ok)
    assert (tmp_path / "logs" / "ok.log").read_text() == "hello\n"
    with pytest.raises(SystemExit) as failed:
        finish_stage(bad)
    assert failed.value.code == 1
    assert "bad failed (exit 3)" in capsys.readouterr().err


def test_without_bfcl_eval_it_says_what_to_install_before_running_anything(tmp_path, monkeypatch, capsys):
    import funrl.train.extras
    from funrl.demo import main

    def missing(modules):
        return [m for m in modules if m == "bfcl_eval"]

    monkeypatch.setattr(funrl.train.extras, "missing_modules", missing)
    assert main(["--out", str(tmp_path / "demo")]) == 2
    err = capsys.readouterr().err
    assert "pip install --no-deps bfcl-eval==2026.3.23" in err and "--no-multi-turn" in err
    assert not (tmp_path / "demo" / "logs").exists()  # no stage started


@pytest.mark.parametrize("flag", ["--sft-steps", "--grpo-steps", "--multi-turn-steps"])
@pytest.mark.parametrize(
    ("value", "why"), [("0", "must be an integer >= 1, got 0"), ("x", "invalid int value: 'x'")]
)
def test_step_counts_below_1_are_refused_before_any_stage(tmp_path, capsys, flag, value, why):
    from funrl.demo import main

    with pytest.raises(SystemExit) as exc:
        main(["--out", str(tmp_path / "demo"), flag, value])
    assert exc.value.code == 2
    assert f"argument {flag}: {why}" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()
