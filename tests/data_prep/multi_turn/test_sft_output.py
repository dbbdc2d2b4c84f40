"""The SFT output: per-assistant-turn rows whose loss covers the current turn only (SRML think / call
segments), and a real verl SFT run of ``+recipe=sft_srml hardware=cpu`` on the synthesized data."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from funrl.data_prep.multi_turn.demo import run_demo

from funrl.sft.loss import CALL, IGNORE, THINK
from funrl.toy import run_sft_cpu, tiny_qwen2


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    d = tmp_path_factory.mktemp("mt_sft")
    run_demo(
        d / "data",
        ["trajectories=4", "class_sets=[[GorillaFileSystem]]", "walk.rounds=2", "progress=false"],
        echo=lambda s: None,
    )
    rows = pq.read_table(d / "data" / "sft.parquet").to_pylist()
    texts = [m["content"] for r in rows for m in r["messages"]]
    tiny_qwen2(d / "model", vocab_size=2048, extra_texts=texts)  # trained on the data: shorter sequences
    return d, rows


def test_loss_on_the_current_turn_only(synthesized):
    from funrl.data_prep.multi_turn.sft_dataset import CurrentTurnSFTDataset
    from omegaconf import OmegaConf
    from transformers import AutoTokenizer

    d, rows = synthesized
    tok = AutoTokenizer.from_pretrained(d / "model")
    cfg = OmegaConf.create({"pad_mode": "no_padding", "max_length": 65536, "truncation": "error"})
    ds = CurrentTurnSFTDataset([str(d / "data" / "sft.parquet")], tok, cfg)
    checked_context = 0
    for i, row in enumerate(rows):
        item = ds[i]
        ids, mask, seg = item["input_ids"], item["loss_mask"], item["segment_ids"]
        last = row["messages"][-1]["content"]
        assert tok.decode(ids[mask.bool()].tolist()) == last + "<|im_end|>\n"
        think = last.split("</think>", 1)[0] + "</think>"
        think_text, call_text = tok.decode(ids[seg == THINK].tolist()), tok.decode(ids[seg == CALL].tolist())
        # a token straddling </think> and the call belongs to the call (funrl.sft.segments)
        assert think_text + call_text == last + "<|im_end|>\n"
        assert think.startswith(think_text) and len(think_text) >= len(think) - 2
        assert ((seg != IGNORE) == mask.bool()).all()
        checked_context += sum(m["role"] == "assistant" for m in row["messages"][:-1])
    assert checked_context > 0  # rows with earlier assistant turns (masked out) were checked


@pytest.mark.slow
def test_sft_srml_trains_on_the_synthesized_data(synthesized):
    d, rows = synthesized
    steps = run_sft_cpu(
        [
            f"model.path={d / 'model'}",
            f"data.train_files={d / 'data' / 'sft.parquet'}",
            "data.custom_cls.path=pkg://funrl.data_prep.multi_turn.sft_dataset",
            "data.custom_cls.name=CurrentTurnSFTDataset",
            "data.train_batch_size=4",
            "data.use_dynamic_bsz=False",
            "data.micro_batch_size_per_gpu=2",
            "data.num_workers=0",
            "data.max_length=16384",
            "trainer.total_training_steps=3",
            "trainer.resume_mode=disable",
            "trainer.save_freq=-1",
            "checkpoint.save_contents=[]",
            f"trainer.default_local_dir={d / 'ckpt'}",
            "optim.lr=1e-3",
            "optim.lr_warmup_steps_ratio=0.0",
            "optim.lr_scheduler_type=constant",
        ],
        cwd=d,
    )
    print("multi-turn SFT on CPU, train/loss per step:", [round(s["train/loss"], 4) for s in steps])
    assert [s["step"] for s in steps] == [1, 2, 3]
    assert all(s["train/n_think_tokens"] > 0 and s["train/n_call_tokens"] > 0 for s in steps)
    assert steps[-1]["train/loss"] < steps[0]["train/loss"]
