"""`reward score` on hostile, broken and foreign inputs (#12 item 8, #13 items 3 and 4): never a traceback;
each line is scored or listed with its reason; exit status 2 for any bad line or unreadable input."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc

import pytest
from funrl.reward.__main__ import main
from funrl.reward.score_file import score_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FN = [
    {"name": "f", "parameters": {"type": "dict", "properties": {"a": {"type": "integer"}}, "required": ["a"]}}
]
GT = {"functions": FN, "possible_answer": [{"f": {"a": [1]}}], "category": "simple"}
GOOD = json.dumps({"id": "ok", "output": "[f(a=1)]", "ground_truth": json.dumps(GT)})


def cli(tmp_path, content: bytes, *args: str, capsys) -> tuple[int, str, str]:
    path = tmp_path / "in.jsonl"
    path.write_bytes(content)
    code = main(["score", str(path), *args])
    out, err = capsys.readouterr()
    return code, out, err


def lines(*rows) -> bytes:
    return b"\n".join(r if isinstance(r, bytes) else r.encode() for r in rows) + b"\n"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b'{"output": "[f(a=1)]", "id": "\xff"}', "not valid UTF-8 (byte 0xff at byte 31 of the line)"),
        (
            json.dumps({"output": "x", "ground_truth": {**GT, "fmt": "nope"}}),
            "ground_truth.fmt must be one of",
        ),
        (
            json.dumps({"output": "x", "ground_truth": json.dumps(GT)[:-1] + ', "fmt": "nope"}'}),
            "ground_truth.fmt must be one of",
        ),
        ("[" * 10_000 + "]" * 10_000, "not valid JSON (nests too deep)"),
        (
            json.dumps({"output": "x", "ground_truth": '{"functions": ' + "[" * 10_000 + "]" * 10_000 + "}"}),
            "ground_truth: not valid JSON (nests too deep)",
        ),
        (
            json.dumps({"output": "x", "ground_truth": {**GT, "functions": [{**FN[0], "name": ["f"]}]}}),
            "functions[0].name: missing or not a string",
        ),
        (
            json.dumps({"output": "x", "ground_truth": {**GT, "category": ["simple"]}}),
            "category: expected str",
        ),
        (
            "{not json",
            "not valid JSON (Expecting property name enclosed in double quotes at column 2 of this line)",
        ),
        ("[1, 2]", "line: expected a JSON object, got list"),
        (json.dumps({"output": 3, "ground_truth": GT}), "output: expected a string, got int"),
    ],
)
def test_a_bad_line_is_listed_with_its_number_and_the_rest_is_scored(tmp_path, capsys, bad, reason):
    code, out, err = cli(tmp_path, lines(GOOD, GOOD, bad, GOOD), "--json", capsys=capsys)
    assert code == 2
    report = json.loads(out)
    assert (report["scored"], report["correct"], report["bad_count"]) == (3, 3, 1)
    assert [b["line"] for b in report["bad_lines"]] == [3]
    assert reason in report["bad_lines"][0]["reason"]
    code, out, err = cli(tmp_path, lines(GOOD, GOOD, bad, GOOD), capsys=capsys)
    assert code == 2 and "line 3 (id " in err and "NOT SCORED" in err and reason in err
    assert "1 line(s) not scored: exit status 2" in err and "Traceback" not in err


def test_malformed_json_line_number_is_the_file_line(tmp_path, capsys):
    code, _, err = cli(tmp_path, lines(GOOD, "", GOOD, "", "{", GOOD), capsys=capsys)
    assert code == 2
    assert "line 5 (id None): NOT SCORED: not valid JSON (Expecting property name enclosed in double " in err
    assert "line 1 column" not in err  # json's own position (always line 1 of a one-line string) is gone


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "no samples (the file is empty)"), (b"\n  \n\n", "no samples (the file is empty)")],
)
def test_empty_input_is_exit_2_with_one_line(tmp_path, capsys, content, message):
    code, out, err = cli(tmp_path, content, capsys=capsys)
    assert code == 2 and out == ""
    assert err == f"reward score: {tmp_path / 'in.jsonl'}: {message}\n"


def test_missing_file_and_directory_are_one_line_exit_2(tmp_path):
    for target, why in ((tmp_path / "nope.jsonl", "No such file or directory"), (tmp_path, "Is a directory")):
        proc = subprocess.run(
            [sys.executable, "-m", "funrl.reward", "score", str(target)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2
        assert proc.stderr == f"reward score: {target}: cannot read ({why})\n"


def test_all_lines_bad_is_exit_2(tmp_path, capsys):
    code, out, _ = cli(tmp_path, lines("{", "{"), "--json", capsys=capsys)
    assert code == 2 and json.loads(out)["scored"] == 0 and json.loads(out)["bad_count"] == 2


def verl_row(output: str, gts, step: int = 3) -> str:
    """A line exactly as verl 0.9.1's RayPPOTrainer._write_generations writes it (input, output, gts, score,
    step, then reward_extra_infos such as request_id; json.dumps(ensure_ascii=False, default=str))."""
    entry = {
        "input": "user: call f",
        "output": output,
        "gts": gts,
        "score": 1.0,
        "step": step,
        "request_id": "r",
    }
    return json.dumps(entry, ensure_ascii=False, default=str)


def test_verl_rollout_dump_is_read_as_it_is(tmp_path, capsys):
    gt = json.dumps(GT)  # reward_model.ground_truth as data prep writes it: the JSON string
    content = lines(verl_row("[f(a=1)]", gt), verl_row("[f(a=2)]", gt), verl_row("[f(a=1)]", GT))
    code, out, _ = cli(tmp_path, content, "--json", capsys=capsys)
    assert code == 0
    report = json.loads(out)
    assert (report["scored"], report["correct"], report["error_types"]) == (3, 2, {"value_error:others": 1})


def test_a_missing_field_names_the_expected_and_the_found(tmp_path, capsys):
    no_gts = json.dumps({"input": "i", "output": "[f(a=1)]", "score": 0.0, "step": 1})
    no_output = json.dumps({"input": "i", "gts": json.dumps(GT)})
    null_gts = verl_row("[f(a=1)]", None)
    code, out, _ = cli(tmp_path, lines(GOOD, no_gts, no_output, null_gts), "--json", capsys=capsys)
    assert code == 2
    reasons = [b["reason"] for b in json.loads(out)["bad_lines"]]
    assert reasons == [
        "ground truth: missing (expected 'ground_truth', verl's 'gts', 'reward_model.ground_truth' or inline "
        "'functions'/'possible_answer'/'category'; found 'input', 'output', 'score', 'step')",
        "output: missing (expected one of 'output', 'response', 'completion'; found 'input', 'gts')",
        "gts (verl's ground truth): ground_truth: expected a JSON string or dict, got NoneType",
    ]


def test_trl_completions_with_a_ground_truth(tmp_path, capsys):
    msgs = [{"role": "assistant", "content": "[f(a=1)]"}]
    rows = [
        json.dumps({"prompt": "p", "completion": msgs, "reward_model": {"ground_truth": json.dumps(GT)}}),
        json.dumps({"prompt": "p", "completion": "[f(a=3)]", "ground_truth": json.dumps(GT)}),
    ]
    code, out, _ = cli(tmp_path, lines(*rows), "--json", capsys=capsys)
    assert code == 0 and (json.loads(out)["scored"], json.loads(out)["correct"]) == (2, 1)
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "step": [1, 1],
            "prompt": ["p", "p"],
            "completion": ["[f(a=1)]", "[f(a="],
            "ground_truth": [json.dumps(GT), json.dumps(GT)],
        }
    )
    pq.write_table(table, tmp_path / "completions_00001.parquet")
    report = score_file(str(tmp_path / "completions_00001.parquet"))
    assert (report["scored"], report["correct"], report["bad_count"]) == (2, 1, 0)


def test_the_file_is_streamed(tmp_path):
    path = tmp_path / "big.jsonl"
    row = json.dumps({"output": "[f(a=1)]" + " " * 2000, "ground_truth": json.dumps(GT)}) + "\n"
    path.write_text(row * 4000)  # ~8 MB
    tracemalloc.start()
    try:
        report = score_file(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report["scored"] == 4000 and report["correct"] == 4000
    assert peak < 2 * 2**20  # the whole file would be 8 MB


FRAGMENTS = [
    GOOD.encode(),
    b"{",
    b"}",
    b"[",
    b"\xff",
    b"\xed\xa0\x80",
    b'"\\ud800"',
    b"\n",
    b" ",
    b"null",
    b'{"output": "[f(a=1)]", "gts": ',
    b'{"output": "[f(a=1)]", "ground_truth": {"category": 1}}',
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.binary(max_size=40), st.sampled_from(FRAGMENTS)), max_size=12))
def test_arbitrary_bytes_never_crash_and_each_line_is_accounted_for(tmp_path, chunks):
    data = b"".join(chunks)
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(data)
    nonblank = [ln for ln in data.split(b"\n") if ln.strip()]
    if not nonblank:
        with pytest.raises(Exception, match="no samples"):
            score_file(str(path))
        return
    report = score_file(str(path))
    assert report["scored"] + report["bad_count"] == len(nonblank)
    assert all(b["reason"] for b in report["bad_lines"])
