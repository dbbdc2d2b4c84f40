"""Tool calls over the real loopback server: the scripted server answers OpenAI ``tool_calls``, data prep's
``ChatClient`` sends ``tools`` and journals the assistant message, ``funrl.eval.fc`` reads it back."""

from __future__ import annotations

import asyncio
import json

import pytest
from funrl.data_prep import ChatClient, EndpointConfig, EndpointError, Journal

from funrl.toy.scripted_server import OpenAIServer, tool_call_completion

TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]


def endpoint(server: OpenAIServer) -> EndpointConfig:
    return EndpointConfig(
        base_url=server.base_url,
        model="m",
        concurrency=2,
        max_retries=1,
        backoff_initial_s=0.01,
        backoff_max_s=0.02,
        timeout_s=10,
    )


def responder(body: dict) -> str | list | dict:
    user = body["messages"][-1]["content"]
    if user == "calls":
        return [{"name": "f", "arguments": {"x": 1}}, {"name": "g_h", "arguments": '{"y": "not closed'}]
    if user == "both":
        return tool_call_completion(body, [{"name": "f", "arguments": {}}], content="thinking")
    if user == "bad":  # a tool call whose arguments are not a string: not an OpenAI reply
        reply = tool_call_completion(body, [{"name": "f", "arguments": {}}])
        reply["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = {"x": 1}
        return reply
    return "plain text"


def ask(server: OpenAIServer, journal: Journal, user: str, tools: list | None) -> str | None:
    return asyncio.run(_ask(server, journal, user, tools))


async def _ask(server: OpenAIServer, journal: Journal, user: str, tools: list | None) -> str | None:
    client = ChatClient(endpoint(server), journal)
    try:
        entry = await client.complete(f"k/{user}", [{"role": "user", "content": user}], tools=tools)
    finally:
        await client.aclose()
    return entry.content


def test_tool_calls_round_trip(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    with OpenAIServer(responder) as server:
        calls = json.loads(ask(server, journal, "calls", TOOLS))
        both = json.loads(ask(server, journal, "both", TOOLS))
        text = json.loads(ask(server, journal, "text", TOOLS))
        plain = ask(server, journal, "text", None)  # no tools: the reply text, as before
        again = json.loads(ask(server, journal, "calls", TOOLS))  # from the journal
        bodies = [r.body for r in server.log]
        with pytest.raises(EndpointError, match="content or tool_calls of the wrong type"):
            ask(server, journal, "bad", TOOLS)
    assert calls == {
        "content": None,
        "tool_calls": [
            {"id": "call_0", "name": "f", "arguments": '{"x": 1}'},
            {"id": "call_1", "name": "g_h", "arguments": '{"y": "not closed'},
        ],
    }
    assert both == {"content": "thinking", "tool_calls": [{"id": "call_0", "name": "f", "arguments": "{}"}]}
    assert text == {"content": "plain text", "tool_calls": []}
    assert plain == "plain text" and again == calls
    assert len(bodies) == 4  # the repeated request came from the journal
    assert [b.get("tools") for b in bodies] == [TOOLS, TOOLS, TOOLS, None]
    journal.close()
