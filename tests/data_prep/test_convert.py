"""#13 item 6: ``convert`` turns rows with reference calls into verl's RL parquet and an SFT parquet,
with no teacher or judge: rows in = rows out + rows quarantined, verl's RLHFDataset loads the RL file, and
every reference answer scores 1.0 with funrl.reward."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from funrl.data_prep.__main__ import main
from funrl.reward import THINK_CLOSE, THINK_OPEN, compute_score

SAMPLES = Path(__file__).resolve().parents[2] / "data_prep" / "samples"

# Hand counts of the bundled samples (see docs/data_prep.md): reader args, RL train/val rows, quarantine.
CASES = {
    "xlam": (
        ["--input", str(SAMPLES / "demo_xlam.json"), "--val-fraction", "0.25"],
        (6, 2),  # 8 good rows; round(0.25 x 8) = 2 in val
        {"read:bad_json": 1, "read:unknown_function": 1, "convert:schema_error:type": 1},  # limit="ten"
    ),
    "bfcl": (
        [
            "--input",
            str(SAMPLES / "demo_bfcl.jsonl"),
            "--reader",
            "bfcl",
            "--possible-answers",
            str(SAMPLES / "demo_bfcl_answers.jsonl"),
        ],
        (2, 0),
        {"read:no_possible_answer": 1, "convert:no_call": 1},  # the irrelevance entry has no call
    ),
    "chat": (
        ["--input", str(SAMPLES / "demo_chat.jsonl"), "--reader", "chat"],
        (2, 0),
        {"read:bad_messages": 1, "convert:no_call": 1},
    ),
}


def _lines(path: Path) -> int:
    text = path.read_text()
    return (
        len(json.loads(text))
        if text.lstrip().startswith("[")
        else sum(bool(x.strip()) for x in text.split("\n"))
    )


@pytest.mark.parametrize("reader", list(CASES))
def test_convert_the_bundled_samples(reader, tmp_path):
    args, (n_train, n_val), reasons = CASES[reader]
    out = tmp_path / "out"
    assert main(["convert", *args, "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())["convert"]
    rows_in = _lines(Path(args[1]))
    rl = pq.read_table(out / "rl.parquet").to_pylist()
    rl_val = pq.read_table(out / "rl_val.parquet").to_pylist() if n_val else []
    quarantine = [json.loads(line) for line in (out / "quarantine.jsonl").read_text().splitlines()]
    assert (len(rl), len(rl_val)) == (n_train, n_val)
    assert rows_in == len(rl) + len(rl_val) + len(quarantine) == report["rows_in"]
    assert report["quarantine_reasons"] == reasons
    assert all(isinstance(q["row"], int) and q["detail"] for q in quarantine)
    assert {r["extra_info"]["split"] for r in rl} == {"train"} and {
        r["extra_info"]["split"] for r in rl_val
    } <= {"val"}

    sft = pq.read_table(out / "sft.parquet").to_pylist()
    sft += pq.read_table(out / "sft_val.parquet").to_pylist() if n_val else []
    answers = {r["sample_id"]: r["messages"][2]["content"] for r in sft}
    assert len(answers) == len(rl) + len(rl_val)
    for row in rl + rl_val:
        answer = answers[row["extra_info"]["sample_id"]]
        gt = row["reward_model"]["ground_truth"]
        think = answer.startswith(THINK_OPEN)
        result = compute_score(row["data_source"], answer, gt, require_think=think)
        assert result["score"] == 1.0, (answer, result)
        head, _, calls = answer.rpartition(THINK_CLOSE)  # change a value in the calls, not in the CoT
        calls = calls.replace("'", "'x", 1) if "'" in calls else calls.replace("1", "7", 1)
        wrong = head + (THINK_CLOSE if think else "") + calls
        assert compute_score(row["data_source"], wrong, gt, require_think=think)["score"] == 0.0, wrong


def test_the_rl_parquet_loads_in_verl(tmp_path):
    pytest.importorskip("verl")
    from omegaconf import OmegaConf
    from verl.utils.dataset.rl_dataset import RLHFDataset

    from funrl.toy import tiny_tokenizer

    out = tmp_path / "out"
    assert main(["convert", *CASES["xlam"][0], "--out", str(out)]) == 0
    tok = tiny_tokenizer(tmp_path / "tok")
    config = {"max_prompt_length": 8192, "cache_dir": str(tmp_path / "cache"), "return_raw_chat": True}
    rl = RLHFDataset(str(out / "rl.parquet"), tok, OmegaConf.create(config))
    assert len(rl) == 6
    row = rl[0]
    assert row["data_source"] == "funrl/demo_xlam"
    assert json.loads(row["reward_model"]["ground_truth"])["functions"]


def test_all_rows_bad_fails_with_exit_4(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": 1}\nnot json\n')
    assert main(["convert", "--input", str(bad), "--out", str(tmp_path / "out")]) == 4
    err = capsys.readouterr().err
    assert "2 of 2 rows read (100%) dropped for malformed input rows" in err
    assert "the output is empty: rl.parquet 0 rows" in err
