"""Every prompt of the multi-turn pipeline, in one place, and the parsing of the replies.

``PROMPT_VERSION`` is part of every request's logical id in the journal (``mt/<version>/...``): a
changed prompt is asked afresh, and the journal says which version produced each reply.

* query writer (Phase II): the round compressed into one "advanced tool" (its sub-tools in order, the
  arguments it needs) and the round's call trace; it writes one hard user request with noise, in which
  the prerequisite steps are implicit;
* reasoner (Phase III): BFCL's tool docs in the system prompt; answers ``<think>...</think>`` then
  ``<tool_call>[f(a=1), g(b='x')]</tool_call>``; tool results come back as a ``tool`` message
  ``<tool_response>[...]</tool_response>``; a reply without ``<tool_call>`` ends the turn;
* critic (Phase III): sees the request, the reference trace, the failed attempt and the checker's
  verdict, and writes a hint that does not give the answer away; the hint is appended to the request
  for the next try (and left out of the training data).
"""

from __future__ import annotations

import ast
import json
import re

from funrl.envs.bfcl.backend import function_docs

PROMPT_VERSION = "v1"

WRITER_SYSTEM = (
    "You write realistic, challenging user requests for training tool-using assistants. "
    "Reply with the request only."
)
CRITIC_SYSTEM = (
    "You review a failed attempt of an assistant that uses tools, and write one short hint that helps it "
    "succeed next time. Do not write the calls themselves. Reply with the hint only."
)
FORMAT_INSTRUCTION = (
    "First think step by step inside <think></think>. To call tools, then write the calls as a Python list "
    "with keyword arguments inside <tool_call></tool_call>, e.g. "
    "<think>...</think><tool_call>[func_a(x=1), func_b(y='text')]</tool_call>. The results come back as "
    "<tool_response>[...]</tool_response>. When the request is complete, think, then answer in plain "
    "text without <tool_call>."
)
_TOOL_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.S)
_THINK = re.compile(r"^\s*<think>(.*?)</think>", re.S)


class ReplyError(ValueError):
    """A reasoner reply that does not follow the format (the try fails with this reason)."""


def advanced_tool(calls: list[str], classes: list[str]) -> dict:
    """The round as one tool: its sub-tools in order and the arguments the calls used."""
    docs = {d["name"]: d for c in classes for d in function_docs(c)}
    steps, params = [], {}
    for call in calls:
        node = ast.parse(call, mode="eval").body
        name = node.func.id
        desc = docs[name]["description"].split("Tool description: ")[-1]
        steps.append(f"{name}: {desc}")
        for kw in node.keywords:
            spec = docs[name]["parameters"]["properties"].get(kw.arg, {})
            params[f"{name}.{kw.arg}"] = {
                "type": spec.get("type", "any"),
                "value": ast.literal_eval(kw.value),
            }
    return {
        "name": f"advanced_{steps[-1].split(':')[0]}",
        "description": "Does these steps in order: "
        + " ".join(f"({i + 1}) {s}" for i, s in enumerate(steps)),
        "parameters": params,
    }


def writer_messages(
    calls: list[str], outputs: list[str], classes: list[str], history: list[str]
) -> list[dict]:
    tool = advanced_tool(calls, classes)
    trace = "\n".join(f"CALL: {c}\nRESULT: {o}" for c, o in zip(calls, outputs))
    earlier = "\n".join(f"- {q}" for q in history) or "(none: this is the first request)"
    prompt = (
        "An assistant can use an advanced tool that wraps several steps:\n"
        f"ADVANCED TOOL:\n{json.dumps(tool, ensure_ascii=False)}\n\n"
        f"CALL TRACE:\n{trace}\n\n"
        f"EARLIER REQUESTS IN THIS CONVERSATION:\n{earlier}\n\n"
        "Write the user's next request, which this advanced tool fulfils exactly. Make it hard: do not "
        "name the tools or the intermediate steps (the assistant must work out that they are needed), "
        "state every value the calls use that cannot be looked up, and add some natural noise "
        "(context, a reason, an irrelevant detail). One paragraph."
    )
    return [{"role": "system", "content": WRITER_SYSTEM}, {"role": "user", "content": prompt}]


def parse_query(reply: str) -> str:
    """The request text (an optional ``QUERY:`` label removed); ReplyError when empty."""
    text = reply.strip()
    if text.upper().startswith("QUERY:"):
        text = text[6:].strip()
    if not text:
        raise ReplyError("the query writer replied with an empty request")
    return text


def reasoner_system(classes: list[str]) -> str:
    docs = [d for c in classes for d in function_docs(c)]
    return (
        "You are an assistant that completes the user's requests with the tools below. "
        f"{FORMAT_INSTRUCTION}\n\nHere is the list of tools in JSON format:\n{json.dumps(docs, ensure_ascii=False)}"
    )


def with_hints(query: str, hints: list[str]) -> str:
    return query if not hints else query + "\n\n" + "\n".join(f"Hint: {h}" for h in hints)


def tool_message(outputs: list[str]) -> dict:
    return {
        "role": "tool",
        "content": f"<tool_response>{json.dumps(outputs, ensure_ascii=False)}</tool_response>",
    }


def parse_reply(reply: str) -> list[str]:
    """The call strings of a reasoner reply ([] ends the turn); ReplyError when the format is broken."""
    if not _THINK.match(reply):
        raise ReplyError("the reply does not start with a <think>...</think> span")
    blocks = _TOOL_CALL.findall(reply)
    if not blocks:
        return []
    if len(blocks) > 1:
        raise ReplyError("more than one <tool_call> block")
    try:
        node = ast.parse(blocks[0].strip(), mode="eval").body
    except SyntaxError as e:
        raise ReplyError(f"the <tool_call> block is not a Python list: {e.msg}") from None
    if not isinstance(node, ast.List) or not node.elts or not all(isinstance(x, ast.Call) for x in node.elts):
        raise ReplyError("the <tool_call> block must be a non-empty Python list of calls")
    return [ast.unparse(x) for x in node.elts]


def critic_messages(
    query: str, calls: list[str], outputs: list[str], attempt: list[dict], verdict: str
) -> list[dict]:
    reference = "\n".join(f"CALL: {c}\nRESULT: {o}" for c, o in zip(calls, outputs))
    tried = "\n".join(f"{m['role'].upper()}: {m['content']}" for m in attempt) or "(nothing)"
    prompt = (
        f"REQUEST:\n{query}\n\nREFERENCE SOLUTION (hidden from the assistant):\n{reference}\n\n"
        f"ATTEMPT:\n{tried}\n\nCHECKER VERDICT:\n{verdict}\n\n"
        "Write one hint (one or two sentences) that points the assistant to its mistake."
    )
    return [{"role": "system", "content": CRITIC_SYSTEM}, {"role": "user", "content": prompt}]
