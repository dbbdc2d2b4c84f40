"""Prompts for the generator (stage 0 and regenerations) and the five judge checks (stage 1).

Every judge prompt asks for one JSON object and nothing else:

    {"verdict": "pass" | "fail", "reason": "<one sentence>"}

:func:`parse_verdict` accepts exactly that (optionally after a leading ``<think>`` block, as reasoning
models such as QwQ write one, or inside one ```json fence); anything else raises :class:`VerdictError`.

Each judge prompt carries a ``Check: <name>`` line so that a scripted test server can tell the requests
apart (a real model reads it as part of the instructions); a generation request is the training prompt
itself, with no marker.
"""

from __future__ import annotations

import json
import re

from .records import Sample
from .render import FORMAT_INSTRUCTIONS, json_calls, system_prompt


def prompt_messages(sample: Sample, fmt: str) -> list[dict]:
    """The training (and evaluation) prompt of a sample: the system prompt with its tools and the output
    format's instruction, then the user's query. SFT rows, RL rows and ``funrl.eval`` all use it."""
    return [
        {"role": "system", "content": system_prompt(sample.tools, fmt)},
        {"role": "user", "content": sample.query},
    ]


VERDICT_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "verdict",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {
                "verdict": {"type": "string", "enum": ["pass", "fail"]},
                "reason": {"type": "string"},
            },
            "required": ["verdict", "reason"],
            "additionalProperties": False,
        },
    },
}

JUDGE_SYSTEM = (
    "You are a strict reviewer of function-calling training data. You answer one question about one "
    'sample. Reply with exactly one JSON object and nothing else: {"verdict": "pass" or "fail", '
    '"reason": "<one sentence>"}.'
)

CHECK_QUESTIONS = {
    "is_call": (
        "Is the ANSWER a function call, i.e. one or more calls of the given TOOLS, rather than a plain-text "
        'reply? "pass" if it is a call.'
    ),
    "query_tool_fit": ('Can the QUERY be fully solved with the given TOOLS? "pass" if it can.'),
    "cot_answer": (
        "Does the REASONING lead to the ANSWER: are the calls in the ANSWER exactly the ones the reasoning "
        'concludes with, with no contradiction between them? "pass" if it does.'
    ),
    "call_params": (
        "Are the function names, parameter names and parameter values in the ANSWER correct for the QUERY "
        "according to the TOOLS (types, required parameters, values taken from the query), and consistent "
        'with the REFERENCE ANSWER when one is given? "pass" if they are all correct.'
    ),
    "format": (
        "Is the ANSWER well formed in the required format: {fmt_help} Check brackets, quoting, keyword "
        'arguments and tags. "pass" if it is well formed.'
    ),
}


class VerdictError(ValueError):
    """A judge reply that is not exactly the verdict object."""


_FENCE_RE = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.S)
_LEAD_THINK_RE = re.compile(r"^\s*<think>.*?</think>", re.S)


def parse_verdict(text: str) -> tuple[bool, str]:
    """'{"verdict": "pass", "reason": "ok"}' -> (True, "ok"); raises VerdictError otherwise."""
    body = _LEAD_THINK_RE.sub("", text, count=1).strip()
    fence = _FENCE_RE.fullmatch(body)
    if fence:
        body = fence.group(1)
    try:
        obj = json.loads(body)
    except json.JSONDecodeError as e:
        raise VerdictError(f"not a JSON object: {e}") from None
    except RecursionError:
        raise VerdictError("not a JSON object: nested too deeply") from None
    if not isinstance(obj, dict) or set(obj) != {"verdict", "reason"}:
        keys = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise VerdictError(f"expected exactly the keys 'verdict' and 'reason', got {keys}")
    if obj["verdict"] not in ("pass", "fail") or not isinstance(obj["reason"], str):
        raise VerdictError(f"verdict must be 'pass' or 'fail' and reason a string, got {obj!r:.200}")
    return obj["verdict"] == "pass", obj["reason"]


def generation_messages(sample: Sample, fmt: str, *, show_reference: bool) -> list[dict]:
    """Stage 0: the training prompt itself, ``prompt_messages`` (so self-refinement samples the model as it
    is trained); ``show_reference`` appends the reference calls to the system prompt (distillation)."""
    messages = prompt_messages(sample, fmt)
    if show_reference and sample.reference_calls:  # distillation: no longer the training prompt
        messages[0]["content"] += (
            "\n\nA correct final answer is known; reason your way to it: "
            f"{json_calls(sample.reference_calls)}"
        )
    return messages


def regeneration_messages(
    sample: Sample, fmt: str, previous: str, check: str, reason: str, *, show_reference: bool
) -> list[dict]:
    """A regeneration: the previous answer and the judge's objection, then a request to answer again."""
    return [
        *generation_messages(sample, fmt, show_reference=show_reference),
        {"role": "assistant", "content": previous},
        {
            "role": "user",
            "content": (
                f"A reviewer rejected this answer (check: {check}): {reason}\n"
                "Answer the original question again, correctly, in the same format."
            ),
        },
    ]


def judge_messages(sample: Sample, check: str, fmt: str, cot: str | None, answer: str | None) -> list[dict]:
    """One check's prompt. ``query_tool_fit`` judges the sample alone (no answer shown)."""
    parts = [
        f"Check: {check}",
        f"TOOLS:\n{json.dumps(sample.tools, ensure_ascii=False)}",
        f"QUERY:\n{sample.query}",
    ]
    if check != "query_tool_fit":
        if sample.reference_calls and check == "call_params":
            parts.append(f"REFERENCE ANSWER:\n{json_calls(sample.reference_calls)}")
        parts.append(f"REASONING:\n{cot if cot is not None else '(none)'}")
        parts.append(f"ANSWER:\n{answer if answer is not None else '(none)'}")
    question = CHECK_QUESTIONS[check].format(fmt_help=FORMAT_INSTRUCTIONS[fmt])
    parts.append(f"QUESTION:\n{question}")
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]


FINAL_QUESTION = (
    "This sample already passed a step-by-step review and an automatic check of its calls. Judge it as a "
    "whole, as a training example: does the REASONING analyse the QUERY and the TOOLS correctly, and does "
    "the ANSWER serve the QUERY fully and correctly (the right functions, every value taken from the query, "
    'nothing invented, nothing missing)? "pass" if it is a correct and useful training example.'
)


def final_judge_messages(sample: Sample, cot: str | None, answer: str | None) -> list[dict]:
    """FunRL's final LLM evaluation of one validated answer (``Check: final``)."""
    parts = [
        "Check: final",
        f"TOOLS:\n{json.dumps(sample.tools, ensure_ascii=False)}",
        f"QUERY:\n{sample.query}",
    ]
    if sample.reference_calls:
        parts.append(f"REFERENCE ANSWER:\n{json_calls(sample.reference_calls)}")
    parts.append(f"REASONING:\n{cot if cot is not None else '(none)'}")
    parts.append(f"ANSWER:\n{answer if answer is not None else '(none)'}")
    parts.append(f"QUESTION:\n{FINAL_QUESTION}")
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]
