"""RL parquet rows for BFCL multi-turn entries, read back by verl's own RLHFDataset; the split and CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from funrl.envs.bfcl import BfclEnv, load_entries
from funrl.rl.multi_turn import data


def test_row_holds_turn_zero_and_the_whole_entry(entries):
    entry = entries["multi_turn_miss_func_0"]
    row = data.row_for(entry, "think_answer", "train", 7)
    assert row["agent_name"] == "bfcl_multi_turn" and row["data_source"] == "bfcl/multi_turn_miss_func"
    assert json.loads(row["extra_info"]["bfcl_entry"]) == entry
    assert json.loads(row["reward_model"]["ground_truth"]) == entry["ground_truth"]
    assert row["extra_info"]["index"] == 7 and row["extra_info"]["id"] == entry["id"]
    system, *users = row["prompt"]
    assert system["role"] == "system" and users == entry["question"][0]
    env = BfclEnv(entry)
    visible = {d["name"] for d in env.tools(0)}
    hidden = env.hidden_functions(0)
    env.close()
    assert hidden and visible.isdisjoint(hidden)
    assert all(f'"name": "{n}"' in system["content"] for n in visible)
    assert not any(f'"name": "{n}"' in system["content"] for n in hidden)
    assert "<think>" in system["content"]  # the trained format's instruction


def test_verl_dataset_reads_the_rows(tmp_path, tokenizer, entries):
    from omegaconf import OmegaConf
    from verl.utils.dataset.rl_dataset import RLHFDataset

    rows = [data.row_for(e, "think_answer", "train", i) for i, e in enumerate(entries.values())]
    data.write_parquet(rows, str(tmp_path / "train.parquet"))
    config = OmegaConf.create({"max_prompt_length": 100000, "filter_overlong_prompts": False})
    dataset = RLHFDataset(str(tmp_path / "train.parquet"), tokenizer, config)
    assert len(dataset) == len(rows)
    item = dataset[1]
    assert item["agent_name"] == "bfcl_multi_turn"
    assert list(item["raw_prompt"]) == rows[1]["prompt"]
    assert json.loads(item["extra_info"]["bfcl_entry"]) == list(entries.values())[1]


def test_split_holds_out_every_kth_entry_per_category():
    base, miss = load_entries("base")[:5], load_entries("miss_func")[:3]
    train, held = data.split_ids(base + miss, 2)
    assert [e["id"] for e in held] == [
        "multi_turn_base_0",
        "multi_turn_base_2",
        "multi_turn_base_4",
        "multi_turn_miss_func_0",
        "multi_turn_miss_func_2",
    ]
    assert {e["id"] for e in train} == {"multi_turn_base_1", "multi_turn_base_3", "multi_turn_miss_func_1"}
    with pytest.raises(ValueError, match="held_out_every"):
        data.split_ids(base, 1)


def test_cli_writes_both_sides_and_warns_about_contamination(tmp_path, capsys):
    assert data.main(["--out", str(tmp_path), "--categories", "base,long_context", "--limit", "3"]) == 0
    err = capsys.readouterr().err
    assert "test set" in err and "held-out" in err
    split = json.loads((tmp_path / "split.json").read_text())
    assert split["train"] == ["multi_turn_base_1", "multi_turn_long_context_1"]
    assert len(split["held_out"]) == 4 and "test set" in split["note"]
    train = pd.read_parquet(tmp_path / "train.parquet")
    held = pd.read_parquet(tmp_path / "held_out.parquet")
    assert list(train["extra_info"].map(lambda x: x["id"])) == split["train"]
    assert set(held["extra_info"].map(lambda x: x["split"])) == {"held_out"}


def test_entries_file_errors_name_the_line_and_field(tmp_path):
    good = load_entries("base")[0]
    path = tmp_path / "entries.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "ground_truth": "x"}) + "\n")
    with pytest.raises(ValueError, match=r"entries.jsonl:2: .*ground_truth"):
        data.main(["--out", str(tmp_path / "o"), "--entries", str(path)])
    path.write_text(json.dumps(good) + "\n")
    assert data.main(["--out", str(tmp_path / "o"), "--entries", str(path)]) == 0
    assert json.loads((tmp_path / "o" / "split.json").read_text())["train"] == [good["id"]]
