"""Function-calling (FC) mode for the multi-turn categories: tools sent, ``tool_calls`` read back.

What bfcl-eval's ``BaseHandler.inference_multi_turn_FC`` does with its OpenAI-completions handler
(``OpenAICompletionsHandler``, the handler of models served with a tools API):

* no system prompt: the entry's messages as they are; the functions go as OpenAI ``tools``
  (``funrl.eval.prompts.tools_from_functions``: BFCL's ``convert_to_tool`` with GORILLA_TO_OPENAPI, the
  descriptions with BFCL's Python hint);
* at a miss_func turn the held-out functions are added to ``tools`` -- without the hint, as BFCL's
  loader removed them before adding it -- and the user message is
  ``DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC``;
* the reply's tool calls are decoded as ``convert_to_function_call``: each ``{name: arguments}``, the
  arguments ``json.loads``-ed, written ``name(k=repr(v),...)`` (comma without a space, as BFCL); a reply
  without tool calls, or whose arguments are not a JSON object, ends the turn;
* the assistant message goes back with its ``tool_calls``; each result as ``{"role": "tool", "content":
  <result>, "tool_call_id": <id>}``.

Replies come from data preparation's ``ChatClient`` called with ``tools=``: the journaled reply is the
assistant message as JSON, read with :func:`funrl.eval.fc.tool_reply`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from bfcl_eval.constants import default_prompts as bfcl_prompts

from .fc import tool_reply
from .multi_turn_prompts import PYTHON_HINT, DecodeError
from .prompts import tools_from_functions

#: The category whose language (Python) BFCL's loader uses for the multi-turn function docs.
_DOC_CATEGORY = "multi_turn_base"


@functools.lru_cache(maxsize=256)
def _tools_json(docs_json: str) -> str:
    """``tools`` for ``[first, revealed]`` docs, as JSON text; cached, as entries share tool sets and the
    conversion deep-copies every doc."""
    first, revealed = json.loads(docs_json)
    tools = tools_from_functions(first, _DOC_CATEGORY)
    for tool in tools_from_functions(revealed, _DOC_CATEGORY):
        tool["function"]["description"] = tool["function"]["description"].removesuffix(PYTHON_HINT)
        tools.append(tool)
    return json.dumps(tools)


@dataclass(frozen=True)
class FcStyle:
    """The driver's style interface (see :class:`funrl.eval.multi_turn_prompts.PromptStyle`) for FC mode."""

    name: str = "fc"

    @staticmethod
    def opening(tools: list[dict]) -> list[dict]:
        """No system prompt: the functions go as ``tools``."""
        return []

    @staticmethod
    def request_tools(first: list[dict], revealed: list[dict]) -> list[dict]:
        """The first turn's functions (hinted), then those revealed so far (not hinted)."""
        return json.loads(_tools_json(json.dumps([first, revealed])))

    @staticmethod
    def reveal(docs: list[dict]) -> dict:
        """BFCL's FC announcement (the functions themselves are in ``tools``)."""
        return {"role": "user", "content": bfcl_prompts.DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC}

    @staticmethod
    def assistant(reply: str) -> dict:
        """The assistant message with its tool calls, as the tools API sent it."""
        message = tool_reply(reply)
        out: dict = {"role": "assistant", "content": message.content}
        if message.tool_calls:
            out["tool_calls"] = [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for c in message.tool_calls
            ]
        return out

    @staticmethod
    def decode(reply: str) -> list[str]:
        """BFCL's ``convert_to_function_call`` on the tool calls; DecodeError where BFCL's raises."""
        calls = []
        for call in tool_reply(reply).tool_calls:
            try:
                args = json.loads(call["arguments"])
            except json.JSONDecodeError as e:
                raise DecodeError(f"arguments of {call['name']!r:.100} are not JSON: {e}") from None
            if not isinstance(args, dict):
                raise DecodeError(f"arguments of {call['name']!r:.100} are not a JSON object")
            calls.append(f"{call['name']}({','.join(f'{k}={v!r}' for k, v in args.items())})")
        return calls

    @staticmethod
    def results(calls: list[str], outputs: list[str], reply: str) -> list[dict]:
        """One ``tool`` message per result, linked to its call's id."""
        ids = [c["id"] for c in tool_reply(reply).tool_calls]
        return [{"role": "tool", "content": o, "tool_call_id": i} for o, i in zip(outputs, ids)]
