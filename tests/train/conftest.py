"""Tiny local inputs for the training tests: a model directory and RL / SFT parquet files (nothing is
downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

RL_ROWS = 16


def write_rl_parquet(path: Path, rows: int = RL_ROWS) -> Path:
    """An RL parquet in verl's RLHFDataset schema (what funrl.data_prep writes): ``rows`` prompts."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from funrl.reward import ground_truth_json

    doc = {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "dict",
            "properties": {"city": {"type": "string", "description": "The city."}},
            "required": ["city"],
        },
    }
    ground_truth = ground_truth_json([doc], [{"get_weather": {"city": ["Paris"]}}], "simple")
    table = [
        {
            "data_source": "funrl/test",
            "prompt": [
                {"role": "system", "content": "Tools: get_weather(city)"},
                {"role": "user", "content": f"Weather in Paris, question {i}?"},
            ],
            "ability": "function_calling",
            "reward_model": {"style": "rule", "ground_truth": ground_truth},
            "extra_info": {"split": "train", "index": i},
        }
        for i in range(rows)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(table), path)
    return path


@pytest.fixture(scope="session")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """{"model": tiny Qwen2 directory, "rl": RL parquet (16 rows), "sft": SFT parquet (32 rows)}."""
    from funrl.samples import write_sft_sample_parquet
    from funrl.toy import tiny_qwen2

    d = tmp_path_factory.mktemp("train_inputs")
    return {
        "model": tiny_qwen2(d / "model"),
        "rl": write_rl_parquet(d / "rl.parquet"),
        "sft": write_sft_sample_parquet(d / "sft.parquet"),
    }
