"""A scripted model for BFCL's multi-turn categories: it plays each entry's ground truth.

For :class:`funrl.toy.scripted_server.OpenAIServer` (``OpenAIServer(GroundTruthResponder(entries))``):
given a chat request (the conversation so far), it finds the entry and the turn, and answers the
ground-truth calls of that turn, then a reply without calls, which ends the turn.

* The turn is the number of ``user`` messages minus one; the step, the number of ``assistant``
  messages after the last ``user`` message. The entry is the one whose user messages match (a miss_func
  announcement matches when it names the held-out functions of that turn); entries asked the same
  questions (a base entry and its miss_func / long_context twins) are told apart by the functions the
  system prompt lists; a conversation that still fits entries with different answers is an error.
* Policy ``batch``: step 0 answers all calls of the turn in one reply; ``single``: one call a step. Then
  :data:`NO_CALL`. Ground-truth calls are written with keyword arguments (positional ones get their
  names from the BFCL method's signature: BFCL's decoder drops positional arguments).
* Format: what the request asks for -- OpenAI tool calls when it sends ``tools`` (FC mode), a trained
  format of ``funrl.data_prep`` (``<think>`` then the calls) when its instruction is in the system
  prompt, else BFCL's python-call list.

A responder that raises makes the server answer 500 and keep the traceback in ``server.errors``.
"""

from __future__ import annotations

import ast
import json
from collections import defaultdict

from funrl.data_prep.render import FORMAT_INSTRUCTIONS, render_answer
from funrl.envs.bfcl.backend import method_specs
from funrl.reward import parse

NO_CALL = "I have no more function calls for this turn."
POLICIES = ("batch", "single")


def keyword_call(call: str, classes: list[str]) -> str:
    """``f(1, b=2)`` -> ``f(a=1, b=2)`` by the signature of the BFCL method (the last class that has it,
    as BFCL's executor resolves names); a call without positional arguments is returned as is."""
    node = ast.parse(call, mode="eval").body
    if not isinstance(node, ast.Call) or not node.args:
        return call
    name = ast.unparse(node.func)
    params: tuple[str, ...] = ()
    for cls in classes:
        spec = method_specs(cls).get(name)
        if spec is not None:
            params = spec.params
    if len(params) < len(node.args):
        raise ValueError(f"ground-truth call {call!r}: cannot name its positional arguments")
    parts = [f"{params[i]}={ast.unparse(a)}" for i, a in enumerate(node.args)]
    parts += [f"{k.arg}={ast.unparse(k.value)}" for k in node.keywords]
    return f"{name}({', '.join(parts)})"


class GroundTruthResponder:
    """Answers each request with the ground truth of the entry and turn it belongs to (module docstring)."""

    def __init__(self, entries: list[dict], *, policy: str = "batch") -> None:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
        self.policy = policy
        self._by_first: dict[str, list[dict]] = defaultdict(list)
        for entry in entries:
            self._by_first[entry["question"][0][-1]["content"]].append(entry)

    def __call__(self, body: dict) -> str | dict:
        messages = body["messages"]
        users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
        if not users:
            raise ValueError("request has no user message")
        turn, step = len(users) - 1, sum(m.get("role") == "assistant" for m in messages[users[-1] :])
        system = messages[0]["content"] if messages[0].get("role") == "system" else ""
        visible = system + json.dumps(body.get("tools") or [])
        texts = [messages[i]["content"] for i in users]
        candidates = [e for e in self._by_first.get(texts[0], []) if _fits(e, texts, visible)]
        answers = {json.dumps(self._reply(e, turn, step, body)) for e in candidates}
        if len(answers) != 1:
            ids = [e["id"] for e in candidates]
            raise ValueError(f"turn {turn} step {step}: {len(answers)} answers fit (entries {ids})")
        return json.loads(answers.pop())

    def _reply(self, entry: dict, turn: int, step: int, body: dict) -> str | dict:
        calls = [keyword_call(c, entry["involved_classes"]) for c in entry["ground_truth"][turn]]
        if self.policy == "batch":
            chosen = calls if step == 0 else []
        else:
            chosen = calls[step : step + 1]
        if body.get("tools"):
            return tool_calls_reply(body, chosen, turn, step) if chosen else NO_CALL
        system = body["messages"][0]["content"]
        fmt = next((f for f, text in FORMAT_INSTRUCTIONS.items() if text in system), None)
        if fmt is None:
            return f"[{', '.join(chosen)}]" if chosen else NO_CALL
        if not chosen:
            return f"<think>Nothing is left to do in this turn.</think>{NO_CALL}"
        return render_answer("I make the calls of this turn.", parse(f"[{', '.join(chosen)}]", "python"), fmt)


def tool_calls_reply(body: dict, calls: list[str], turn: int, step: int) -> dict:
    """A whole chat completion whose assistant message holds ``calls`` as OpenAI tool calls (ids
    ``call_<turn>_<step>_<i>``, arguments as JSON)."""
    tool_calls = []
    for i, call in enumerate(calls):
        node = ast.parse(call, mode="eval").body
        args = json.dumps({k.arg: ast.literal_eval(k.value) for k in node.keywords})
        function = {"name": ast.unparse(node.func), "arguments": args}
        tool_calls.append({"id": f"call_{turn}_{step}_{i}", "type": "function", "function": function})
    message = {"role": "assistant", "content": None, "tool_calls": tool_calls}
    return {
        "id": f"chatcmpl-{turn}-{step}",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "loopback"),
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _named(name: str, text: str) -> bool:
    """A function doc named ``name`` is in ``text`` (as JSON or as a Python repr)."""
    return f'"name": "{name}"' in text or f"'name': '{name}'" in text


def _fits(entry: dict, texts: list[str], visible: str) -> bool:
    """The request's user messages are the entry's, turn by turn (an announcement turn: its functions
    are named in the message or in the tools), and none of the functions the entry still holds out is
    in the system prompt or the tools (``visible``)."""
    missed = {
        int(t): [n["name"] if isinstance(n, dict) else n for n in names]
        for t, names in entry.get("missed_function", {}).items()
    }
    if len(texts) > len(entry["question"]):
        return False
    for turn, text in enumerate(texts):
        if turn in missed:
            if not all(_named(n, text) or _named(n, visible) for n in missed[turn]):
                return False
        elif [m["content"] for m in entry["question"][turn]][-1:] != [text]:
            return False
    hidden = [n for t, names in missed.items() if t >= len(texts) for n in names]
    return not any(_named(n, visible) for n in hidden)
