"""How a multi-turn conversation is written for the model and how its replies are read back.

Two prompt styles (:func:`make_style`):

* ``bfcl``: what BFCL's prompt-mode (OSS) models get. The system prompt is bfcl-eval's default
  (``ret_fmt=python&tool_call_tag=False&func_doc_fmt=json&prompt_fmt=plaintext&style=classic``), built
  from the template pieces imported from ``bfcl_eval.constants.default_prompts``, with the function docs
  as ``json.dumps(docs, indent=4)`` after BFCL's loader appended its Python hint to each description;
  held-out (miss_func) functions are announced in a user message, BFCL's
  ``DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_PROMPTING`` filled with the docs' Python ``repr`` (no
  hint: BFCL's loader removes them before adding it); each reply is decoded as BFCL's
  ``default_decode_execute_prompting`` does (``funrl.reward``'s BFCL-exact python-call decoder, then
  :func:`execution_calls`); each call's result goes back as ``{"role": "tool", "name": <call>,
  "content": <result>}``, as BFCL's OSS handler feeds it.
* ``training``: the training prompt of data preparation (``funrl.data_prep.render.system_prompt``: the
  tools as compact JSON and the instruction of the trained output format ``fmt``), followed by BFCL's
  one-paragraph multi-turn behaviour (the training prompt is single-turn: without it the model is never
  told that a reply without calls ends the turn); held-out functions are announced as JSON docs with
  BFCL's sentence; replies are read with ``funrl.reward.parse(text, fmt)``; results go back as in
  ``bfcl``.

Both styles end a turn on a reply that does not decode or decodes to no call, as BFCL does.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from bfcl_eval.constants import default_prompts as bfcl_prompts

from funrl.data_prep.render import system_prompt as training_system_prompt
from funrl.reward import THINK_FORMATS, check_format, parse

PROMPT_STYLES = ("bfcl", "training")
#: What BFCL's loader appends to each multi-turn function description (``_get_language_specific_hint``).
PYTHON_HINT = " Note that the provided function is in Python 3 syntax."
#: BFCL's step limit per turn: a turn is force-terminated after this many executed steps plus one.
MAXIMUM_STEP_LIMIT: int = bfcl_prompts.MAXIMUM_STEP_LIMIT


class DecodeError(ValueError):
    """A reply that holds no decodable call list (the turn ends, as in BFCL)."""


def bfcl_system_prompt(tools: list[dict]) -> str:
    """bfcl-eval's default prompt-mode system prompt (``formulate_system_prompt`` with
    ``DEFAULT_SYSTEM_PROMPT_FORMAT``) for ``tools``, each description with BFCL's Python hint."""
    return _bfcl_system_prompt(json.dumps(tools))


@functools.lru_cache(maxsize=256)
def _bfcl_system_prompt(tools_json: str) -> str:
    """Cached by the tools: entries share tool sets, and ``json.dumps(indent=4)`` runs in pure Python."""
    docs = [
        {**doc, "description": doc.get("description", "") + PYTHON_HINT} for doc in json.loads(tools_json)
    ]
    style = bfcl_prompts.PROMPT_STYLE_TEMPLATES["classic"]
    return bfcl_prompts.PROMPT_TEMPLATE_MAPPING["plaintext"].format(
        persona=style["persona"],
        task=style["task"],
        tool_call_format=style["tool_call_no_tag"].format(
            output_format=bfcl_prompts.OUTPUT_FORMAT_MAPPING["python"],
            param_types=bfcl_prompts.PARAM_TYPE_MAPPING["python"],
        ),
        multiturn_behavior=style["multiturn_behavior"],
        available_tools=style["available_tools"].format(format="json", functions=json.dumps(docs, indent=4)),
    )


def nested_value(value: Any) -> str:
    """BFCL's ``parse_nested_value``: how one decoded argument value is written back into a call string
    (a dict whose values are all dicts reads as a nested call; an empty dict fails, as in BFCL)."""
    if isinstance(value, dict):
        if all(isinstance(v, dict) for v in value.values()):
            if not value:
                raise DecodeError("an empty dict argument cannot be written back (BFCL's decoder fails)")
            name, args = next(iter(value.items()))
            return f"{name}({', '.join(f'{k}={nested_value(v)}' for k, v in args.items())})"
        return "{" + ", ".join(f"'{k}': {nested_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


def execution_calls(decoded: list[dict]) -> list[str]:
    """BFCL's ``decoded_output_to_execution_list``: decoded calls ``[{name: {param: value}}]`` -> call
    strings ``name(param=value, ...)``, the form that is executed and checked."""
    out = []
    for call in decoded:
        for name, args in call.items():
            if not isinstance(args, dict):
                raise DecodeError(f"arguments of {name!r:.100} are not a mapping")
            out.append(f"{name}({', '.join(f'{k}={nested_value(v)}' for k, v in args.items())})")
    return out


@dataclass(frozen=True)
class PromptStyle:
    """How one prompt style writes the conversation and reads replies (see the module docstring).

    The interface the driver uses (:class:`funrl.eval.multi_turn_fc.FcStyle` has the same):
    ``opening(tools)``, ``request_tools(first, revealed)``, ``reveal(docs)``, ``assistant(reply)``,
    ``decode(reply)``, ``results(calls, outputs, reply)``."""

    name: str
    fmt: str  # the reply format read back: "python" for bfcl, the trained format for training

    def opening(self, tools: list[dict]) -> list[dict]:
        """The messages before the first user message: the system prompt, with the first turn's tools."""
        if self.name == "bfcl":
            return [{"role": "system", "content": bfcl_system_prompt(tools)}]
        return [
            {
                "role": "system",
                "content": f"{training_system_prompt(tools, self.fmt)}\n\n{MULTI_TURN_BEHAVIOUR}",
            }
        ]

    @staticmethod
    def request_tools(first: list[dict], revealed: list[dict]) -> list[dict] | None:
        """Prompt mode sends no ``tools``: they are in the system prompt (and the announcements)."""
        return None

    def reveal(self, docs: list[dict]) -> dict:
        """The user message that announces held-out functions at their turn."""
        if self.name == "bfcl":
            text = bfcl_prompts.DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_PROMPTING.format(functions=docs)
        else:
            text = f"{json.dumps(docs, ensure_ascii=False)}\n{bfcl_prompts.DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC}"
        return {"role": "user", "content": text}

    @staticmethod
    def assistant(reply: str) -> dict:
        """The reply as it goes back into the conversation."""
        return {"role": "assistant", "content": reply}

    def decode(self, reply: str) -> list[str]:
        """The reply's calls as executable call strings; DecodeError when it holds no call list."""
        try:
            decoded = parse(reply, self.fmt)
        except ValueError as e:  # funrl.reward.FormatError
            raise DecodeError(str(e)) from None
        return execution_calls(decoded)

    @staticmethod
    def results(calls: list[str], outputs: list[str], reply: str) -> list[dict]:
        """One ``tool`` message per executed call, as BFCL's OSS handler adds them."""
        return [{"role": "tool", "name": c, "content": o} for c, o in zip(calls, outputs)]


#: BFCL's multi-turn paragraph (classic style), added to the training prompt.
MULTI_TURN_BEHAVIOUR: str = bfcl_prompts.PROMPT_STYLE_TEMPLATES["classic"]["multiturn_behavior"]


def make_style(prompt_style: str, fmt: str) -> PromptStyle:
    """The :class:`PromptStyle` for ``prompt_style`` (``bfcl`` or ``training``; ``fmt`` is the trained
    output format, used by ``training`` only). Raises ValueError naming the bad field."""
    if prompt_style not in PROMPT_STYLES:
        raise ValueError(f"prompt_style must be one of {PROMPT_STYLES}, got {prompt_style!r}")
    if prompt_style == "bfcl":
        return PromptStyle("bfcl", "python")
    return PromptStyle("training", check_format(fmt, THINK_FORMATS, key="fmt"))
