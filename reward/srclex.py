"""A small tokenizer for Java and JavaScript call text (the model's ``[f(a=1, b="x")]``).

Used by :mod:`.java_call` and :mod:`.js_call`, which parse the tokens the way BFCL's tree-sitter
parsers do. Anything the tokenizer cannot read (an unclosed string, a comment, a stray character)
raises :class:`SourceError`: the text is then a decode failure, as it is for BFCL, whose parsers reject
every tree holding an ``ERROR`` node. Standard library only; nothing is executed.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class SourceError(ValueError):
    """The call text is not in the language's syntax (BFCL: an ``ERROR`` in the parse tree)."""


class Token(NamedTuple):
    kind: str  # id num str char tmpl regex op end
    text: str
    start: int
    end: int


_IDENT = re.compile(r"(?:[^\W\d]|\$)(?:\w|\$)*")
_JAVA_NUM = re.compile(
    r"0[xX][0-9a-fA-F_]*[0-9a-fA-F](?:[lL])?"
    r"|0[bB][01_]*[01][lL]?"
    r"|\d(?:[\d_]*\d)?[lL]"
    r"|(?:\d(?:[\d_]*\d)?(?:\.(?:\d(?:[\d_]*\d)?)?)?|\.\d(?:[\d_]*\d)?)(?:[eE][+-]?\d+)?[fFdD]?",
    re.ASCII,
)
_JS_NUM = re.compile(
    r"0[xX][0-9a-fA-F_]*[0-9a-fA-F]n?"
    r"|0[bBoO][0-7_]*[0-7]n?"
    r"|\d(?:[\d_]*\d)?n"
    r"|(?:\d(?:[\d_]*\d)?(?:\.(?:\d(?:[\d_]*\d)?)?)?|\.\d(?:[\d_]*\d)?)(?:[eE][+-]?\d+)?",
    re.ASCII,
)
# Java: an integer with a leading 0 is octal (no 8 or 9); JS (tree-sitter): 00.. takes no fraction.
_BAD_LEADING_ZERO = {
    "java": re.compile(r"0[\d_]*[89][\d_]*[lL]?$"),
    "javascript": re.compile(r"00[\d_]*[.eE]"),
}
_OPS = sorted(
    """>>>= <<= >>= ... === !== **= &&= ||= ??= >>> -> :: => == != <= >= && || ?? ?. ++ -- += -= *= /= %=
    &= |= ^= ** << >> + - * / % & | ^ ! ~ ? : = < > ( ) [ ] { } , ; . @""".split(),
    key=len,
    reverse=True,
)
_OP = re.compile("|".join(re.escape(o) for o in _OPS))
_SPACE = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)*", re.DOTALL)  # comments are extras, like spaces
# JS: a "/" starts a regular expression where an operand is expected (after these tokens).
_REGEX_AFTER = frozenset("( , = [ : { ! & | ? ; + - * % < > ~ ^ => return typeof".split())


_ESCAPE = re.compile(
    r"\\(?:[^xu0-7]|[0-7]{1,3}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|u\{[0-9a-fA-F]+\})", re.DOTALL
)


def _quoted(src: str, i: int, quote: str, *, multiline: bool = False) -> int:
    """End of the quoted literal starting at ``i`` (backslash escapes as tree-sitter's grammars
    define them: ``\\u`` needs 4 hex digits, ``\\x`` 2; no raw newline unless ``multiline``)."""
    j = i + 1
    while j < len(src):
        c = src[j]
        if c == "\\":
            m = _ESCAPE.match(src, j)
            if not m:
                raise SourceError(f"bad escape at {j}")
            j = m.end()
            continue
        if c == quote:
            return j + 1
        if c == "\n" and not multiline:
            rest = j + 1
            while rest < len(src) and src[rest] in " \t\r\n":
                rest += 1
            if rest < len(src) and src[rest] == quote:  # only spaces left: they are extras
                return rest + 1
            break
        j += 1
    raise SourceError(f"unclosed {quote} literal at {i}")


def _text_block(src: str, i: int) -> int:
    """End of the Java text block opening at ``i``."""
    j = i + 3
    while j < len(src):
        if src[j] == "\\":
            j += 2
        elif src.startswith('"""', j):
            return j + 3
        else:
            j += 1
    raise SourceError(f"unclosed text block at {i}")


def _template(src: str, i: int) -> int:
    """End of a JS template literal at ``i`` (``${...}`` holes skipped by brace depth)."""
    j, depth = i + 1, 0
    while j < len(src):
        c = src[j]
        if c == "\\":
            j += 2
            continue
        if depth == 0 and c == "`":
            return j + 1
        if c == "$" and src.startswith("${", j):
            depth += 1
            j += 2
            continue
        if depth and c == "}":
            depth -= 1
        elif depth and c == "{":
            depth += 1
        elif depth and c in "'\"":
            j = _quoted(src, j, c)
            continue
        j += 1
    raise SourceError(f"unclosed template literal at {i}")


def tokenize(src: str, language: str) -> list[Token]:
    """The tokens of ``src``; the last one has kind ``end``. Raises SourceError."""
    java = language == "java"
    num = _JAVA_NUM if java else _JS_NUM
    out: list[Token] = []
    i, n = 0, len(src)
    while True:
        i = _SPACE.match(src, i).end()
        if i >= n:
            out.append(Token("end", "", n, n))
            return out
        c = src[i]
        if src.startswith("/*", i):
            raise SourceError("unclosed comment")
        if c == '"' or c == "'" and not java:
            if java and src.startswith('"""', i):  # a text block
                j = _text_block(src, i)
            else:
                j = _quoted(src, i, c, multiline=java)  # tree-sitter-java: raw newlines ok
            kind = "str"
        elif c == "'":
            j, kind = _quoted(src, i, c), "char"
        elif c == "`" and not java:
            j, kind = _template(src, i), "tmpl"
        elif c.isdigit() or c == "." and i + 1 < n and src[i + 1].isdigit():
            m = num.match(src, i)
            if not m or m.end() < n and (src[m.end()].isalnum() or src[m.end()] in "_$"):
                raise SourceError(f"bad number at {i}")  # e.g. 5abc, JS 5.f
            if _BAD_LEADING_ZERO[language].match(m.group()):
                raise SourceError(f"bad number {m.group()!r} at {i}")
            j, kind = m.end(), "num"
        elif c == "/" and not java and (not out or out[-1].text in _REGEX_AFTER):
            j, kind = _regex(src, i), "regex"
        else:
            m = _IDENT.match(src, i + (c == "#" and not java))  # JS: #private names
            if m and (c != "#" or m.start() == i + 1):
                j, kind = m.end(), "id"
            else:
                m = _OP.match(src, i)
                if not m:
                    raise SourceError(f"unexpected character {c!r} at {i}")
                j, kind = m.end(), "op"
        out.append(Token(kind, src[i:j], i, j))
        i = j


def _regex(src: str, i: int) -> int:
    j, in_class = i + 1, False
    while j < len(src) and src[j] != "\n":
        c = src[j]
        if c == "\\":
            j += 2
            continue
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        elif c == "/" and not in_class:
            m = re.compile(r"[a-z]*").match(src, j + 1)
            return m.end()
        j += 1
    raise SourceError(f"unclosed regular expression at {i}")


def skip_balanced(tokens: list[Token], k: int) -> int:
    """Index after the bracket group opening at ``tokens[k]`` (``{``, ``(`` or ``[``)."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    stack = []
    while True:
        t = tokens[k]
        if t.kind == "end":
            raise SourceError("unclosed bracket")
        if t.kind == "op" and t.text in pairs:
            stack.append(pairs[t.text])
        elif t.kind == "op" and t.text in ("}", ")", "]"):
            if not stack or stack.pop() != t.text:
                raise SourceError(f"unbalanced {t.text!r} at {t.start}")
            if not stack:
                return k + 1
        k += 1
