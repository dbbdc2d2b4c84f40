"""Scripted query writer, reasoner and critic for the loopback server (tests and the toy demo).

One responder plays the three roles, told apart by the system prompt (``prompts``):

* writer: reads the CALL lines of its prompt and answers
  ``"<noise> Please do this for me: <call 1> then <call 2> ..."`` (the calls in the text, so the scripted
  reasoner can read them back: a stand-in for an LLM that understood the request);
* reasoner: reads the calls back from the request and makes one call per reply, then ends the turn with
  a plain-text answer. For rounds whose target is in ``wrong_first`` it leaves out the last call until a
  hint is in the request; for targets in ``stubborn`` always; for targets in ``bad_format`` its first
  reply has no ``<think>`` span;
* critic: a hint naming the last step of the reference solution.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .prompts import CRITIC_SYSTEM, WRITER_SYSTEM

MARKER = " Please do this for me: "
NOISE = "I am sorting things out before a long trip, so bear with me."
_CALL_LINE = re.compile(r"^CALL: (.*)$", re.M)


def scripted_query(calls: list[str]) -> str:
    """The writer's scripted request for a round's calls."""
    return NOISE + MARKER + " then ".join(calls)


class ScriptedRoles:
    """Callable responder for :class:`funrl.toy.scripted_server.OpenAIServer`."""

    def __init__(
        self, *, wrong_first: Iterable[str] = (), stubborn: Iterable[str] = (), bad_format: Iterable[str] = ()
    ) -> None:
        self.wrong_first, self.stubborn, self.bad_format = set(wrong_first), set(stubborn), set(bad_format)

    def __call__(self, body: dict) -> str:
        messages = body["messages"]
        system = messages[0]["content"]
        if system == WRITER_SYSTEM:
            return scripted_query(_CALL_LINE.findall(messages[-1]["content"]))
        if system == CRITIC_SYSTEM:
            reference = messages[-1]["content"].split("REFERENCE SOLUTION")[1].split("ATTEMPT:")[0]
            last = _CALL_LINE.findall(reference)[-1].split("(")[0]
            return f"The request is only complete after the last step, {last}; do not stop before it."
        return self._reason(messages)

    def _reason(self, messages: list[dict]) -> str:
        last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
        request = messages[last_user]["content"]
        calls = request.split(MARKER, 1)[1].split("\n\nHint:")[0].split(" then ")
        target = calls[-1].split("(")[0]
        hinted = "\nHint: " in request
        done = sum(m["role"] == "tool" for m in messages[last_user:])
        if target in self.bad_format and not hinted and done == 0:
            return f"<tool_call>[{calls[0]}]</tool_call>"
        if target in self.stubborn or (target in self.wrong_first and not hinted):
            calls = calls[:-1]
        if done < len(calls):
            return f"<think>Step {done + 1} of the request: {calls[done].split('(')[0]}.</think><tool_call>[{calls[done]}]</tool_call>"
        return "<think>Every step has been carried out.</think>All done."


_ALL_PASS = ScriptedRoles()


def all_pass(body: dict) -> str:
    """The scripted roles with a reasoner that always passes (benchmarks:
    ``python -m funrl.toy.scripted_server --responder funrl.data_prep.multi_turn.scripted:all_pass``)."""
    return _ALL_PASS(body)
