"""The toy demo command and the sample config."""

from __future__ import annotations

import json
from pathlib import Path

from funrl.data_prep.__main__ import main as data_prep_main
from funrl.data_prep.multi_turn.config import MultiTurnConfig, load_config

SAMPLE = Path(__file__).parents[3] / "data_prep" / "samples" / "multi_turn" / "multi_turn.yaml"


def test_demo_command_runs_every_path(tmp_path, capsys):
    assert data_prep_main(["multi_turn_demo", "--out", str(tmp_path), "progress=false"]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["phase_1_walk"]["trajectories"] == 8
    assert report["kept"]["trajectories"] > 0 and report["kept"]["sft_rows"] > 0
    chain = report["phase_3_chain"]
    assert chain["critic_hints"] > 0 and "2" in chain["tries_per_accepted_round"]
    assert "format" in chain["failed_tries"]  # the demo shows every path
    assert {"reasoner:never_passed", "trajectory:reasoner:never_passed"} <= set(report["drop_reasons"])
    out = capsys.readouterr().out
    assert "phase_3_chain" in out and "rl_multi_turn.jsonl" in out
    rl = [json.loads(x) for x in (tmp_path / "rl_multi_turn.jsonl").read_text().splitlines()]
    assert {"id", "question", "initial_config", "involved_classes", "ground_truth"} <= set(rl[0])


def test_sample_config_is_the_defaults_written_out():
    cfg = load_config(SAMPLE)
    default = MultiTurnConfig()
    assert cfg.walk == default.walk and cfg.query_writer == default.query_writer
    assert (cfg.k_max, cfg.max_steps, cfg.contamination, cfg.guard) == (
        default.k_max,
        default.max_steps,
        default.contamination,
        default.guard,
    )
