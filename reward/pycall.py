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
import warnings

from .safe_arith import UnsafeExpression, evaluate

MAX_NESTING = 100

# Model output that Python's parser warns about (invalid escapes, "1if") must not spam the training log.
_SOURCE_NAME = "<funrl-model-output>"
for _category in (SyntaxWarning, DeprecationWarning):
    warnings.filterwarnings("ignore", category=_category, module=_SOURCE_NAME)


class DecodeError(ValueError):
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
    """Decode model text exactly as BFCL's prompting handlers do. Raises DecodeError."""
    source = bfcl_prompting_preprocess(text)
    try:
        return _fast_decode(source)
    except _Decline:
        pass
    return _slow_decode(source)


# ----------------------------------------------------------------------------------------------------
# Fast path. One token per match; the single group keeps findall returning plain strings. A token is
# classified by its first character; a character matched only by the catch-all "." (a backslash, '#',
# a quote that does not close on the same line, a non-ASCII letter, '+', ...) makes the path decline.
# A digit can reach the catch-all only when followed by a letter, digit, '_' or '.' (``1j``, ``0x1``,
# ``007``, ``1_0``): the token after it is then never one that may follow a value, so the path declines.
# ----------------------------------------------------------------------------------------------------
_TOKEN_RE = re.compile(
    r"""[ \t\n]*(
        [A-Za-z_][A-Za-z0-9_]*
      | '[^'\\\n\r\x00]*' | "[^"\\\n\r\x00]*"
      | (?:\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)(?![\w.])
      | (?:0+|[1-9]\d{0,99})(?![\w.])
      | [-()\[\]{},:=.]
      | .
    )""",
    re.VERBOSE | re.DOTALL,
)
# Strings holding characters Python's tokenizer treats specially (surrogates cannot be encoded; the
# others are rejected or transformed) are left to the slow path.
_ODD_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_DIGITS = frozenset("0123456789")
_KEYWORDS = frozenset(keyword.kwlist)
_CONSTANTS = {"True": True, "False": False, "None": None}
_FOLLOW = frozenset((",", ")", "]", "}", ":"))


class _Decline(Exception):
    """The fast path does not handle this input; the slow path decides."""


def _fast_decode(source: str) -> list:
    if _ODD_CHARS.search(source):
        raise _Decline
    toks = _TOKEN_RE.findall(source)
    try:
        if toks[0] != "[":
            raise _Decline
        calls = []
        i = 1
        if toks[1] != "]":
            while True:
                call, i = _call(toks, i, 1)
                calls.append(call)
                t = toks[i]
                if t == ",":
                    i += 1
                    if toks[i] == "]":
                        break
                elif t != "]":
                    raise _Decline
                else:
                    break
        if i + 1 != len(toks):
            raise _Decline
        return calls
    except IndexError:
        raise _Decline from None


def _name(toks: list, i: int) -> str:
    t = toks[i]
    if t[0] not in _NAME_START or t in _KEYWORDS:
        raise _Decline
    return t


def _call(toks: list, i: int, depth: int) -> tuple:
    """NAME ('.' NAME)* '(' [NAME '=' value (',' NAME '=' value)* [',']] ')'  ->  ({name: args}, i)"""
    name = _name(toks, i)
    i += 1
    while toks[i] == ".":
        name = name + "." + _name(toks, i + 1)
        i += 2
    if toks[i] != "(":
        raise _Decline
    i += 1
    args = {}
    while toks[i] != ")":
        key = _name(toks, i)
        if toks[i + 1] != "=":
            raise _Decline  # positional argument: BFCL drops it; the slow path reproduces that
        value, i = _value(toks, i + 2, depth + 1)
        args[key] = value
        t = toks[i]
        if t == ",":
            i += 1
        elif t != ")":
            raise _Decline
    return {name: args}, i + 1


def _value(toks: list, i: int, depth: int) -> tuple:
    if depth > MAX_NESTING:
        raise DecodeError("format_error:too_deep", f"values nest deeper than {MAX_NESTING}")
    t = toks[i]
    c = t[0]
    if c == "'" or c == '"':
        if len(t) < 2:
            raise _Decline
        value = t[1:-1]
        i += 1
    elif c in _DIGITS or (c == "." and len(t) > 1):
        value = float(t) if ("." in t or "e" in t or "E" in t) else int(t)
        i += 1
    elif c == "-":
        t = toks[i + 1]
        c = t[0]
        if not (c in _DIGITS or (c == "." and len(t) > 1)):
            raise _Decline
        value = -(float(t) if ("." in t or "e" in t or "E" in t) else int(t))
        i += 2
    elif c in _NAME_START:
        if t in _CONSTANTS:
            value = _CONSTANTS[t]
            i += 1
        elif t in _KEYWORDS:
            raise _Decline
        elif toks[i + 1] == "(" or toks[i + 1] == ".":
            if toks[i + 1] == "(" and toks[i + 2] == ")":
                value = t + "()"  # ast.unparse of a call without arguments
                i += 3
            else:
                value, i = _call(toks, i, depth)
                if not next(iter(value.values())):
                    raise _Decline  # no keyword arguments: BFCL keeps ast.unparse text
        else:
            value = t
            i += 1
    elif c == "[":
        value = []
        i += 1
        while toks[i] != "]":
            item, i = _value(toks, i, depth + 1)
            value.append(item)
            if toks[i] == ",":
                i += 1
            elif toks[i] != "]":
                raise _Decline
        i += 1
    elif c == "{":
        value = {}
        i += 1
        while toks[i] != "}":
            key, i = _value(toks, i, depth + 1)
            if toks[i] != ":":
                raise _Decline  # a set: BFCL fails on it; let the slow path say so
            item, i = _value(toks, i + 1, depth + 1)
            try:
                value[key] = item
            except TypeError:
                raise _Decline from None
            if toks[i] == ",":
                i += 1
            elif toks[i] != "}":
                raise _Decline
        i += 1
    else:
        raise _Decline
    if toks[i] not in _FOLLOW:
        raise _Decline
    return value, i


# ----------------------------------------------------------------------------------------------------
# Slow path: BFCL's ast_parse / resolve_ast_call / resolve_ast_by_type, with eval replaced.
# ----------------------------------------------------------------------------------------------------
def _slow_decode(source: str) -> list:
    try:
        parsed = ast.parse(source, filename=_SOURCE_NAME, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as e:
        raise DecodeError(
            "format_error:decoder_failed", f"Invalid syntax. Failed to decode AST. {e}"
        ) from None
    body = parsed.body
    try:
        if isinstance(body, ast.Call):
            return [_resolve_call(body, 1)]
        elts = getattr(body, "elts", None)
        if elts is None:
            raise DecodeError(
                "format_error:decoder_failed", f"Expected a list of calls, got {type(body).__name__}"
            )
        out = []
        for elem in elts:
            if not isinstance(elem, ast.Call):
                raise DecodeError(
                    "format_error:decoder_failed", f"Expected a call, got {type(elem).__name__}"
                )
            out.append(_resolve_call(elem, 1))
        return out
    except RecursionError:
        raise DecodeError("format_error:too_deep", "values nest too deep") from None


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


def _fail(message: str) -> DecodeError:
    return DecodeError("format_error:decoder_failed", f"Invalid syntax. Failed to decode AST. {message}")


def _resolve_value(node: ast.AST, depth: int):
    if depth > MAX_NESTING:
        raise DecodeError("format_error:too_deep", f"values nest deeper than {MAX_NESTING}")
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
            raise DecodeError("format_error:unsupported_expression", str(e)) from None
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
