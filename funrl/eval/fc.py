"""Function-calling (FC) mode: replies read from OpenAI ``tool_calls``, as BFCL's FC handlers read them.

Requests go through data preparation's ``ChatClient`` with ``tools``: ``await client.complete(key,
messages, tools=openai_tools(entry))`` journals the assistant message as JSON (``{"content",
"tool_calls": [{"id", "name", "arguments"}]}``), which :func:`tool_reply` reads back. BFCL's
OpenAI-completions handler then decodes each call as ``{name: json.loads(arguments)}``; a reply without
tool calls does not decode. :func:`calls_text` writes the calls as the JSON list ``funrl.reward`` reads
with ``fmt="json"`` (arguments decoded once, as BFCL does), scored with ``underscore_to_dot=True``:
the tools API renamed ``math.factorial`` to ``math_factorial``, and BFCL's FC mode expects that name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class ToolReply:
    content: str | None
    tool_calls: list[dict]  # [{"id", "name", "arguments" (a JSON string, as the server sent it)}]


def tool_reply(journaled: str) -> ToolReply:
    """The journaled assistant message of a request sent with ``tools`` (see ``ChatClient.complete``)."""
    message = json.loads(journaled)
    return ToolReply(message.get("content"), list(message.get("tool_calls") or []))


def calls_text(tool_calls: list[dict]) -> str:
    """Tool calls as ``[{"name", "arguments"}]`` JSON text (arguments kept as the server's string)."""
    return json.dumps(
        [{"name": c["name"], "arguments": c["arguments"]} for c in tool_calls], ensure_ascii=False
    )
