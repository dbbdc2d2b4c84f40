"""Java and JavaScript parameter values, converted as BFCL's checker converts them.

BFCL (bfcl-eval 2026.3.23) scores ``simple_java`` and ``simple_javascript`` with the same AST checker as
Python, plus one language step per parameter (``ast_checker.simple_function_checker``): the model's value
must be a *string* -- the Java/JS source text of the argument (``type_error:java`` / ``type_error:js``
otherwise) -- and is then converted by ``java_type_converter`` / ``js_type_converter`` into a Python
value that the usual checks compare with the acceptable values. The converters are regular-expression
readers, not parsers: what they cannot read stays a string (``"5"`` for a ``long`` parameter is the
string ``"5"``, which then fails the type check), collections are split on commas, and a few inputs
make them raise. This module reimplements them independently, behaviour for behaviour (the golden
verdicts in ``tests/data/bfcl_java_js`` hold us to it); where BFCL's own code would raise out of the
checker, :class:`BfclCrash` is raised instead and the candidate scores 0.

Type names are BFCL's (``JAVA_TYPE_CONVERSION`` / ``JS_TYPE_CONVERSION``): Java ``byte short integer
long float double boolean char String any Array ArrayList HashMap`` (``Set Hashtable Queue Stack`` exist
there but BFCL cannot convert them, so a ground truth using them is rejected), JavaScript ``String
integer float Bigint Boolean dict array any``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

LANGUAGES = ("python", "java", "javascript")
"""The ``language`` a ground truth is checked in (BFCL's ``Language``)."""

JAVA_TYPES: dict[str, type] = {
    "byte": int,
    "short": int,
    "integer": int,
    "long": int,
    "float": float,
    "double": float,
    "boolean": bool,
    "char": str,
    "String": str,
    "any": str,
    "Array": list,
    "ArrayList": list,
    "HashMap": dict,
}
JS_TYPES: dict[str, type] = {
    "String": str,
    "integer": int,
    "float": float,
    "Bigint": int,
    "Boolean": bool,
    "dict": dict,
    "array": list,
    "any": str,
}
# In BFCL's tables but not convertible by it (NotImplementedError on every string value).
JAVA_UNSUPPORTED = ("Set", "Hashtable", "Queue", "Stack")
NESTED = {"java": ("Array", "ArrayList"), "javascript": ("array",)}
TYPE_ERROR = {"java": "type_error:java", "javascript": "type_error:js"}


class BfclCrash(Exception):
    """BFCL's converter would raise here (its evaluation would stop): the candidate gets no pass."""

    error_type = "checker_error:bfcl_crash"


class ValueTooLong(BfclCrash):
    """A collection value longer than :data:`MAX_CONVERT_CHARS`: BFCL's regular expressions take
    super-linear time on some such texts, so we refuse to run them (the candidate gets no pass)."""

    error_type = "value_error:too_long"


MAX_CONVERT_CHARS = 4096
"""Longest Java/JS collection value converted (BFCL's own data: at most 138 characters)."""


def _bounded(text: str) -> None:
    if len(text) > MAX_CONVERT_CHARS:
        raise ValueTooLong(f"collection value of {len(text)} characters (limit {MAX_CONVERT_CHARS})")


# Number shapes the converters accept. Python's ``re``: ``\d`` is any Unicode digit and ``$`` also
# matches before a final newline -- both kept, as the converters run on the same engine.
_INT = re.compile(r"-?\d+$")
_JAVA_FLOAT = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?[fF]$")
_JAVA_DOUBLE = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_JAVA_LONG = re.compile(r"-?\d+[lL]$")
_F_SUFFIX = re.compile(r"[fF]$")
_L_SUFFIX = re.compile(r"[lL]$")
_JS_FLOAT = re.compile(r"-?\d+(\.\d+)?$")
_JS_BIGINT = re.compile(r"-?\d+n$")


# ----------------------------------------------------------------------------------------------- Java
def java_value(value: str, type_name: str, item_type: str | None = None):
    """BFCL's ``java_type_converter``: a Java source string -> the value the checker compares."""
    if type_name in ("byte", "short", "integer"):
        return int(value) if _INT.match(value) else value
    if type_name == "float":
        return float(_F_SUFFIX.sub("", value)) if _JAVA_FLOAT.match(value) else value
    if type_name == "double":
        return float(value) if _JAVA_DOUBLE.match(value) else value
    if type_name == "long":
        return int(_L_SUFFIX.sub("", value)) if _JAVA_LONG.match(value) else value
    if type_name == "boolean":
        return value == "true" if value in ("true", "false") else value
    if type_name in ("char", "String", "any"):  # BFCL's char pattern can never match: kept as written
        return value
    if type_name in ("ArrayList", "Array", "HashMap"):
        _bounded(value)
    if type_name == "ArrayList":
        return _java_arraylist(value, item_type)
    if type_name == "Array":
        return _java_array(value, item_type)
    if type_name == "HashMap":
        return _java_hashmap(value)
    raise BfclCrash(f"BFCL cannot convert Java type {type_name!r:.100}")


def _java_item(text: str, item_type: str | None):
    if item_type in ("char", "String"):
        return text[1:-1]  # quotes dropped blindly, whatever the text
    return java_value(text, item_type) if item_type else java_literal(text)


_AS_LIST = re.compile(r"new\s+ArrayList<\w*>\(Arrays\.asList\((.+?)\)\)")
# BFCL's pattern is new\s+ArrayList<\w*>\(\)\s*\{\{\s*(.+?)\s*\}\} (DOTALL), whose failures take cubic
# time on runs of spaces; add_block computes its group(1) from this prefix in linear time.
_ADD_PREFIX = re.compile(r"new\s+ArrayList<\w*>\(\)\s*\{\{")
_ADD = re.compile(r"add\((.+?)\)")
_EMPTY_LIST = re.compile(r"new\s+ArrayList<\w*>\(\)")


def _ws_end(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _ws_start(text: str, i: int, floor: int) -> int:
    while i > floor and text[i - 1].isspace():
        i -= 1
    return i


def add_block(text: str) -> str | None:
    """group(1) of BFCL's ``new ArrayList<>() {{ ... }}`` pattern: spaces, then the shortest text
    (one character at least) that is followed by spaces and ``}}``."""
    m = _ADD_PREFIX.search(text)
    if not m:
        return None
    a = m.end()
    b = _ws_end(text, a)
    r = text.find("}}", b + 1)
    if r >= 0:
        return text[b : _ws_start(text, r, b + 1)]
    if a < b and text.startswith("}}", b):  # the leading spaces give one back
        return text[b - 1 : b]
    return None  # a later start cannot do better: its "}}" would lie further still


def _java_arraylist(text: str, item_type: str | None):
    """``new ArrayList<>(Arrays.asList(a, b))`` or ``new ArrayList<>() {{ add(a); add(b); }}``,
    found anywhere in the text and split on commas; the text itself when neither is there."""
    m = _AS_LIST.search(text)
    if m:
        return [_java_item(part.strip(), item_type) for part in m.group(1).split(",")]
    body = add_block(text)
    if body is not None:
        return [_java_item(arg.strip(), item_type) for arg in _ADD.findall(body)]
    return [] if _EMPTY_LIST.search(text) else text


_ARRAY = re.compile(r"new\s+\w+\[\]\s*\{(.*?)\}")


def _java_array(text: str, item_type: str | None):
    """``new T[]{a, b}`` (items converted as ``item_type``: a String item keeps its quotes)."""
    m = _ARRAY.search(text)
    if not m:
        return text
    parts = [p.strip() for p in m.group(1).split(",") if p.strip()]
    if item_type:
        return [java_value(p, item_type) for p in parts]
    return [java_literal(p) for p in parts]


# BFCL's pattern is new\s+HashMap<.*?>\s*\(\)\s*\{\s*\{?\s*(.*?)\s*\}?\s*\} (DOTALL), whose failures take
# polynomial time of high degree on runs of spaces; map_body computes its group(1) in linear time.
_MAP_PREFIX = re.compile(r"new\s+HashMap<.*?>\s*\(\)\s*\{", re.DOTALL)
_PUT = re.compile(r"put\(\"(.*?)\",\s*(.*?)\)")
_EMPTY_MAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)")


def map_body(text: str) -> str | None:
    """group(1) of BFCL's HashMap pattern: after ``{``, spaces, an optional ``{`` and spaces, the
    shortest text followed by spaces and ``}`` (None when no ``}`` follows)."""
    m = _MAP_PREFIX.search(text)
    if not m:
        return None
    b = _ws_end(text, m.end())
    d = _ws_end(text, b + 1 if text.startswith("{", b) else b)
    r = text.find("}", d)
    if r < 0:
        return None  # a later start cannot do better: its "}" would lie further still
    return text[d : _ws_start(text, r, d)]


def _java_hashmap(text: str):
    """``new HashMap<..>() {{ put("k", v); }}``: string keys, values read by :func:`java_literal`."""
    body = map_body(text)
    if body is not None:
        if not body.strip():
            return {}
        return {key: java_literal(v.strip()) for key, v in _PUT.findall(body)}
    return {} if _EMPTY_MAP.search(text) else text


def java_literal(text: str):
    """BFCL's ``parse_java_value``: a literal read without a declared type."""
    if text == "true":
        return True
    if text == "false":
        return False
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if _JAVA_LONG.match(text):
        return int(text[:-1])
    if _JAVA_FLOAT.match(text):
        return float(_F_SUFFIX.sub("", text))
    return _int_float_or_text(text)


def _int_float_or_text(text: str):
    """Python's own ``int()``, then ``float()``, then the text (BFCL's fallback chain)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


# ------------------------------------------------------------------------------------------ JavaScript
def js_value(value: str, type_name: str, item_type: str | None = None):
    """BFCL's ``js_type_converter``: a JavaScript source string -> the value the checker compares."""
    if type_name == "String":
        return value[1:-1] if _quoted(value) else value
    if type_name == "integer":
        return int(value) if _INT.match(value) else value
    if type_name == "float":
        return float(value) if _JS_FLOAT.match(value) else value
    if type_name == "Bigint":
        if not _JS_BIGINT.match(value):
            return value
        try:
            return int(value[:-1])
        except ValueError:  # "5n\n": the pattern matches, int() then fails -- and so does BFCL
            raise BfclCrash(f"BFCL's Bigint conversion fails on {value!r:.80}") from None
    if type_name == "Boolean":
        return value == "true" if value in ("true", "false") else value
    if type_name in ("dict", "array"):
        _bounded(value)
    if type_name == "dict":
        return _js_dict(value.strip())
    if type_name == "array":
        return _js_array(value.strip(), item_type)
    if type_name == "any":
        return value
    raise ValueError(f"unsupported JavaScript type {type_name!r:.100}")  # BFCL: caught where it matters


def _quoted(text: str) -> bool:
    return (text.startswith('"') and text.endswith('"')) or (text.startswith("'") and text.endswith("'"))


_ARRAY_2D = re.compile(r"\[\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\]|\bnew\s+Array\(\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\)")
_ARRAY_1D = re.compile(r"\[(.*?)\]|\bnew\s+Array\((.*?)\)")
_BRACKETED = re.compile(r"\[(.*?)\]")


def array_2d_end(code: str) -> int | None:
    """Where ``_ARRAY_2D.match(code)`` would end (None: no match), in linear time.

    BFCL's 2-D array pattern backtracks exponentially on texts like ``[[1],[1],...,]``; this computes
    the same first match by dynamic programming. ``.*?`` reaches each later ``]`` (not past a newline)
    in order; after it come spaces and either ``, [`` (another row, recursively) or the closing
    bracket. Swept from the right, ``lazy[i]`` is the match end reachable from a ``.*?`` starting at i.
    """
    if code.startswith("["):
        close, q = "]", 1
    else:
        m = _NEW_ARRAY_2D.match(code)
        if not m:
            return None
        close, q = ")", m.end()
    n = len(code)
    ws = [n] * (n + 1)  # ws[i]: end of the run of spaces starting at i
    for i in range(n - 1, -1, -1):
        ws[i] = ws[i + 1] if code[i].isspace() else i
    lazy: list = [None] * (n + 1)
    cur = None
    for i in range(n - 1, -1, -1):
        c = code[i]
        if c == "\n":
            cur = None
        elif c == "]":
            p = ws[i + 1]  # after "]" and spaces: another row, else the closing bracket
            found = None
            if p < n and code[p] == ",":
                r = ws[p + 1]
                if r < n and code[r] == "[":
                    found = lazy[r + 1]
            if found is None and p < n and code[p] == close:
                found = p + 1
            if found is not None:
                cur = found
        lazy[i] = cur
    q = ws[q]
    if q >= n or code[q] != "[":
        return None
    return lazy[q + 1]


_NEW_ARRAY_2D = re.compile(r"\bnew\s+Array\(")


def _js_array(code: str, item_type: str | None):
    """``[a, b]`` / ``new Array(a, b)`` read from the start of the text (not to its end), split on
    commas; a list of lists when it starts like ``[[``; the text when nothing matches or BFCL's
    conversion raises (it catches everything there)."""
    try:
        end = array_2d_end(code)
        if end is not None:
            rows = []
            for k, inner in enumerate(_BRACKETED.findall(code[:end])):
                inner = inner.strip()
                if k == 0 and inner.startswith("["):
                    inner = inner[1:]
                rows.append([js_literal(e.strip()) for e in inner.split(",")])
            return rows
        m = _ARRAY_1D.match(code)
        if not m:
            return code
        body = m.group(1) if m.group(1) is not None else m.group(2)
        body = body.strip()
        parts = body.split(",") if body else []
        if not item_type:
            return [js_literal(e.strip()) for e in parts]
        out = []
        for e in parts:
            e = e.strip()
            out.append(js_value(e, item_type, "String") if e[:1] in ("'", '"') else js_value(e, item_type))
        return out
    except Exception:  # noqa: BLE001 -- BFCL's bare except: any failure leaves the text as it is
        return code


_OBJECT = re.compile(r"\{(.*?)\}")
_PAIR = re.compile(r"([^:]+):\s*(.*?)(?:,\s*(?=[^,]+:)|$)")


def _js_dict(code: str):
    """``{k: v, ...}`` read from the start of the text to its first ``}``; keys lose their quotes,
    values are literals, ``[...]`` arrays or ``{...}`` objects."""
    if code == "{}":
        return {}
    m = _OBJECT.match(code)
    if not m:
        return code
    out: dict = {}
    content = m.group(1)
    if ":" not in content:  # no pair can match (and the pattern's failure is quadratic)
        return out
    for key, value in _PAIR.findall(content):
        key = key.strip().strip("'\"")
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):
            out[key] = _js_array(value, None)
        elif value.startswith("{") and value.endswith("}"):
            out[key] = _js_dict(value)
        else:
            out[key] = js_literal(value.strip("'\""))
    return out


def js_literal(text: str):
    """BFCL's ``parse_js_value``."""
    text = text.strip()
    if text == "true":
        return True
    if text == "false":
        return False
    if _quoted(text):
        return text[1:-1]
    return _int_float_or_text(text)


# ------------------------------------------------------------------------------------ the checker's step
def converter(language: str, type_name: str, item_type: str | None) -> Callable[[str], object]:
    """The conversion BFCL applies to a string value of a ``type_name`` parameter."""
    if language == "java":
        return partial(java_value, type_name=type_name, item_type=item_type)
    return partial(js_value, type_name=type_name, item_type=item_type)


_TYPES = {"java": JAVA_TYPES, "javascript": JS_TYPES}
_LANGUAGE_NAME = {"java": "Java", "javascript": "JavaScript"}
# BFCL picks the language from the category name; a category naming one cannot be checked in another.
_CATEGORY_LANGUAGE = {"simple_java": "java", "simple_javascript": "javascript"}


def check_language(language: object, category: object) -> str:
    """``language`` if it is one of :data:`LANGUAGES` and agrees with ``category``; else ValueError."""
    if not isinstance(language, str) or language not in LANGUAGES:
        raise ValueError(f"language: expected one of {', '.join(LANGUAGES)}; got {language!r:.100}")
    wanted = _CATEGORY_LANGUAGE.get(category) if isinstance(category, str) else None
    if wanted is not None and language != wanted:  # other categories (simple, parallel...) hold any
        raise ValueError(
            f"language: category {category!r} is checked as {wanted!r} by BFCL, got {language!r}"
        )
    return language


def lang_param(language: str, pdoc: object) -> tuple:
    """A Java/JS schema parameter -> ``(type name, Python type, item type or None, converter)``, as
    BFCL's checker reads it; ValueError (naming ``type`` or ``items.type``) where BFCL would fail."""
    table = _TYPES[language]
    type_name = pdoc.get("type") if isinstance(pdoc, dict) else None
    if type_name not in table:
        raise ValueError(
            f"type: {type_name!r:.100} is not a {_LANGUAGE_NAME[language]} type BFCL can check; expected "
            f"one of {', '.join(table)}"
        )
    item_name, nested = None, None
    if type_name in NESTED[language]:
        items = pdoc.get("items")
        item_name = items.get("type") if isinstance(items, dict) else None
        if item_name not in table:
            raise ValueError(
                f"items.type: {item_name!r:.100} is not a {_LANGUAGE_NAME[language]} type BFCL can check; "
                f"expected one of {', '.join(table)}"
            )
        nested = table[item_name]
    return type_name, table[type_name], nested, converter(language, type_name, item_name)
