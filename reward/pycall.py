"""Decode BFCL python-call text (``[f(a=1, b='x'), g.h(c=[1, 2])]``) into ``[{name: {param: value}}]``.

Faithful to BFCL's ``default_decode_ast_prompting`` + ``ast_parse`` + ``resolve_ast_by_type``
(bfcl-eval 2026.3.23), quirks included:

* the text is stripped of backticks, newlines and spaces, and ``[`` / ``]`` are added where missing, so
  ``f(a=1)`` decodes but ``f(a=[1])`` does not (it already ends with ``]``);
* keyword arguments only: positional arguments are silently dropped; ``**kw`` becomes a parameter named
  None; a repeated keyword keeps the last value;
* a bare name becomes the string of its name (``unit=cm`` -> ``'cm'``); a nested call with keyword
  arguments becomes ``{name: {args}}``, without them the call's source text (``'g(1)'``);
  ``x[0]`` becomes the string ``'x[0]'``; tuples stay tuples; attributes, sets, f-strings,
  comprehensions, lambdas and starred items fail to decode;
* a unary operator applied to a literal *negates* it, whatever the operator (``+5`` -> -5, ``not 1`` -> -1,
  BFCL's ``-value.operand.value``), while inside arithmetic operators mean what Python says;
* arithmetic (``BinOp``) is evaluated -- by :mod:`.safe_arith`, never by ``eval``.

Two paths give identical results: a fast path (one regex tokenisation + a small recursive descent) for
the grammar models actually emit -- names, keyword arguments, simple string literals, decimal numbers,
True/False/None, lists, dicts, nested keyword calls -- and BFCL's own route through ``ast.parse`` for
everything else. The fast path *declines* (never guesses) on anything outside its grammar.

Bounds: the call text is at most ``MAX_CALL_CHARS`` characters (checked by the caller) and values nest at
most ``MAX_NESTING`` deep (BFCL would go to about 200, Python's parser limit); beyond either the
candidate is rejected with a ``format_error``. Decoding never executes anything.
"""

from __future__ import annotations

import ast
import keyword
import re
import sys
import warnings

from .safe_arith import UnsafeExpression, evaluate

MAX_NESTING = 100

# Model output that Python's parser warns about (invalid escapes, "1if") must not spam the training log.
_SOURCE_NAME = "<funrl-model-output>"
for _category in (SyntaxWarning, DeprecationWarning):
    warnings.filterwarnings("ignore", category=_category, module=_SOURCE_NAME)


class FormatError(ValueError):
    """The text is not a decodable call list; ``error_type`` is a ``format_error:*`` string."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def bfcl_prompting_preprocess(text: str) -> str:
    """BFCL's string surgery before ``ast.parse``, verbatim."""
    result = text.strip("`\n ")
    if not result.startswith("["):
        result = "[" + result
    if not result.endswith("]"):
        result = result + "]"
    return result.strip().strip("'")


def decode_python(text: str) -> list:
    """Decode model text exactly as BFCL's prompting handlers do. Raises FormatError."""
    source = bfcl_prompting_preprocess(text)
    try:
        return fast_decode(source)
    except Declined:
        pass
    return slow_decode(source)


# ----------------------------------------------------------------------------------------------------
# Fast path: the grammar models actually emit, checked by one regex fullmatch (in C), then read back
# with finditer, so that Python does work per argument rather than per token. The grammar:
#   top    [ call (, call)* ,? ]          (or [] )
#   call   NAME(.NAME)* ( kw (, kw)* ,? )
#   kw     NAME = value
#   value  atom | list | dict, where list and dict hold atoms, or lists / dicts of atoms
#   atom   'string' | "string" (no backslash, no newline) | decimal number, optionally with a leading
#          '-' | True | False | None | NAME (a bare name, which BFCL keeps as its string)
# NAME is an ASCII identifier that is not a Python keyword; whitespace is space, tab or newline.
# Anything else (escapes, prefixes, nested calls, tuples, sets, arithmetic, '+5', hex, '1_000',
# comments...) fails the fullmatch and goes to the slow path unchanged.
# ----------------------------------------------------------------------------------------------------
# Possessive quantifiers (Python >= 3.11) stop backtracking into names, strings and whitespace; a valid
# text matches the same way with or without them.
_P = "+" if sys.version_info >= (3, 11) else ""
_W = rf"[ \t\n]*{_P}"
# No keyword check in the regex (a 35-way lookahead at every name doubled its cost): names are checked
# against keyword.kwlist in Python as they are read back, and a keyword makes the fast path decline.
_NAME = rf"[A-Za-z_][A-Za-z0-9_]*{_P}(?![^\x00-\x7f])"
_STR = rf"""'[^'\\\n\r]*{_P}'|"[^"\\\n\r]*{_P}\""""
_NUM = r"-?(?:\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|0+|[1-9]\d{0,99})(?![\w.])"
_ATOM = rf"(?:{_STR}|{_NUM}|{_NAME})"


def _seq(item: str) -> str:
    return rf"(?:{item}{_W}(?:,{_W}{item}{_W})*,?{_W})?"


def _list(item: str) -> str:
    return rf"\[{_W}{_seq(item)}\]"


def _dict(item: str) -> str:
    return rf"\{{{_W}{_seq(rf'{_ATOM}{_W}:{_W}{item}')}\}}"


_INNER = rf"(?:{_ATOM}|{_list(_ATOM)}|{_dict(_ATOM)})"
_VALUE = rf"(?:{_ATOM}|{_list(_INNER)}|{_dict(_INNER)})"
_KWARG = rf"{_NAME}{_W}={_W}{_VALUE}"
_CALL = rf"{_NAME}(?:\.{_NAME})*{_W}\({_W}{_seq(_KWARG)}\)"
_TOP_RE = re.compile(rf"\[{_W}{_seq(_CALL)}\]")
# Reads a validated text back in one pass: each match is a name followed either by "(" (a call opens:
# group 2 set) or by "= value" (a keyword argument: group 3). Between matches there are only brackets,
# commas and whitespace. Only ever run on text _TOP_RE accepted (it would take "a.b=1" as an argument).
_SCAN_RE = re.compile(rf"({_NAME}(?:\.{_NAME})*){_W}(?:(\()|={_W}({_VALUE}))")
_ITEM_RE = re.compile(_INNER)
_ATOM_RE = re.compile(_ATOM)
_PAIR_RE = re.compile(rf"({_ATOM}){_W}:{_W}({_INNER})")
# Characters Python's tokenizer rejects or transforms (NUL, other controls, lone surrogates): slow path.
_ODD_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
_KEYWORDS = frozenset(keyword.kwlist)
_CONSTANTS = {"True": True, "False": False, "None": None}


class Declined(Exception):
    """The fast path does not handle this input; the slow path decides."""


def fast_decode(source: str) -> list:
    """The fast path of ``decode_python``: a regex-validated call list of plain literals, decoded without
    building an AST; raises ``Declined`` for anything else (the slow path gives the same result for what
    the fast path accepts: tests/reward/test_fuzz.py)."""
    if _ODD_CHARS.search(source) or not _TOP_RE.fullmatch(source):
        raise Declined
    calls = []
    args = None
    for name, opens, value in _SCAN_RE.findall(source):
        if name in _KEYWORDS or ("." in name and any(p in _KEYWORDS for p in name.split("."))):
            raise Declined
        if opens:
            args = {}
            calls.append({name: args})
        else:
            args[name] = _convert(value)
    return calls


def _atom(t: str):
    c = t[0]
    if c == "'" or c == '"':
        return t[1:-1]
    if c in "0123456789.-":
        return float(t) if ("." in t or "e" in t or "E" in t) else int(t)
    if t in _KEYWORDS:
        if t in _CONSTANTS:
            return _CONSTANTS[t]
        raise Declined
    return t  # a bare name: BFCL keeps its string


def _convert(t: str):
    """A value matched by the grammar -> the Python value BFCL's decoder produces for it."""
    c = t[0]
    if c == "[":
        return [_convert(m) for m in _ITEM_RE.findall(t, 1, len(t) - 1)]
    if c == "{":
        value = {}
        for k, v in _PAIR_RE.findall(t, 1, len(t) - 1):
            value[_atom(k)] = _convert(v)
        return value
    return _atom(t)


# ----------------------------------------------------------------------------------------------------
# Slow path: BFCL's ast_parse / resolve_ast_call / resolve_ast_by_type, with eval replaced.
# ----------------------------------------------------------------------------------------------------
def slow_decode(source: str) -> list:
    """The general path of ``decode_python``: BFCL's AST decoding, on ``ast.parse`` output, never run."""
    try:
        parsed = ast.parse(source, filename=_SOURCE_NAME, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as e:
        raise FormatError(
            "format_error:decoder_failed", f"Invalid syntax. Failed to decode AST. {e}"
        ) from None
    body = parsed.body
    try:
        if isinstance(body, ast.Call):
            return [_resolve_call(body, 1)]
        elts = getattr(body, "elts", None)
        if elts is None:
            raise FormatError(
                "format_error:decoder_failed", f"Expected a list of calls, got {type(body).__name__}"
            )
        out = []
        for elem in elts:
            if not isinstance(elem, ast.Call):
                raise FormatError(
                    "format_error:decoder_failed", f"Expected a call, got {type(elem).__name__}"
                )
            out.append(_resolve_call(elem, 1))
        return out
    except RecursionError:
        raise FormatError("format_error:too_deep", "values nest too deep") from None


def _resolve_call(elem: ast.Call, depth: int) -> dict:
    parts = []
    func = elem.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    args = {}
    for kw in elem.keywords:
        args[kw.arg] = _resolve_value(kw.value, depth + 1)
    return {".".join(reversed(parts)): args}


def _fail(message: str) -> FormatError:
    return FormatError("format_error:decoder_failed", f"Invalid syntax. Failed to decode AST. {message}")


def _resolve_value(node: ast.AST, depth: int):
    if depth > MAX_NESTING:
        raise FormatError("format_error:too_deep", f"values nest deeper than {MAX_NESTING}")
    if isinstance(node, ast.Constant):
        return "..." if node.value is Ellipsis else node.value
    if isinstance(node, ast.UnaryOp):
        operand = node.operand
        if not isinstance(operand, ast.Constant):
            raise _fail(f"unsupported operand {type(operand).__name__}")
        try:
            return -operand.value  # BFCL negates whatever the operator
        except TypeError as e:
            raise _fail(str(e)) from None
    if isinstance(node, ast.List):
        return [_resolve_value(v, depth + 1) for v in node.elts]
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise _fail("dict unpacking")
        try:
            return {
                _resolve_value(k, depth + 1): _resolve_value(v, depth + 1)
                for k, v in zip(node.keys, node.values)
            }
        except TypeError as e:
            raise _fail(str(e)) from None
    if isinstance(node, ast.BinOp):
        try:
            return evaluate(node)
        except UnsafeExpression as e:
            raise FormatError("format_error:unsupported_expression", str(e)) from None
        except (ArithmeticError, TypeError, ValueError, KeyError) as e:
            raise _fail(f"{type(e).__name__}: {e}") from None
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        if not node.keywords:
            return ast.unparse(node)
        return _resolve_call(node, depth)
    if isinstance(node, ast.Tuple):
        return tuple(_resolve_value(v, depth + 1) for v in node.elts)
    if isinstance(node, ast.Subscript):
        return ast.unparse(node.value) + "[" + ast.unparse(node.slice) + "]"
    raise _fail(f"Unsupported AST type: {type(node)}")
