"""What ``--check`` (and every real run, first) checks beyond the config: data files and their columns, the
model path (offline: no silent Hub id), the batch against the dataset, the chat template; and a batch
arithmetic error names the key it comes from. Each bad input gives one line naming the key and the value,
and exit status 2 from the command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from funrl.train import compose_config
from funrl.train.runners import prepare


def rl_args(inputs, *extra: str) -> list[str]:
    return [
        "+recipe=grpo_entropy_cpu",
        f"data.train_files={inputs['rl']}",
        f"data.val_files={inputs['rl']}",
        f"actor_rollout_ref.model.path={inputs['model']}",
        *extra,
    ]


def sft_args(inputs, *extra: str) -> list[str]:
    return [
        "+recipe=sft_srml",
        "hardware=cpu",
        f"data.train_files={inputs['sft']}",
        f"model.path={inputs['model']}",
        "data.train_batch_size=8",
        *extra,
    ]


def error_of(overrides: list[str]) -> str:
    with pytest.raises(ValueError) as err:
        prepare(compose_config(overrides))
    return str(err.value)


def cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "funrl.train", *args],
        cwd=cwd,
        env={**os.environ, "HYDRA_FULL_ERROR": "0", **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("[funrl.train]")]


def test_good_inputs_pass_and_are_summarised(inputs):
    summary = prepare(compose_config(rl_args(inputs)))
    assert f"data.train_files: {inputs['rl']} (16 rows)" in summary
    assert f"model: {inputs['model']}" in summary
    assert f"chat template of {inputs['model']} renders the first prompts of {inputs['rl']}" in summary
    summary = prepare(compose_config(sft_args(inputs)))
    assert f"data.train_files: {inputs['sft']} (32 rows)" in summary


def test_missing_data_file(inputs, tmp_path):
    missing = tmp_path / "nope.parquet"
    assert (
        error_of(rl_args(inputs, f"data.val_files={missing}")) == f"data.val_files={missing} does not exist"
    )


def test_data_file_without_the_columns_the_recipe_reads(inputs):
    msg = error_of(rl_args(inputs, f"data.train_files={inputs['sft']}"))
    assert msg.startswith(
        f"data.train_files={inputs['sft']} lacks the column(s) the RL recipe reads: prompt (data.prompt_key), "
        "data_source (data.reward_fn_key), reward_model (the reference answer, reward_model.ground_truth); "
        "it has: messages (an SFT parquet? RL recipes read rl.parquet from funrl.data_prep)"
    )
    # verl's own key names the column
    msg = error_of(rl_args(inputs, "data.prompt_key=question"))
    assert "lacks the column(s) the RL recipe reads: question (data.prompt_key);" in msg


def test_not_a_parquet_file(inputs, tmp_path):
    bad = tmp_path / "train.parquet"
    bad.write_text("not parquet\n")
    assert error_of(rl_args(inputs, f"data.train_files={bad}")).startswith(
        f"data.train_files={bad} is not a readable parquet file"
    )


def test_missing_model_path(inputs, tmp_path):
    missing = tmp_path / "model"
    msg = error_of(rl_args(inputs, f"actor_rollout_ref.model.path={missing}"))
    assert msg == f"actor_rollout_ref.model.path={missing} does not exist"
    empty = tmp_path / "empty"
    empty.mkdir()
    msg = error_of(sft_args(inputs, f"model.path={empty}"))
    assert msg == f"model.path={empty} is a directory without config.json (not a Hugging Face model)"


def test_cpu_recipe_without_a_model_path_does_not_fall_back_to_the_7b_hub_model(inputs):
    args = [a for a in rl_args(inputs) if not a.startswith("actor_rollout_ref.model.path")]
    assert compose_config(args).actor_rollout_ref.model.path is None  # not grpo's Qwen2.5-Coder-7B
    assert error_of(args).startswith("actor_rollout_ref.model.path is required")


def test_offline_a_hub_id_is_refused(inputs, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty cache: nothing of the Hub is here
    args = rl_args(inputs, "actor_rollout_ref.model.path=Qwen/Qwen2.5-Coder-7B-Instruct")
    assert error_of(args).startswith(
        "actor_rollout_ref.model.path=Qwen/Qwen2.5-Coder-7B-Instruct is a Hugging Face Hub id, not in the "
        "local cache, and the Hub is off (HF_HUB_OFFLINE=1)"
    )
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # online: allowed, said, nothing downloaded by the check
    summary = prepare(compose_config(args))
    assert "model: Qwen/Qwen2.5-Coder-7B-Instruct (Hugging Face Hub id, downloaded at start)" in summary


def test_batch_that_does_not_fit_the_dataset(inputs):
    # 16 rows; 32 prompts per step is not one step (verl drops the incomplete batch)
    msg = error_of(rl_args(inputs, "data.train_batch_size=32"))
    assert msg.startswith(
        f"data.train_batch_size=32 prompts does not fit the 16 rows of data.train_files ({inputs['rl']})"
    )
    msg = error_of(sft_args(inputs, "data.train_batch_size=64"))  # 32 conversations
    assert msg.startswith("data.train_batch_size=64 samples does not fit the 32 rows of data.train_files")


def test_chat_template_that_does_not_render(inputs, tmp_path):
    model = shutil.copytree(inputs["model"], tmp_path / "model")
    (model / "chat_template.jinja").write_text("{{ messages[0]['content'] | nosuchfilter }}")
    msg = error_of(rl_args(inputs, f"actor_rollout_ref.model.path={model}"))
    assert msg.startswith(
        f"data.train_files={inputs['rl']} row 0: the chat template of {model} does not render column 'prompt'"
    )
    (model / "chat_template.jinja").unlink()
    msg = error_of(sft_args(inputs, f"model.path={model}"))
    assert msg == f"tokenizer of {model} has no chat template; the recipes render chat prompts"


def test_batch_arithmetic_error_names_the_key():
    msg = error_of(["+recipe=grpo", "data.train_batch_size=130"])
    assert msg == (
        "data.train_batch_size=130: 130 is not a whole multiple of 4 "
        "(actor_rollout_ref.actor.ppo_mini_batch_size = ${funrl.div:${data.train_batch_size},4})"
    )


@pytest.mark.slow  # a subprocess; the messages are covered in-process above, exit 2 also by test_entry
def test_command_line_check_fails_in_one_line_with_status_2(inputs, tmp_path):
    missing = tmp_path / "missing-model"
    proc = cli("--check", *rl_args(inputs, f"actor_rollout_ref.model.path={missing}"), cwd=tmp_path)
    assert proc.returncode == 2
    assert error_lines(proc) == [
        f"[funrl.train] config error: actor_rollout_ref.model.path={missing} does not exist"
    ]
    assert "Traceback" not in proc.stderr and "config OK" not in proc.stdout


def test_sft_on_an_rl_parquet_or_a_missing_one_is_one_line_and_status_2(inputs, tmp_path):
    """A real run (no --check) fails before training starts, with no traceback."""
    proc = cli(*sft_args(inputs, f"data.train_files={inputs['rl']}"), cwd=tmp_path)
    assert proc.returncode == 2
    assert error_lines(proc) == [
        f"[funrl.train] config error: data.train_files={inputs['rl']} lacks the column(s) the SFT recipe "
        "reads: messages (data.messages_key); it has: ability, data_source, extra_info, prompt, reward_model "
        "(an RL parquet? SFT recipes read sft.parquet from funrl.data_prep)"
    ]
    missing = tmp_path / "sft.parquet"
    proc = cli(*sft_args(inputs, f"data.train_files={missing}"), cwd=tmp_path)
    assert proc.returncode == 2
    assert error_lines(proc) == [f"[funrl.train] config error: data.train_files={missing} does not exist"]
    assert "Traceback" not in proc.stderr and "KeyError" not in proc.stderr
    assert not (tmp_path / "checkpoints").exists()


@pytest.fixture(scope="module")
def multi_turn_rows():
    """Four RL rows of BFCL base entries for the bfcl_multi_turn agent loop, as funrl.rl.multi_turn.data
    writes them."""
    from funrl.envs.bfcl import load_entries
    from funrl.rl.multi_turn.data import row_for

    return [row_for(e, "think_answer", "train", i) for i, e in enumerate(load_entries("base")[:4])]


def write_rows(rows: list[dict], path: Path) -> Path:
    from funrl.rl.multi_turn.data import write_parquet

    write_parquet(rows, str(path))
    return path


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda info: info.update(bfcl_entry="{not json"), "extra_info.bfcl_entry is not valid JSON"),
        (lambda info: info.pop("bfcl_entry"), "the row's extra_info has no 'bfcl_entry'"),
        (
            lambda info: info.update(
                bfcl_entry=info["bfcl_entry"].replace('"involved_classes"', '"classes"')
            ),
            "field 'involved_classes' must be a non-empty list",
        ),
    ],
)
def test_multi_turn_rows_carry_a_runnable_bfcl_entry(inputs, tmp_path, multi_turn_rows, corrupt, message):
    """A bfcl_multi_turn row whose entry the loop could not run is refused before the run, naming the row
    (it would otherwise stop the run in the middle of a step)."""
    import copy

    good = write_rows(multi_turn_rows, tmp_path / "mt.parquet")
    prepare(compose_config(rl_args(inputs, f"data.train_files={good}", f"data.val_files={good}")))  # passes
    rows = copy.deepcopy(multi_turn_rows)
    corrupt(rows[2]["extra_info"])
    bad = write_rows(rows, tmp_path / "bad.parquet")
    msg = error_of(rl_args(inputs, f"data.train_files={bad}"))
    assert msg.startswith(f"data.train_files={bad} row 2: bfcl_multi_turn: ") or msg.startswith(
        f"data.train_files={bad} row 2: malformed BFCL multi-turn entry"
    ), msg
    assert message in msg


def rl_rows(path: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def write_table(rows: list[dict], path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.mark.parametrize(
    ("ground_truth", "reason"),
    [
        ("{not json", "reward_model.ground_truth: not valid JSON"),
        ('{"functions": [{"name": "get_weather"}]}', "reward_model.ground_truth: "),
        # a parameter type BFCL does not know: the read side validates it only when a check reads it
        (None, "reward_model.ground_truth: functions[0].parameters.properties.city"),
    ],
)
def test_a_ground_truth_funrl_reward_cannot_load_is_refused_naming_the_row(
    inputs, tmp_path, ground_truth, reason
):
    """verl reads reward_model.ground_truth only when the row comes up in a step; a bad one would stop the
    run there (funrl.reward raises on bad data, never on bad model output). The check loads and validates
    every ground truth first, naming the file and the row."""
    import json

    rows = rl_rows(inputs["rl"])
    if ground_truth is None:  # a valid JSON ground truth whose parameter schema is broken
        d = json.loads(rows[5]["reward_model"]["ground_truth"])
        d["functions"][0]["parameters"]["properties"]["city"]["type"] = "strnig"
        ground_truth = json.dumps(d)
    rows[5]["reward_model"]["ground_truth"] = ground_truth
    bad = write_table(rows, tmp_path / "bad.parquet")
    msg = error_of(rl_args(inputs, f"data.train_files={bad}"))
    assert msg.startswith(f"data.train_files={bad} row 5: {reason}"), msg
    assert msg.endswith("write it with funrl.reward.ground_truth_json (funrl.data_prep export / convert do)")
    # and from the command line: one line, exit status 2, before Ray
    proc = cli("--check", *rl_args(inputs, f"data.train_files={bad}"), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert error_lines(proc) == [f"[funrl.train] config error: {msg}"]


def test_a_row_without_a_ground_truth_is_refused(inputs, tmp_path):
    rows = rl_rows(inputs["rl"])
    for row in rows:
        row["reward_model"] = {"style": "rule", "answer": "x"}
    bad = write_table(rows, tmp_path / "bad.parquet")
    assert error_of(rl_args(inputs, f"data.train_files={bad}")) == (
        f"data.train_files={bad} row 0: reward_model is no ground_truth (funrl.reward scores this row)"
    )


def test_ground_truths_are_not_read_when_another_reward_function_scores_them(inputs, tmp_path):
    rows = rl_rows(inputs["rl"])
    rows[0]["reward_model"]["ground_truth"] = "42"  # a ground truth for someone else's reward function
    other = write_table(rows, tmp_path / "other.parquet")
    args = rl_args(inputs, f"data.train_files={other}", "reward.custom_reward_function.path=my_reward.py")
    assert f"data.train_files: {other} (16 rows)" in prepare(compose_config(args))


def test_multi_turn_rows_ground_truths_are_the_loops_not_funrl_rewards(inputs, tmp_path, multi_turn_rows):
    """bfcl_multi_turn rows carry the per-turn calls as their ground truth (the loop scores them): passed."""
    good = write_rows(multi_turn_rows, tmp_path / "mt.parquet")
    summary = prepare(compose_config(rl_args(inputs, f"data.train_files={good}", f"data.val_files={good}")))
    assert f"data.train_files: {good} (4 rows)" in summary
