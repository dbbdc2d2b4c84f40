"""#14 item 5: SFT rows longer than ``output.max_length`` tokens of the target tokenizer (counted as verl's
MultiTurnSFTDataset counts them) are dropped at export and in ``convert``, and reported."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from funrl.data_prep.__main__ import main
from funrl.data_prep.demo import run_demo

SAMPLES = Path(__file__).resolve().parents[2] / "data_prep" / "samples"


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory):
    from funrl.toy import tiny_tokenizer

    path = tmp_path_factory.mktemp("tok")
    tiny_tokenizer(path)
    return str(path)


def _convert(out: Path, *extra: str) -> dict:
    argv = ["convert", "--input", str(SAMPLES / "demo_xlam.json"), "--out", str(out), *extra]
    assert main(argv) == 0
    return json.loads((out / "report.json").read_text())["convert"]


def _verl_lengths(path: Path, tok, max_length: int) -> dict[str, int]:
    """Sequence length of each row as verl's own SFT dataset builds it (truncation=error)."""
    from omegaconf import OmegaConf
    from verl.utils.dataset.multiturn_sft_dataset import MultiTurnSFTDataset

    ds = MultiTurnSFTDataset(
        str(path), tok, OmegaConf.create({"max_length": max_length, "truncation": "error"})
    )
    ids = [r["sample_id"] for r in pq.read_table(path).to_pylist()]
    return {sid: int(ds[i]["attention_mask"].sum()) for i, sid in enumerate(ids)}


def test_convert_drops_and_reports_overlong_rows(tmp_path, tok_dir):
    pytest.importorskip("verl")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tok_dir)
    full = _convert(tmp_path / "full")
    assert full["sft_rows"] == 8 and full["sft_overlong"] == 0 and full["length_check"].startswith("off")
    # verl's count of every conversation; the limit is set between the 4th and 5th longest.
    verl_len = _verl_lengths(tmp_path / "full" / "sft.parquet", tok, 100_000)
    ranked = sorted(verl_len.values())
    limit = ranked[3]
    assert ranked[4] > limit, "the sample needs distinct lengths around the limit"
    too_long = {sid for sid, n in verl_len.items() if n > limit}
    assert len(too_long) == 4

    cut = _convert(tmp_path / "cut", "--tokenizer", tok_dir, f"output.max_length={limit}")
    assert (cut["sft_rows"], cut["sft_overlong"], cut["rl_rows"]) == (4, 4, 8)  # RL rows stay
    kept = pq.read_table(tmp_path / "cut" / "sft.parquet").to_pylist()
    assert {r["sample_id"] for r in kept} == set(verl_len) - too_long
    overlong = [json.loads(line) for line in (tmp_path / "cut" / "overlong.jsonl").read_text().splitlines()]
    assert {(o["sample_id"], o["tokens"], o["max_length"]) for o in overlong} == {
        (sid, verl_len[sid], limit) for sid in too_long
    }
    # verl with truncation=error and data.max_length=limit loads every kept row, and fails on a dropped one.
    assert _verl_lengths(tmp_path / "cut" / "sft.parquet", tok, limit) == {
        sid: n for sid, n in verl_len.items() if sid not in too_long
    }
    with pytest.raises(ValueError, match="larger than"):
        _verl_lengths(tmp_path / "full" / "sft.parquet", tok, limit)


def test_export_drops_overlong_rows(tmp_path, tok_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tok_dir)
    base = run_demo(tmp_path / "a", ["progress=false", f"output.tokenizer={tok_dir}"], echo=lambda _: None)
    assert base["export"]["sft_rows"] == 13 and base["export"]["sft_overlong"] == 0
    rows = pq.read_table(tmp_path / "a" / "sft.parquet").to_pylist()
    text = {r["sample_id"]: tok.apply_chat_template(r["messages"], tokenize=False) for r in rows}
    counts = {sid: len(tok(t, add_special_tokens=False)["input_ids"]) for sid, t in text.items()}
    limit = sorted(counts.values())[9]
    too_long = {sid for sid, n in counts.items() if n > limit}
    assert 0 < len(too_long) <= 3
    cut = run_demo(
        tmp_path / "b",
        ["progress=false", f"output.tokenizer={tok_dir}", f"output.max_length={limit}"],
        echo=lambda _: None,
    )["export"]
    assert (cut["sft_rows"], cut["sft_overlong"], cut["rl_rows"]) == (13 - len(too_long), len(too_long), 11)
    overlong = [json.loads(line) for line in (tmp_path / "b" / "overlong.jsonl").read_text().splitlines()]
    assert {o["sample_id"] for o in overlong} == too_long


def test_a_tokenizer_that_cannot_load_is_a_configuration_error(tmp_path, capsys):
    argv = ["convert", "--input", str(SAMPLES / "demo_xlam.json"), "--out", str(tmp_path), "--tokenizer"]
    assert main([*argv, str(tmp_path / "missing")]) == 2
    assert "cannot be loaded" in capsys.readouterr().err
