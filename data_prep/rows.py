"""Input files -> rows, one bad row never stopping the others.

A file is a JSON array (its first non-blank character is ``[``) or JSONL (one JSON value per line; blank
lines are skipped). :func:`load_rows` returns ``(row number, value)`` pairs, the row number being the
0-based line index (JSONL) or the element index (array); a row that cannot be read gets a
:class:`RowError` as its value instead, saying why:

    bad_encoding   the row holds bytes that are not UTF-8
    bad_json       the row is not valid JSON (an array element: the array's syntax around it)
    too_deep       the row nests deeper than ``MAX_DEPTH`` (a 100,000-deep line would overflow the stack)
    bad_unicode    a string holds a lone surrogate (``"\\ud800"``), which no UTF-8 file can store

The array is read element by element (``JSONDecoder.raw_decode``), so one broken element is skipped up to
the next top-level comma and the elements after it are still read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from funrl.reward import MAX_NESTING

MAX_DEPTH = MAX_NESTING  # what funrl.reward accepts; deeper rows are quarantined at read time
_WS = re.compile(r"[ \t\n\r]*")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_DECODER = json.JSONDecoder()


class RowError(ValueError):
    """A malformed row: ``reason`` is a short namespaced code, the message says which field."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def safe_text(text: str, limit: int = 300) -> str:
    """``text`` cut to ``limit`` characters, lone surrogates written as ``\\udXXX``: always UTF-8 clean."""
    text = text if len(text) <= limit else text[:limit] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def nesting_depth(value: object) -> int:
    """Depth of lists/dicts in ``value`` (a scalar is 0), without recursion."""
    depth, stack = 0, [(value, 1)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, (list, dict)):
            depth = max(depth, d)
            stack.extend((v, d + 1) for v in (node.values() if isinstance(node, dict) else node))
    return depth


def check_value(value: object, raw: str, where: str) -> object:
    """Raises RowError for a too-deep value or one holding a lone surrogate; returns the value."""
    if raw.count("[") + raw.count("{") > MAX_DEPTH and nesting_depth(value) > MAX_DEPTH:
        raise RowError("too_deep", f"{where} nests deeper than {MAX_DEPTH} levels")
    if _SURROGATE_ESCAPE.search(raw):  # only then can json.loads have made a lone surrogate
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as e:
            raise RowError("bad_unicode", f"{where} holds a lone surrogate ({e.reason})") from None
    return value


def parse_json(raw: str, where: str) -> object:
    """json.loads for one row or field: RowError instead of JSONDecodeError / RecursionError."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as e:
        raise RowError("bad_json", f"{where} is not valid JSON: {e}") from None
    except RecursionError:
        raise RowError("too_deep", f"{where} nests too deeply to parse") from None
    return check_value(value, raw, where)


def _check_bytes(raw: str, where: str) -> None:
    """``raw`` was decoded with surrogateescape: an undecodable byte shows up as U+DC80..U+DCFF."""
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError as e:
        byte = ord(raw[e.start]) - 0xDC00
        msg = f"{where} is not UTF-8: byte 0x{byte:02x} at character {e.start}"
        raise RowError("bad_encoding", msg if 0x80 <= byte <= 0xFF else f"{where}: {e.reason}") from None


def _row(raw: str, where: str, clean_bytes: bool) -> object:
    try:
        if not clean_bytes:
            _check_bytes(raw, where)
        return parse_json(raw, where)
    except RowError as e:
        return e


def _jsonl_rows(text: str, clean_bytes: bool) -> Iterator[tuple[int, object]]:
    for i, line in enumerate(text.split("\n")):
        if line.strip():
            yield i, _row(line, f"line {i + 1}", clean_bytes)


def _skip_element(text: str, pos: int) -> int:
    """Index of the ``,`` or ``]`` that ends the array element starting at ``pos`` (len(text) if none):
    a scan that respects strings and nesting, for skipping an element that does not parse."""
    depth, i, n = 0, pos, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c in "[{":
            depth += 1
        elif c in "]}":
            if depth == 0:
                return i
            depth -= 1
        elif c == "," and depth == 0:
            return i
        i += 1
    return n


def _array_rows(text: str, pos: int, clean_bytes: bool) -> Iterator[tuple[int, object]]:
    """Elements of the array whose ``[`` is at ``pos``, one at a time."""
    pos = _WS.match(text, pos + 1).end()
    if text.startswith("]", pos):
        return
    if pos >= len(text):
        yield 0, RowError("bad_json", "the file opens a JSON array that holds nothing and never closes")
        return
    index, n = 0, len(text)
    while pos < n:
        where = f"element {index}"
        try:
            if not clean_bytes:
                _check_bytes(text[pos : _skip_element(text, pos)], where)
            value, end = _DECODER.raw_decode(text, pos)
            value = check_value(value, text[pos:end], where)
        except json.JSONDecodeError as e:
            end = _skip_element(text, pos)
            value = RowError("bad_json", f"{where} is not valid JSON: {e.msg} (character {e.pos})")
        except RecursionError:
            end, value = _skip_element(text, pos), RowError("too_deep", f"{where} nests too deeply to parse")
        except RowError as e:
            end, value = _skip_element(text, pos), e
        yield index, value
        pos = _WS.match(text, end).end()
        if pos >= n or text[pos] == "]":
            break
        if text[pos] != ",":  # garbage after an element: the next element is read from the next comma
            pos = _skip_element(text, pos)
            if pos >= n or text[pos] == "]":
                break
        pos = _WS.match(text, pos + 1).end()
        index += 1


def load_rows(path: Path) -> Iterator[tuple[int, object]]:
    """``(row number, value or RowError)`` for every non-blank row of a JSON array or JSONL file, parsed
    one at a time (the file's text is held, its parsed rows are not)."""
    data = path.read_bytes()
    try:
        text, clean_bytes = data.decode("utf-8"), True
    except UnicodeDecodeError:
        text, clean_bytes = data.decode("utf-8", "surrogateescape"), False
    text = text.removeprefix("\ufeff")
    start = _WS.match(text).end()
    if text.startswith("[", start):
        yield from _array_rows(text, start, clean_bytes)
    else:
        yield from _jsonl_rows(text, clean_bytes)
