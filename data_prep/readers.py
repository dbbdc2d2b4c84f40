"""Readers: source rows -> canonical :class:`Sample` records, or a quarantine entry with the reason.

    xlam   xlam-function-calling-60k style: a JSON array (or JSONL) of rows whose ``query`` is a string
           and ``tools`` / ``answers`` are JSON strings (lists are accepted too).
    bfcl   BFCL entries (JSONL: ``id``, ``question`` [[messages]], ``function`` [docs]) plus the matching
           possible-answer JSONL (``id``, ``ground_truth``). Irrelevance entries (no ground truth) become
           non-call samples. Only single-turn entries with Python-typed schemas are read.
    chat   rows with ``messages`` (OpenAI ``tool_calls`` or Hermes ``<tool_call>`` blocks) and ``tools``
           (OpenAI tool list, or a Hermes ``<tools>`` block in the system message). The first user turn
           and the assistant reply to it make the sample; a ``<think>`` block or ``reasoning_content``
           in that reply becomes the sample's CoT.

A row that cannot be read becomes ``{"source", "row", "reason", "detail"}`` in the quarantine list
instead of stopping the run.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path

from .config import InputConfig
from .records import Sample
from .rows import RowError, load_rows, parse_json, safe_text
from .schemas import SchemaError, category_for, check_bfcl_doc, openai_tool_to_bfcl, xlam_tool_to_bfcl

__all__ = ["RowError", "read_input", "read_rows"]


def _json_field(row: dict, key: str) -> object:
    if key not in row:
        raise RowError("missing_field", f"field {key!r} is missing")
    value = row[key]
    if isinstance(value, str):
        return parse_json(value, f"field {key!r}")
    return value


def _kind(value: object) -> str:
    """'an int (42)', 'null', 'a list': what a field holds, for a message."""
    if value is None:
        return "null"
    name = type(value).__name__
    article = "an" if name[0] in "aeiou" else "a"
    shown = f" ({safe_text(repr(value), 40)})" if isinstance(value, (int, float)) else ""
    return f"{article} {name}{shown}"


def _calls_from_name_args(items: object, where: str) -> list[dict]:
    """[{"name": n, "arguments": {...}}] -> [{n: {...}}]."""
    if not isinstance(items, list):
        raise RowError("bad_calls", f"field {where!r} is not a list")
    calls = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise RowError("bad_calls", f"{where}[{i}] has no string 'name'")
        args = item.get("arguments", item.get("parameters", {}))
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as e:
                raise RowError("bad_calls", f"{where}[{i}].arguments is not valid JSON: {e}") from None
        if not isinstance(args, dict):
            raise RowError("bad_calls", f"{where}[{i}].arguments is not a mapping")
        calls.append({item["name"]: args})
    return calls


def _check_calls_against_tools(calls: list[dict], tools: list[dict]) -> None:
    names = {t["name"] for t in tools}
    for call in calls:
        (name,) = call
        if name not in names:
            raise RowError("unknown_function", f"reference call {name!r} is not among the tools")


def xlam_row_to_sample(row: dict, sample_id: str, source: str) -> Sample:
    if "query" not in row:
        raise RowError("missing_field", "field 'query' is missing")
    query = row["query"]
    if not isinstance(query, str):
        raise RowError("bad_type", f"field 'query' is {_kind(query)}, not a string")
    if not query.strip():
        raise RowError("empty_field", "field 'query' is empty")
    raw_tools = _json_field(row, "tools")
    if not isinstance(raw_tools, list) or not raw_tools:
        raise RowError("bad_tools", "field 'tools' is not a non-empty list")
    try:
        tools = [xlam_tool_to_bfcl(t) for t in raw_tools]
    except SchemaError as e:
        raise RowError("bad_tools", f"field 'tools': {e}") from None
    calls = _calls_from_name_args(_json_field(row, "answers"), "answers")
    _check_calls_against_tools(calls, tools)
    return Sample(sample_id, source, query, tools, calls, None, category_for(calls, tools))


def _bfcl_category(entry_id: str) -> str:
    m = re.fullmatch(r"(.+?)_\d+(?:-\d+)*", entry_id)
    if not m:
        raise RowError("bad_id", f"BFCL id {entry_id!r} does not end in _<number>")
    return m.group(1)


def _first_acceptable(values: object) -> tuple[bool, object]:
    """(present, value): the first acceptable value that is not "" (may be omitted). BFCL writes the
    answer for a dict parameter as a dict of acceptable-value lists, and a list of dicts likewise, so
    those are descended into: the reference call must hold a value, not the lists of choices."""
    if not isinstance(values, list) or not values:
        raise RowError("bad_ground_truth", f"acceptable values {values!r} are not a non-empty list")
    for v in values:
        if v != "":
            return True, _concrete(v)
    return False, None


def _concrete(value: object) -> object:
    if isinstance(value, dict):
        out = {}
        for key, acceptable in value.items():
            if isinstance(acceptable, list):
                present, chosen = _first_acceptable(acceptable)
                if present:
                    out[key] = chosen
            else:
                out[key] = acceptable
        return out
    if isinstance(value, list):
        return [_concrete(v) if isinstance(v, dict) else v for v in value]
    return value


def bfcl_entry_to_sample(entry: dict, answer: dict | None, source: str) -> Sample:
    entry_id = entry.get("id")
    if not isinstance(entry_id, str):
        raise RowError("missing_field", "field 'id' is missing")
    category = _bfcl_category(entry_id)
    if category.split("_")[-1] in ("java", "javascript") or category in ("java", "javascript"):
        raise RowError("unsupported_category", f"category {category!r}: non-Python types are not supported")
    turns = entry.get("question")
    if not isinstance(turns, list) or not turns or not isinstance(turns[0], list):
        raise RowError("missing_field", "field 'question' is not a list of turns")
    if len(turns) > 1:
        raise RowError("multi_turn", f"{len(turns)} turns; only single-turn entries are read")
    users = [m.get("content") for m in turns[0] if isinstance(m, dict) and m.get("role") == "user"]
    if not users or not isinstance(users[-1], str):
        raise RowError("missing_field", "question has no user message")
    docs = entry.get("function")
    if not isinstance(docs, list) or not docs:
        raise RowError("bad_tools", "field 'function' is not a non-empty list")
    try:
        tools = [check_bfcl_doc(d) for d in docs]
    except SchemaError as e:
        raise RowError("bad_tools", f"field 'function': {e}") from None
    if answer is None:
        if "irrelevance" not in category:
            raise RowError("no_possible_answer", f"no possible answer for {entry_id!r}")
        return Sample(f"{source}:{entry_id}", source, users[-1], tools, [], None, category)
    ground_truth = answer.get("ground_truth")
    if not isinstance(ground_truth, list) or not ground_truth:
        raise RowError("bad_ground_truth", "field 'ground_truth' is not a non-empty list")
    calls = []
    for i, item in enumerate(ground_truth):
        if not isinstance(item, dict) or len(item) != 1 or not isinstance(next(iter(item.values())), dict):
            raise RowError("bad_ground_truth", f"ground_truth[{i}] is not {{name: {{param: [values]}}}}")
        ((name, params),) = item.items()
        args = {}
        for pname, values in params.items():
            present, value = _first_acceptable(values)
            if present:
                args[pname] = value
        calls.append({name: args})
    _check_calls_against_tools(calls, tools)
    return Sample(f"{source}:{entry_id}", source, users[-1], tools, calls, ground_truth, category)


_TOOL_CALL_RE = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.S)
_TOOLS_RE = re.compile(r"<tools>\s*(.*?)\s*</tools>", re.S)
_THINK_RE = re.compile(r"<think>(.*?)</think>", re.S)


def _hermes_tools(system: str) -> list:
    m = _TOOLS_RE.search(system)
    if not m:
        return []
    body = m.group(1).strip()
    try:
        parsed = json.loads(body)
        return parsed if isinstance(parsed, list) else [parsed]
    except json.JSONDecodeError:
        pass
    tools = []
    for i, line in enumerate(body.splitlines()):
        if line.strip():
            try:
                tools.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise RowError("bad_json", f"<tools> line {i} in the system message: {e}") from None
    return tools


def chat_row_to_sample(row: dict, sample_id: str, source: str) -> Sample:
    messages = _json_field(row, "messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise RowError("bad_messages", "field 'messages' is not a list of mappings")
    raw_tools = _json_field(row, "tools") if "tools" in row else []
    if not raw_tools:
        systems = [m.get("content") for m in messages if m.get("role") == "system"]
        raw_tools = _hermes_tools(systems[0]) if systems and isinstance(systems[0], str) else []
    if not isinstance(raw_tools, list) or not raw_tools:
        raise RowError(
            "bad_tools", "no tools: neither a 'tools' field nor a <tools> block in the system message"
        )
    try:
        tools = [openai_tool_to_bfcl(t) for t in raw_tools]
    except SchemaError as e:
        raise RowError("bad_tools", f"field 'tools': {e}") from None
    user_at = next((i for i, m in enumerate(messages) if m.get("role") == "user"), None)
    if user_at is None or not isinstance(messages[user_at].get("content"), str):
        raise RowError("bad_messages", "messages have no user turn with string content")
    reply = next((m for m in messages[user_at + 1 :] if m.get("role") == "assistant"), None)
    if reply is None:
        raise RowError("bad_messages", "no assistant turn after the first user turn")
    content = reply.get("content") or ""
    if not isinstance(content, str):
        raise RowError("bad_messages", "assistant content is not a string")
    if reply.get("tool_calls"):
        raw_calls = []
        for i, tc in enumerate(reply["tool_calls"]):
            fn = tc.get("function") if isinstance(tc, dict) else None
            if not isinstance(fn, dict):
                raise RowError("bad_calls", f"assistant tool_calls[{i}] has no 'function'")
            raw_calls.append(fn)
        calls = _calls_from_name_args(raw_calls, "tool_calls")
    else:
        blocks = []
        for i, block in enumerate(_TOOL_CALL_RE.findall(content)):
            try:
                parsed = json.loads(block)
            except json.JSONDecodeError as e:
                raise RowError("bad_calls", f"<tool_call> block {i} is not valid JSON: {e}") from None
            blocks.extend(parsed if isinstance(parsed, list) else [parsed])
        calls = _calls_from_name_args(blocks, "<tool_call>")
    _check_calls_against_tools(calls, tools)
    think = _THINK_RE.search(content)
    cot = reply.get("reasoning_content") or (think.group(1).strip() if think else None)
    return Sample(
        sample_id, source, messages[user_at]["content"], tools, calls, None, category_for(calls, tools), cot
    )


def read_rows(inp: InputConfig) -> Iterator[tuple[int, Sample | dict]]:
    """``(row number, Sample)`` per good row and ``(row number, quarantine dict)`` per malformed one.
    The row number is the 0-based line (JSONL) or element (JSON array) index."""
    path = Path(inp.path)
    if not path.is_file():
        raise FileNotFoundError(f"input file {path} does not exist (inputs[].path)")
    source = safe_text(inp.name or path.stem)
    rows = itertools.islice(load_rows(path), inp.limit)
    answers: dict[str, dict] = {}
    if inp.format == "bfcl":
        for _, a in load_rows(Path(inp.possible_answers or "")):
            if isinstance(a, dict) and isinstance(a.get("id"), str):
                answers[a["id"]] = a
    for row_no, row in rows:
        try:
            if isinstance(row, RowError):
                raise row
            if not isinstance(row, dict):
                raise RowError("bad_row", f"row is {_kind(row)}, not a mapping")
            if inp.format == "xlam":
                yield row_no, xlam_row_to_sample(row, f"{source}:{row.get('id', row_no)}", source)
            elif inp.format == "bfcl":
                yield row_no, bfcl_entry_to_sample(row, answers.get(str(row.get("id"))), source)
            else:
                yield row_no, chat_row_to_sample(row, f"{source}:{row.get('id', row_no)}", source)
        except RowError as e:
            yield row_no, quarantine_entry(source, row_no, f"read:{e.reason}", str(e))
        except RecursionError:
            yield row_no, quarantine_entry(source, row_no, "read:too_deep", "a field nests too deeply")
        except (TypeError, AttributeError, KeyError, ValueError) as e:  # a shape no check above foresaw
            yield row_no, quarantine_entry(source, row_no, "read:malformed", f"{type(e).__name__}: {e}")


def quarantine_entry(source: str, row: int, reason: str, detail: str) -> dict:
    """A quarantine record; the detail is made UTF-8 clean (it may quote the row)."""
    return {"source": source, "row": row, "reason": reason, "detail": safe_text(detail)}


def read_input(inp: InputConfig) -> Iterator[Sample | dict]:
    """Yields a Sample per good row and a quarantine dict per malformed one."""
    for _, item in read_rows(inp):
        yield item
