"""Output formats: find the calls in a model's text and decode them, without executing anything.

Formats (``fmt``):

=================  ==========================================================================================
``python``         BFCL python-call list ``[f(a=1, b='x')]``, decoded exactly as BFCL's prompting handlers do
``json``           ``[{"name": "f", "arguments": {"a": 1}}]`` (also ``"parameters"``, arguments given as a
                   JSON string, a single object instead of a list, OpenAI's ``{"function": {...}}`` wrapper,
                   and a ```` ```json ```` fence)
``answer``         ``<answer>...</answer>`` holding a python-call list (FunRL) or a JSON list
``tool_call``      ``<tool_call>...</tool_call>``: one block holding a list (Tool-N1), or one block per call
                   (Qwen/Hermes); each block's content is JSON (or a python-call list)
``auto``           ``answer`` if an ``<answer>`` tag is present, else ``tool_call`` if a ``<tool_call>`` tag
                   is, else ``json`` if the text starts with ``{`` or ``[{`` (or a ```` ```json ```` fence),
                   else ``python``
=================  ==========================================================================================

``think_python``, ``think_answer`` and ``think_tool_call`` are the same formats, named for the
``<think>...</think>`` block that precedes the calls in FunReason, FunRL and Tool-N1 outputs.

The think block, in every format: the text may open with ``<think>`` and must then close it with
``</think>``; when a chat template already put ``<think>`` in the prompt, the response holds only the
closing tag and everything before it is the reasoning. The calls are decoded from what follows the block.
A second think tag anywhere after it is a format error. With ``require_think=True`` a non-empty think
block is mandatory (``format_error:missing_think``). In the tagged formats nothing but whitespace may
surround the tags (``format_error:extra_text``): the reward teaches the format.

Java and JavaScript (``language``, see :mod:`.langs`): call text -- the ``python`` format and the call
lists inside ``answer`` / ``tool_call`` -- is read as Java / JavaScript source the way BFCL's tree-sitter
parsers read it, each value kept as its source text; JSON is read as for Python.

Bounds: the whole text at most ``MAX_TEXT_CHARS``, the part holding the calls at most
``MAX_CALL_CHARS`` (``format_error:too_long``); values nest at most ``MAX_NESTING`` deep
(``format_error:too_deep``).
"""

from __future__ import annotations

import json

from .langs import decode_source
from .pycall import MAX_NESTING, FormatError, decode_python

MAX_TEXT_CHARS = 1_000_000
MAX_CALL_CHARS = 100_000

FORMATS = ("auto", "python", "json", "answer", "tool_call", "think_python", "think_answer", "think_tool_call")
"""Every ``fmt`` the reward decodes."""
THINK_FORMATS = ("think_answer", "think_python", "think_tool_call")
"""The formats a model is trained to write (``<think>`` CoT, then the calls): data prep renders them, eval
prompts for them."""
_CANONICAL = {"think_python": "python", "think_answer": "answer", "think_tool_call": "tool_call"}

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
"""The chain-of-thought tags, for every part of FunRL (reward, data prep, SFT segments, the RL CoT mask)."""
_THINK_OPEN, _THINK_CLOSE = THINK_OPEN, THINK_CLOSE
_ABSENT = object()
_JSON = json.JSONDecoder()
_ANSWER_OPEN, _ANSWER_CLOSE = "<answer>", "</answer>"
_TOOL_OPEN, _TOOL_CLOSE = "<tool_call>", "</tool_call>"


def check_format(fmt: object, formats: tuple[str, ...] = FORMATS, *, key: str = "fmt") -> str:
    """Return ``fmt`` if it is one of ``formats``; else raise ValueError naming ``key``."""
    if not isinstance(fmt, str) or fmt not in formats:
        raise ValueError(f"{key} must be one of {', '.join(formats)}; got {fmt!r}")
    return fmt


def canonical_format(fmt: str) -> str:
    return _CANONICAL.get(check_format(fmt), fmt)


def split_think(text: str, require_think: bool) -> tuple[str | None, str]:
    """-> (reasoning or None, the rest of the text). Raises FormatError on malformed think tags."""
    if "think>" not in text:  # no tag at all: one scan, the common case for untagged formats
        if require_think:
            raise FormatError("format_error:missing_think", "expected <think>...</think> before the calls")
        return None, text
    stripped = text.lstrip()
    if stripped.startswith(_THINK_OPEN):
        end = stripped.find(_THINK_CLOSE, len(_THINK_OPEN))
        if end < 0:
            raise FormatError("format_error:unclosed_think", "<think> is never closed by </think>")
        think, rest = stripped[len(_THINK_OPEN) : end], stripped[end + len(_THINK_CLOSE) :]
    else:
        end = text.find(_THINK_CLOSE)
        if end >= 0 and _THINK_OPEN not in text[:end]:
            think, rest = text[:end], text[end + len(_THINK_CLOSE) :]  # <think> was in the prompt
        else:
            think, rest = None, text
    if _THINK_OPEN in rest or _THINK_CLOSE in rest:
        raise FormatError("format_error:extra_think", "a think tag appears after the reasoning block")
    if require_think and (think is None or not think.strip()):
        raise FormatError("format_error:missing_think", "expected <think>...</think> before the calls")
    return think, rest


def leading_think(text: str) -> tuple[str | None, str]:
    """Lenient split for reporting and judging: ``(reasoning, the rest)``, both stripped, or
    ``(None, text stripped)`` when the text has no well-formed think block (where ``split_think`` returns
    no reasoning or raises). Never raises."""
    try:
        think, rest = split_think(text, False)
    except FormatError:
        return None, text.strip()
    return (None, text.strip()) if think is None else (think.strip(), rest.strip())


def _check_call_size(s: str) -> None:
    if len(s) > MAX_CALL_CHARS:
        raise FormatError("format_error:too_long", f"call text exceeds {MAX_CALL_CHARS} characters")


def _strip_fence(s: str) -> str:
    if s.startswith("```"):
        newline = s.find("\n")
        s = s[newline + 1 :] if newline >= 0 else s[3:]
        s = s.rstrip()
        if s.endswith("```"):
            s = s[:-3]
    return s.strip()


def _depth_ok(value, depth: int = 0) -> bool:
    if depth > MAX_NESTING:
        return False
    if isinstance(value, dict):
        return all(_depth_ok(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return all(_depth_ok(v, depth + 1) for v in value)
    return True


def decode_json(text: str) -> list:
    """``[{"name": ..., "arguments": {...}}]`` -> ``[{name: arguments}]``, as BFCL's FC handlers decode."""
    s = text.strip()
    if s.startswith("```"):
        s = _strip_fence(s)
    if len(s) > MAX_CALL_CHARS:
        raise FormatError("format_error:too_long", f"call text exceeds {MAX_CALL_CHARS} characters")
    try:
        data, end = _JSON.raw_decode(s)  # json.loads minus its whitespace passes: s is stripped
    except (ValueError, RecursionError) as e:
        raise FormatError("format_error:decoder_failed", f"Invalid JSON: {e}") from None
    if end != len(s):
        raise FormatError("format_error:decoder_failed", f"Invalid JSON: extra data at character {end}")
    # Nesting deeper than MAX_NESTING needs that many brackets: count them (in C) before walking.
    if len(s) > 2 * MAX_NESTING and s.count("[") + s.count("{") > MAX_NESTING and not _depth_ok(data):
        raise FormatError("format_error:too_deep", f"values nest deeper than {MAX_NESTING}")
    if type(data) is dict:
        data = [data]
    elif type(data) is not list:
        raise FormatError("format_error:wrong_output_format", "expected a JSON list of calls")
    calls = []
    for k, item in enumerate(data):
        if type(item) is not dict:
            raise FormatError("format_error:wrong_output_format", f"call {k} is not an object")
        name = item.get("name")
        if name is None and type(item.get("function")) is dict:
            item = item["function"]  # OpenAI tool_calls shape
            name = item.get("name")
        if type(name) is not str:
            raise FormatError("format_error:wrong_output_format", f"call {k} has no string 'name'")
        args = item.get("arguments", _ABSENT)
        if args is _ABSENT:
            args = item.get("parameters", {})
        if type(args) is str:  # arguments given as a JSON string (decoded once, as BFCL's FC handlers do)
            try:
                args = json.loads(args)
            except (ValueError, RecursionError) as e:
                raise FormatError(
                    "format_error:decoder_failed", f"call {k}: arguments are not JSON: {e}"
                ) from None
        if type(args) is not dict:
            raise FormatError("format_error:wrong_output_format", f"call {k}: arguments must be an object")
        calls.append({name: args})
    return calls


def _looks_json(s: str) -> bool:
    s = s.lstrip()
    if s.startswith("{") or s.startswith("```json"):
        return True
    return s.startswith("[") and s[1:].lstrip().startswith("{")


def _decode_content(content: str, language: str = "python") -> list:
    """The inside of an answer / tool_call tag: JSON if it looks like JSON, else a call list."""
    if _looks_json(content):
        return decode_json(content)
    _check_call_size(content)
    return decode_python(content) if language == "python" else decode_source(content, language)


def _tagged_block(rest: str, open_tag: str, close_tag: str) -> str:
    s = rest.strip()
    if not s.startswith(open_tag):
        if open_tag not in s:
            raise FormatError(f"format_error:no_{open_tag[1:-1]}", f"no {open_tag} block")
        raise FormatError("format_error:extra_text", f"text before {open_tag}")
    end = s.find(close_tag)
    if end < 0:
        raise FormatError(f"format_error:unclosed_{open_tag[1:-1]}", f"{open_tag} is never closed")
    content, after = s[len(open_tag) : end], s[end + len(close_tag) :]
    if after.strip():
        kind = "multiple_answers" if open_tag in after else "extra_text"
        raise FormatError(f"format_error:{kind}", f"text after {close_tag}")
    return content


def _decode_answer(rest: str, language: str = "python") -> list:
    return _decode_content(_tagged_block(rest, _ANSWER_OPEN, _ANSWER_CLOSE), language)


def _decode_tool_calls(rest: str, language: str = "python") -> list:
    s = rest.strip()
    if not s.startswith(_TOOL_OPEN):
        if _TOOL_OPEN not in s:
            raise FormatError("format_error:no_tool_call", "no <tool_call> block")
        raise FormatError("format_error:extra_text", "text before <tool_call>")
    calls: list = []
    pos = 0
    while pos < len(s):
        if not s.startswith(_TOOL_OPEN, pos):
            raise FormatError("format_error:extra_text", "text between or after <tool_call> blocks")
        end = s.find(_TOOL_CLOSE, pos)
        if end < 0:
            raise FormatError("format_error:unclosed_tool_call", "<tool_call> is never closed")
        calls.extend(_decode_content(s[pos + len(_TOOL_OPEN) : end], language))
        pos = end + len(_TOOL_CLOSE)
        while pos < len(s) and s[pos].isspace():
            pos += 1
    return calls


def detect_format(rest: str) -> str:
    """What ``auto`` decides for the text after the think block."""
    if _ANSWER_OPEN in rest:
        return "answer"
    if _TOOL_OPEN in rest:
        return "tool_call"
    if _looks_json(rest):
        return "json"
    return "python"


def decode(
    text: str, fmt: str = "auto", require_think: bool = False, language: str = "python"
) -> tuple[list, str]:
    """-> (calls in BFCL decoded form, the format used). Raises FormatError with a format_error type.
    ``language``: how call text (not JSON) is read -- Python, or Java/JavaScript as BFCL reads them."""
    fmt = _CANONICAL.get(fmt, fmt)
    if fmt not in _DECODERS:
        canonical_format(fmt)  # raises, naming the bad value
    if type(text) is not str:
        raise FormatError(
            "format_error:not_text", f"model output must be a string, got {type(text).__name__}"
        )
    if len(text) > MAX_TEXT_CHARS:
        raise FormatError("format_error:too_long", f"output exceeds {MAX_TEXT_CHARS} characters")
    if not text or text.isspace():
        raise FormatError("format_error:empty", "empty output")
    _, rest = split_think(text, require_think)
    if fmt == "auto":
        fmt = detect_format(rest)
    if language == "python":
        return _DECODERS[fmt](rest), fmt
    return _DECODERS[fmt](rest, language), fmt


def _decode_python_bounded(rest: str, language: str = "python") -> list:
    _check_call_size(rest)
    return decode_python(rest) if language == "python" else decode_source(rest, language)


def _decode_json(rest: str, language: str = "python") -> list:
    return decode_json(rest)  # JSON values are the same in every language


_DECODERS = {
    "auto": None,
    "python": _decode_python_bounded,
    "json": _decode_json,
    "answer": _decode_answer,
    "tool_call": _decode_tool_calls,
}
