"""Decode JavaScript call text (``[fetchData(url="https://x", options={method: 'GET'})]``) as BFCL does.

BFCL's prompting handlers read JavaScript calls with tree-sitter (``model_handler/parser/js_parser.py``):
the text, with the outer ``[``/``]`` removed, is parsed as a JavaScript program; any ``ERROR`` in the
tree is a decode failure; the first statement that *is* a call (``f(...)``, not ``a, f(...)`` nor
``x = f(...)``) gives the one call returned -- none gives ``None`` (BFCL then reports a wrong output
format). This module is an independent recursive descent parser of the expressions such calls use,
returning the same structure:

* ``name=value`` arguments give ``{name: value's exact source text}``, with one pair of surrounding
  quotes removed when the text starts and ends with the same quote (``"a\\"b"`` -> ``a\\"b``;
  ``"a" + "b"`` -> ``a" + "b``);
* a bare name or ``true`` as an argument is stored under the key None; other positional arguments
  (numbers, ``false``, ``x += 1``...) are silently dropped; a repeated name (or two None arguments)
  is a decode failure.

Outside that grammar (comments, classes, statements other than expressions) the text is a decode
failure; BFCL might read some of those.
"""

from __future__ import annotations

from .srclex import SourceError, Token, skip_balanced, tokenize

_BINARY = frozenset("|| && ?? | ^ & == != === !== < > <= >= << >> >>> + - * / % ** in instanceof".split())
_ASSIGN_OPS = frozenset("+= -= *= /= %= **= <<= >>= >>>= &= |= ^= &&= ||= ??=".split())
_KEYWORD_VALUES = frozenset(("false", "null", "undefined", "this", "super"))
_UNARY = frozenset("- + ! ~ typeof void delete await ++ --".split())
_STATEMENT_WORDS = frozenset(
    "var const if for while do return export switch try throw break continue".split()
)


class Node:
    """An expression: its kind, its source span and, for a call, the callee text and arguments."""

    __slots__ = ("kind", "start", "end", "callee", "args", "left", "right")

    def __init__(self, kind: str, start: int, end: int) -> None:
        self.kind, self.start, self.end = kind, start, end
        self.callee = self.args = self.left = self.right = None


class _Parser:
    def __init__(self, src: str) -> None:
        self.src, self.toks, self.k = src, tokenize(src, "javascript"), 0

    def peek(self, ahead: int = 0) -> Token:
        return self.toks[min(self.k + ahead, len(self.toks) - 1)]

    def at(self, text: str, ahead: int = 0) -> bool:
        t = self.peek(ahead)
        return t.kind in ("op", "id") and t.text == text

    def take(self, text: str | None = None) -> Token:
        t = self.peek()
        if t.kind == "end" or text is not None and (t.text != text or t.kind not in ("op", "id")):
            raise SourceError(f"expected {text or 'a token'} at {t.start}")
        self.k += 1
        return t

    def prev_end(self) -> int:
        return self.toks[self.k - 1].end

    def expr(self) -> Node:
        if self._arrow_ahead():
            return self.arrow()
        left = self.conditional()
        t = self.peek()
        if t.kind == "op" and (t.text == "=" or t.text in _ASSIGN_OPS):
            if left.kind not in ("ident", "member", "pattern"):
                raise SourceError(f"cannot assign to this at {t.start}")
            self.k += 1
            right = self.expr()
            node = Node("assign" if t.text == "=" else "other", left.start, right.end)
            node.left, node.right = left, right
            return node
        return left

    def conditional(self) -> Node:
        cond = self.binary()
        if not self.at("?"):
            return cond
        self.take("?")
        self.expr()
        self.take(":")
        return Node("other", cond.start, self.expr().end)

    def binary(self) -> Node:
        first = node = self.unary()
        while True:
            t = self.peek()
            if t.kind in ("op", "id") and t.text in _BINARY:
                self.k += 1
                node = Node("other", first.start, self.unary().end)
            else:
                return node

    def unary(self) -> Node:
        t = self.peek()
        if t.kind in ("op", "id") and t.text in _UNARY and not (t.text == "await" and self.at(")", 1)):
            self.k += 1
            return Node("other", t.start, self.unary().end)
        return self.assignable(self.postfix(self.primary()))

    def assignable(self, node: Node) -> Node:
        """tree-sitter reads ``a & b = c`` as ``a & (b = c)``: an operand may be an assignment."""
        t = self.peek()
        if t.kind != "op" or t.text != "=" and t.text not in _ASSIGN_OPS:
            return node
        if node.kind not in ("ident", "member", "pattern"):
            raise SourceError(f"cannot assign to this at {t.start}")
        self.k += 1
        right = self.expr()
        out = Node("assign" if t.text == "=" else "other", node.start, right.end)
        out.left, out.right = node, right
        return out

    def postfix(self, node: Node) -> Node:
        while True:
            t = self.peek()
            if t.kind == "op" and t.text in (".", "?."):
                self.k += 1
                if t.text == "?." and self.at("("):
                    self.arguments()  # BFCL reads no arguments from an optional call
                    node = Node("other", node.start, self.prev_end())
                    continue
                if self.at("["):
                    continue
                if self.at("="):  # tree-sitter inserts a MISSING property name
                    node = Node("member", node.start, t.end)
                    continue
                name = self.take()
                if name.kind != "id" and not name.text.startswith("#"):
                    raise SourceError(f"expected a property name at {name.start}")
                node = Node("member", node.start, name.end)
            elif t.kind == "op" and t.text == "[":
                self.take("[")
                index = self.expr()
                while self.at(","):  # the index may be a sequence expression
                    self.take(",")
                    index = self.expr()
                if self.at("]"):
                    self.take("]")
                elif not (self.at(",") or self.at(")") or self.at("}")):  # else a MISSING "]"
                    raise SourceError(f"expected ] at {self.peek().start}")
                node = Node(
                    "member", node.start, self.prev_end() if self.toks[self.k - 1].text == "]" else index.end
                )
            elif t.kind == "op" and t.text == "(":
                callee = node
                args = self.arguments()
                node = Node("call", callee.start, self.prev_end())
                node.callee, node.args = self.src[callee.start : callee.end], args
            elif t.kind == "tmpl":
                self.k += 1
                node = Node("other", node.start, t.end)
            elif t.kind == "op" and t.text in ("++", "--") and "\n" not in self.src[node.end : t.start]:
                self.k += 1
                node = Node("other", node.start, t.end)
            else:
                return node

    def arguments(self) -> list[Node]:
        self.take("(")
        args: list[Node] = []
        while not self.at(")"):
            if self.at(","):  # a hole: tree-sitter-javascript allows empty arguments
                self.take(",")
                continue
            if self.at("..."):
                start = self.take("...").start
                args.append(Node("other", start, self.expr().end))
            else:
                args.append(self.expr())
            if self.at(","):
                self.take(",")
            elif not self.at(")"):
                raise SourceError(f"expected , or ) at {self.peek().start}")
        self.take(")")
        return args

    def primary(self) -> Node:
        t = self.peek()
        if t.kind in ("num", "str", "tmpl", "regex"):
            self.k += 1
            return Node("other", t.start, t.end)
        if t.kind == "id":
            if t.text in _STATEMENT_WORDS:
                raise SourceError(f"{t.text!r} is not read in an expression")
            if t.text == "function" or t.text == "async" and self.at("function", 1):
                return self.function()
            if t.text == "class":
                return self.class_()
            if t.text in ("import", "new") and self.at(".", 1):  # import.meta, new.target
                self.k += 3
                return Node("other", t.start, self.prev_end())
            if t.text == "import" and self.at("(", 1):
                self.k += 1
                self.arguments()
                return Node("other", t.start, self.prev_end())
            if t.text == "new":
                self.take("new")
                self.postfix_members(self.primary())
                if self.at("("):
                    self.arguments()
                return Node("other", t.start, self.prev_end())
            if t.text.startswith("#") and not self.at("in", 1):  # a private name stands only before "in"
                raise SourceError(f"private name {t.text!r} at {t.start}")
            self.k += 1
            kind = "true" if t.text == "true" else "other" if t.text in _KEYWORD_VALUES else "ident"
            return Node(kind, t.start, t.end)
        if self.at("(") or self.at("[") or self.at("{"):
            return self.bracketed(t)
        if self.at("<") and self.peek(1).kind == "id":
            return self.jsx()
        raise SourceError(f"unexpected {t.text or 'end of text'!r} at {t.start}")

    def jsx(self) -> Node:
        """A self-closing JSX element, ``<Name attr="v" other={expr} />`` (tree-sitter-javascript reads
        JSX); elements with children are not read."""
        start = self.take("<").start
        self.k += 1
        while self.at(".") or self.at("-"):
            self.k += 1
            if self.take().kind != "id":
                raise SourceError(f"bad JSX name at {start}")
        while self.peek().kind == "id":
            self.k += 1
            if self.at("="):
                self.take("=")
                if self.at("{"):
                    self.k = skip_balanced(self.toks, self.k)
                elif self.peek().kind == "str":
                    self.k += 1
                else:
                    raise SourceError(f"bad JSX attribute at {self.peek().start}")
        self.take("/")
        end = self.take(">").end
        return Node("other", start, end)

    def postfix_members(self, node: Node) -> Node:
        while self.at(".") or self.at("["):
            if self.at("."):
                self.take(".")
                node = Node("member", node.start, self.take().end)
            else:
                self.k = skip_balanced(self.toks, self.k)
                node = Node("member", node.start, self.prev_end())
        return node

    def bracketed(self, t: Token) -> Node:
        """``( ... )``, ``[ ... ]`` or ``{ ... }``: every element an expression (or spread, hole, pair)."""
        close = {"(": ")", "[": "]", "{": "}"}[t.text]
        self.take(t.text)
        items = 0
        while not self.at(close):
            if self._missing_close(t.text):
                return Node("pattern", t.start, self.prev_end())
            if t.text == "[" and self.at(","):
                self.take(",")
                continue
            if self.at("..."):
                self.take("...")
                self.expr()
            elif t.text == "{":
                self.property()
            else:
                self.expr()
            items += 1
            if self.at(","):
                self.take(",")
                if t.text == "(" and self.at(")"):
                    raise SourceError(f"trailing comma in parentheses at {self.peek().start}")
            elif not self.at(close):
                if self._missing_close(t.text):
                    return Node("pattern", t.start, self.prev_end())
                raise SourceError(f"expected , or {close} at {self.peek().start}")
        if self._missing_close(t.text):
            return Node("pattern", t.start, self.prev_end())
        self.take(close)
        if t.text == "(" and items == 0:
            raise SourceError(f"empty parentheses at {t.start}")
        return Node("pattern" if t.text in "[{" else "other", t.start, self.prev_end())

    def _missing_close(self, opener: str) -> bool:
        """A bracket cut short by an outer closing bracket: tree-sitter inserts the MISSING ``]`` /
        ``}`` / ``)`` (the value then ends at its last item)."""
        outer = {"[": (")", "}"), "{": (")", "]"), "(": ("]", "}")}[opener]
        return any(self.at(c) for c in outer)

    def property(self) -> None:
        key = self.peek()
        if (
            key.kind == "id"
            and key.text in ("get", "set", "async")
            and not (self.at(":", 1) or self.at("(", 1))
        ):
            self.k += 1  # get x() {...}, set x(v) {...}, async m() {...}
            key = self.peek()
        generator = self.at("*")
        if generator:  # a generator method: *name() {...}
            self.take("*")
            key = self.peek()
        if self.at("["):
            self.k = skip_balanced(self.toks, self.k)
        elif key.kind in ("id", "str", "num"):
            self.k += 1
        else:
            raise SourceError(f"bad property key at {key.start}")
        if generator and not self.at("("):
            raise SourceError(f"expected ( at {self.peek().start}")
        if self.at(":"):
            self.take(":")
            self.expr()
        elif self.at("("):  # method shorthand
            self.k = skip_balanced(self.toks, self.k)
            self._body()
        elif key.kind != "id":
            raise SourceError(f"expected : at {self.peek().start}")

    def class_(self) -> Node:
        start = self.take("class").start
        if self.peek().kind == "id" and not self.at("extends"):
            self.k += 1
        if self.at("extends"):
            self.take("extends")
            self.postfix(self.primary())
        self._body()
        return Node("other", start, self.prev_end())

    def function(self) -> Node:
        start = self.peek().start
        if self.at("async"):
            self.take("async")
        self.take("function")
        if self.at("*"):
            self.take("*")
        if self.peek().kind == "id":
            self.k += 1
        if not self.at("("):
            raise SourceError(f"expected ( at {self.peek().start}")
        self.k = skip_balanced(self.toks, self.k)
        self._body()
        return Node("other", start, self.prev_end())

    def _body(self) -> None:
        if not self.at("{"):
            raise SourceError(f"expected {{ at {self.peek().start}")
        self.k = skip_balanced(self.toks, self.k)

    def _arrow_ahead(self) -> bool:
        if self.at("async") and (self.peek(1).kind == "id" and self.at("=>", 2) or self.at("(", 1)):
            save = self.k
            self.k += 1
            try:
                return self._arrow_ahead()
            finally:
                self.k = save
        if self.peek().kind == "id" and self.at("=>", 1):
            return True
        if not self.at("("):
            return False
        try:
            end = skip_balanced(self.toks, self.k)
        except SourceError:
            return False
        return self.toks[end].kind == "op" and self.toks[end].text == "=>"

    def arrow(self) -> Node:
        start = self.peek().start
        if self.at("async"):
            self.take("async")
        self.k = self.k + 1 if self.peek().kind == "id" else skip_balanced(self.toks, self.k)
        self.take("=>")
        if self.at("{"):
            self._body()
            return Node("other", start, self.prev_end())
        return Node("other", start, self.expr().end)

    def statements(self) -> list[Node]:
        out = []
        while self.peek().kind != "end":
            if self.at(";"):
                self.take(";")
                continue
            node = self.expr()
            while self.at(","):  # a sequence expression
                self.take(",")
                node = Node("other", node.start, self.expr().end)
            out.append(node)
            nxt = self.peek()
            if self.at(";"):
                self.take(";")
            elif nxt.kind != "end" and "\n" not in self.src[node.end : nxt.start]:
                # same line, no ';': tree-sitter inserts one before a name of 10+ bytes; before a
                # shorter one its error recovery skips the name instead (an ERROR)
                short = len(self.src[node.start : node.end].encode()) <= 10
                last = self.peek(1).kind == "end"  # one token left: a MISSING ';' before it
                if short or not last and (nxt.kind != "id" or len(nxt.text.encode()) < 10):
                    raise SourceError(f"expected ; at {nxt.start}")
        return out


def _value(text: str) -> str:
    if len(text) >= 1 and text[0] in "'\"" and text.endswith(text[0]):
        return text[1:-1]
    return text


def parse_js_calls(src: str) -> list | None:
    """BFCL's ``parse_javascript_function_call`` result for ``src``: ``[{name: {param: text}}]``, or
    None when no statement is a call. Raises SourceError where BFCL raises."""
    for node in _Parser(src).statements():
        if node.kind != "call":
            continue
        params: dict = {}
        for arg in node.args:
            if arg.kind == "assign":
                key = src[arg.left.start : arg.left.end]
                value = _value(src[arg.right.start : arg.right.end])
            elif arg.kind in ("ident", "true"):
                key, value = None, src[arg.start : arg.end]
            else:
                continue
            if key in params:
                raise SourceError("Multiple arguments with the same name are not supported.")
            params[key] = value
        return [{node.callee: params}]
    return None
