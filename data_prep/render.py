"""How an assistant answer is written: ``<think>CoT</think>`` followed by the calls in an output format.

    think_answer      <think>..</think><answer>[f(a=1, b='x')]</answer>         (FunRL)
    think_python      <think>..</think>\n\n[f(a=1, b='x')]                      (FunReason)
    think_tool_call   <think>..</think><tool_call>[{"name": "f", "arguments": {"a": 1}}]</tool_call>   (Tool-N1)

Calls are in BFCL's decoded form ``[{name: {param: value}}]``. ``funrl.reward.parse`` reads all three
back (stage 2 checks that it does, for every rendered answer).
"""

from __future__ import annotations

import json
import re

from funrl.reward import THINK_CLOSE, THINK_FORMATS, THINK_OPEN


class RenderError(ValueError):
    """Calls that the chosen output format cannot express."""


def _python_value(value: object) -> str:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        raise RenderError(f"value {value!r} has no Python literal")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_python_value(k)}: {_python_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_python_value(v) for v in value) + "]"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    raise RenderError(f"value of type {type(value).__name__} has no Python literal")


_NAME_RE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def python_calls(calls: list[dict]) -> str:
    """[{"f": {"a": 1}}] -> "[f(a=1)]"."""
    parts = []
    for call in calls:
        ((name, args),) = call.items()
        if not _NAME_RE.fullmatch(name):
            raise RenderError(f"function name {name!r} is not a Python name")
        bad = [k for k in args if not k.isidentifier()]
        if bad:
            raise RenderError(f"{name}: parameter name(s) {bad} are not Python identifiers")
        parts.append(f"{name}(" + ", ".join(f"{k}={_python_value(v)}" for k, v in args.items()) + ")")
    return "[" + ", ".join(parts) + "]"


def json_calls(calls: list[dict]) -> str:
    """[{"f": {"a": 1}}] -> '[{"name": "f", "arguments": {"a": 1}}]'."""
    items = [{"name": name, "arguments": args} for call in calls for name, args in call.items()]
    return json.dumps(items, ensure_ascii=False)


def render_calls(calls: list[dict], fmt: str) -> str:
    """The call part of an answer (what follows ``</think>``)."""
    if fmt == "think_answer":
        return f"<answer>{python_calls(calls)}</answer>"
    if fmt == "think_python":
        return f"\n\n{python_calls(calls)}"
    if fmt == "think_tool_call":
        return f"<tool_call>{json_calls(calls)}</tool_call>"
    raise ValueError(f"unknown output format {fmt!r}")


def render_answer(cot: str, calls: list[dict], fmt: str) -> str:
    return f"{THINK_OPEN}{cot}{THINK_CLOSE}{render_calls(calls, fmt)}"


FORMAT_INSTRUCTIONS = {
    "think_answer": (
        "First think step by step inside <think></think>. Then write the function calls as a Python list "
        "inside <answer></answer>, with keyword arguments only, e.g. "
        "<think>...</think><answer>[func_a(x=1, y='text'), func_b(z=[1, 2])]</answer>"
    ),
    "think_python": (
        "First think step by step inside <think></think>. Then, after the closing tag, write the function "
        "calls as a Python list with keyword arguments only, e.g. "
        "<think>...</think>\n\n[func_a(x=1, y='text'), func_b(z=[1, 2])]"
    ),
    "think_tool_call": (
        "First think step by step inside <think></think>. Then write the function calls as a JSON list "
        "inside <tool_call></tool_call>, e.g. "
        '<think>...</think><tool_call>[{"name": "func_a", "arguments": {"x": 1}}]</tool_call>'
    ),
}
assert tuple(FORMAT_INSTRUCTIONS) == THINK_FORMATS, "one instruction per trained output format"


def system_prompt(tools: list[dict], fmt: str) -> str:
    """The system message of every training prompt (SFT and RL) and of stage 0's generation request."""
    return (
        "You are an expert in composing function calls. You are given a question and a set of functions. "
        "Make one or more function calls that achieve the purpose of the question, choosing only among the "
        "functions below. If none of the functions can be used, say so in plain text instead of calling "
        "one.\n"
        f"{FORMAT_INSTRUCTIONS[fmt]}\n\n"
        "Here is the list of functions in JSON format:\n"
        f"{json.dumps(tools, ensure_ascii=False)}"
    )
