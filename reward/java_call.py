"""Decode Java call text (``[Foo.bar(a=5L, b="x", c=new ArrayList<>(Arrays.asList(1, 2)))]``) as BFCL does.

BFCL's prompting handlers read Java calls with tree-sitter (``model_handler/parser/java_parser.py``):
the text, with the outer ``[``/``]`` removed, is parsed as a Java program; any ``ERROR`` in the tree is a
decode failure; the *first* method invocation found (depth first) is the one call returned, and each of
its ``name=value`` arguments becomes ``{name: source text}``. This module is an independent recursive
descent parser of the part of Java such calls use, returning the same structure:

* the value is the argument's source *re-assembled from its tokens without whitespace*
  (``1 + 2`` -> ``"1+2"``), except: a string or char literal loses its quotes (``"a b"`` -> ``a b``,
  escapes kept as written); names and nested method calls keep their exact text; ``new T[..]{..}``
  becomes ``new T[]{..}``; ``new T(args) {body}`` becomes ``new T(arg, arg)`` -- the anonymous class
  body (``{{ put("k", 1); }}``) is dropped;
* a bare name or ``X.class`` argument is stored under the key None; other positional arguments are
  silently dropped; a trailing comma adds a None argument ``""`` (tree-sitter's missing identifier);
  a repeated name (or two None arguments) is a decode failure;
* a missing final ``;`` is tolerated, except when the lone statement is a one-line text of at most 10
  bytes (``f(a=1)``): tree-sitter's error recovery then prefers an ``ERROR`` node;
* an outermost argument list that ``;`` ends is closed (a MISSING ``)``) after ``name=<one token>``;
* ``new T[3]`` (no initializer) fails, as BFCL's traversal does.

Outside that grammar (comments, text blocks, generic method calls, lambdas with typed parameters...)
the text is a decode failure; BFCL might read some of those.
"""

from __future__ import annotations

from .srclex import SourceError, Token, skip_balanced, tokenize

_ASSIGN = frozenset("= += -= *= /= %= &= |= ^= <<= >>= >>>=".split())
_BINARY = frozenset("|| && | ^ & == != < > <= >= << >> >>> + - * / %".split())
_LITERAL_WORDS = frozenset(("true", "false", "null", "this", "super"))
_KEYWORDS = frozenset(("class",))  # seen to fail; tree-sitter reads e.g. `public` as a name in arguments
_PRIMITIVES = frozenset("int long short byte char float double boolean void".split())


class Node:
    """An expression: its kind, source span, BFCL's rendering of it, and its sub-expressions."""

    __slots__ = ("kind", "start", "end", "render", "kids", "name", "args", "left", "right")

    def __init__(self, kind: str, start: int, end: int, render: str, kids: tuple = ()) -> None:
        self.kind, self.start, self.end, self.render, self.kids = kind, start, end, render, kids
        self.name = self.args = self.left = self.right = None


class _Parser:
    def __init__(self, src: str) -> None:
        self.src, self.toks, self.k = src, tokenize(src, "java"), 0
        self.open_lists = 0  # argument lists opened and not yet closed

    # -- token helpers
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

    def raw(self, node: Node) -> str:
        return self.src[node.start : node.end]

    # -- expressions
    def expr(self) -> Node:
        if self._lambda_ahead():
            return self.lambda_()
        left = self.ternary()
        t = self.peek()
        if t.kind == "op" and t.text in _ASSIGN:
            if left.kind not in ("ident", "field", "index"):
                raise SourceError(f"cannot assign to this at {t.start}")
            self.k += 1
            right = self.expr()
            node = Node("assign", left.start, right.end, left.render + t.text + right.render, (left, right))
            node.left, node.right = left, right
            return node
        return left

    def ternary(self) -> Node:
        cond = self.binary()
        if not self.at("?"):
            return cond
        self.take("?")
        a = self.expr()
        self.take(":")
        b = self.lambda_() if self._lambda_ahead() else self.ternary()
        return Node("other", cond.start, b.end, f"{cond.render}?{a.render}:{b.render}", (cond, a, b))

    def binary(self) -> Node:
        parts = [self.unary()]
        render = parts[0].render
        while True:
            t = self.peek()
            if t.kind == "op" and t.text in _BINARY:
                self.k += 1
                parts.append(self.unary())
                render += t.text + parts[-1].render
            elif t.kind == "id" and t.text == "instanceof":
                self.k += 1
                typ = self.type_()
                render += "instanceof" + typ.render
                parts.append(typ)
            else:
                break
        if len(parts) == 1:
            return parts[0]
        return Node("other", parts[0].start, parts[-1].end, render, tuple(parts))

    def unary(self) -> Node:
        t = self.peek()
        if t.kind == "op" and t.text in ("-", "+", "!", "~", "++", "--"):
            self.k += 1
            operand = self.unary()
            kind = "incdec" if t.text in ("++", "--") else "other"
            return Node(kind, t.start, operand.end, t.text + operand.render, (operand,))
        if self.at("(") and self._cast_ahead():
            self.take("(")
            typ = self.type_()
            self.take(")")
            operand = self.unary()
            return Node("other", t.start, operand.end, f"({typ.render}){operand.render}", (operand,))
        return self.assignable(self.postfix(self.primary()))

    def assignable(self, node: Node) -> Node:
        """tree-sitter reads ``a & b = c`` as ``a & (b = c)``: an operand may be an assignment."""
        t = self.peek()
        if t.kind != "op" or t.text not in _ASSIGN or node.kind not in ("ident", "field", "index"):
            return node
        self.k += 1
        right = self.expr()
        out = Node("assign", node.start, right.end, node.render + t.text + right.render, (node, right))
        out.left, out.right = node, right
        return out

    def postfix(self, node: Node) -> Node:
        while True:
            if self.at("."):
                self.take(".")
                if self.at("new"):  # outer.new Inner(): BFCL's rendering drops the outer object
                    inner = self.creation()
                    node = Node(inner.kind, node.start, inner.end, inner.render, (node, *inner.kids))
                    continue
                generic = self.type_arguments() if self.at("<") else ""  # obj.<T>m()
                name = self.peek()
                if name.kind != "id":
                    raise SourceError(f"expected a name at {name.start}")
                self.k += 1
                if generic and not self.at("("):
                    raise SourceError(f"type arguments without a call at {name.start}")
                if name.text == "class":
                    if node.kind not in ("ident", "field", "type"):
                        raise SourceError(f"bad class literal at {name.start}")
                    node = Node("classlit", node.start, name.end, "", ())
                    node.render = self.raw(node)
                elif self.at("("):
                    node = self.call(f"{self.raw(node)}.{name.text}", node.start, (node,))
                else:
                    node = Node("field", node.start, name.end, f"{node.render}.{name.text}", (node,))
            elif self.at("["):
                self.take("[")
                index = self.expr()
                if self.at("]"):
                    end, close = self.take("]").end, "]"
                elif (self.at(")") or self.at(",")) and not _ends_in_field(index):
                    end, close = index.end, ""  # tree-sitter inserts a MISSING "]" (not after ``C.d``)
                else:
                    raise SourceError(f"expected ] at {self.peek().start}")
                node = Node("index", node.start, end, f"{node.render}[{index.render}{close}", (node, index))
            elif self.at("::"):
                self.take("::")
                name = self.peek()
                if name.kind != "id":
                    raise SourceError(f"expected a method name at {name.start}")
                self.k += 1
                node = Node("other", node.start, name.end, f"{node.render}::{name.text}", (node,))
            elif self.at("++") or self.at("--"):
                t = self.take()
                node = Node("incdec", node.start, t.end, node.render + t.text, (node,))
            else:
                return node

    def call(self, name: str, start: int, kids: tuple) -> Node:
        args, end = self.arguments()
        node = Node("call", start, end, "", kids + tuple(args))
        node.render, node.name, node.args = self.src[start:end], name, args
        return node

    def arguments(self) -> tuple[list[Node], int]:
        self.take("(")
        outermost, self.open_lists = self.open_lists == 0, self.open_lists + 1
        args: list[Node] = []
        while not self.at(")"):
            args.append(self.expr())
            if self.at(","):
                comma = self.take(",")
                if self.at(")"):  # tree-sitter inserts a MISSING identifier -- after two or more
                    if len(args) < 2:
                        raise SourceError(f"trailing comma at {comma.start}")
                    args.append(Node("ident", comma.end, comma.end, ""))
            elif outermost and self.at(";") and self._one_token_assignment(args[-1]):
                self.open_lists -= 1  # tree-sitter inserts a MISSING ")" before the ";"
                return args, args[-1].end
            elif not self.at(")"):
                raise SourceError(f"expected , or ) at {self.peek().start}")
        self.open_lists -= 1
        return args, self.take(")").end

    def _one_token_assignment(self, arg: Node) -> bool:
        """``name=value``, the value one token just read (not ``super``): only after such a last
        argument was tree-sitter seen to close a list that ``;`` ends (``x.y``, ``g(1``: an ERROR)."""
        last = self.toks[self.k - 1]
        return arg.kind == "assign" and last.start == arg.right.start and last.text != "super"

    def primary(self) -> Node:
        t = self.peek()
        if t.kind in ("num", "str", "char"):
            self.k += 1
            kind = {"num": "other", "str": "string", "char": "char"}[t.kind]
            return Node(kind, t.start, t.end, t.text)
        if t.kind == "id":
            if t.text == "new":
                return self.creation()
            if t.text == "switch":
                return self.switch()
            if t.text in _PRIMITIVES:  # int.class, int[].class
                typ = self.type_()
                if not self.at("."):
                    raise SourceError(f"unexpected type at {t.start}")
                return typ
            if t.text in _KEYWORDS:
                raise SourceError(f"keyword {t.text!r} at {t.start}")
            self.k += 1
            if t.text in _LITERAL_WORDS:
                return Node("other", t.start, t.end, t.text)
            if self.at("("):
                return self.call(t.text, t.start, ())
            if self.at("[") and self.at("]", 1):  # String[].class
                self.k -= 1
                return self.type_()
            return Node("ident", t.start, t.end, t.text)
        if self.at("("):
            self.take("(")
            inner = self.expr()
            if self.at(",") and inner.kind != "ident":  # a MISSING ")" (a name: lambda parameters)
                return Node("other", t.start, inner.end, f"({inner.render}", (inner,))
            close = self.take(")")
            return Node("other", t.start, close.end, f"({inner.render})", (inner,))
        raise SourceError(f"unexpected {t.text or 'end of text'!r} at {t.start}")

    def switch(self) -> Node:
        """``switch (x) { ... }`` as an expression: the body is only checked for balance; rendered from
        its tokens."""
        first = self.k
        self.take("switch")
        self.take("(")
        self.expr()
        self.take(")")
        if not self.at("{"):
            raise SourceError(f"expected {{ at {self.peek().start}")
        self.k = skip_balanced(self.toks, self.k)
        toks = self.toks[first : self.k]
        return Node("other", toks[0].start, toks[-1].end, "".join(t.text for t in toks))

    def creation(self) -> Node:
        start = self.take("new").start
        typ = self.type_(dims=False)
        if self.at("["):
            empty = True
            while self.at("["):
                self.take("[")
                if not self.at("]"):
                    self.expr()
                    empty = False
                end = self.take("]").end
            if not empty or not self.at("{"):
                raise SourceError(f"array creation without initializer at {start}")  # BFCL crashes
            init = self.initializer()
            return Node("newarr", start, init.end, f"new {typ.render}[]{init.render}", (init,))
        args, end = self.arguments()
        body: tuple = ()
        if self.at("{"):  # anonymous class body: dropped from the value, searched for calls
            body = self.class_body()
            end = self.toks[self.k - 1].end
        render = f"new {typ.render}({', '.join(a.render for a in args)})"
        return Node("newobj", start, end, render, tuple(args) + body)

    def class_body(self) -> tuple:
        """``{{ stmt; ... }}`` (an instance initializer): its statements, parsed; any other body
        (fields, methods) is only checked for balanced brackets."""
        if not self.at("{", 1):
            self.k = skip_balanced(self.toks, self.k)
            return ()
        self.take("{")
        self.take("{")
        stmts = []
        while not self.at("}"):
            if self.at(";"):
                self.take(";")
                continue
            stmts.append(self.expr())
            self.take(";")
        self.take("}")
        self.take("}")
        return tuple(stmts)

    def initializer(self) -> Node:
        start = self.take("{").start
        items: list[Node] = []
        render = "{"
        while not self.at("}"):
            items.append(self.initializer() if self.at("{") else self.expr())
            render += items[-1].render
            if self.at(","):
                self.take(",")
                render += ","
            elif self.at(")") and items and not _ends_in_field(items[-1]):  # a MISSING "}"
                return Node("other", start, items[-1].end, render, tuple(items))
            elif not self.at("}"):
                raise SourceError(f"expected , or }} at {self.peek().start}")
        end = self.take("}").end
        return Node("other", start, end, render + "}", tuple(items))

    def type_(self, dims: bool = True) -> Node:
        first = self.peek()
        render = ""
        while True:
            t = self.peek()
            if t.kind != "id":
                raise SourceError(f"expected a type at {t.start}")
            self.k += 1
            render += t.text
            if self.at("<"):
                render += self.type_arguments()
            if not (self.at(".") and self.peek(1).kind == "id" and self.peek(1).text != "class"):
                break
            self.take(".")
            render += "."
        while dims and self.at("[") and self.at("]", 1):
            self.k += 2
            render += "[]"
        return Node("type", first.start, self.toks[self.k - 1].end, render)

    def type_arguments(self) -> str:
        self.take("<")
        render = "<"
        while not self.at(">"):
            if self.at("?"):
                self.take("?")
                render += "?"
                if self.peek().text in ("extends", "super"):
                    render += self.take().text
                    render += self.type_().render
            else:
                render += self.type_().render
            if self.at(","):
                self.take(",")
                render += ","
            elif not self.at(">"):
                self._split_closing_angle()
        self.take(">")
        return render + ">"

    def _split_closing_angle(self) -> None:
        """``>>`` / ``>>>`` closing nested type arguments: split off one ``>``."""
        t = self.peek()
        if t.kind == "op" and t.text in (">>", ">>>"):
            rest = Token("op", t.text[1:], t.start + 1, t.end)
            self.toks[self.k : self.k + 1] = [Token("op", ">", t.start, t.start + 1), rest]
            return
        raise SourceError(f"expected , or > at {t.start}")

    def _cast_ahead(self) -> bool:
        """``(Type) operand`` rather than a parenthesised expression."""
        save = self.k
        try:
            self.take("(")
            typ = self.type_()
            self.take(")")
            nxt = self.peek()
        except SourceError:
            return False
        finally:
            self.k = save
        primitive = typ.render.split("[")[0] in _PRIMITIVES
        if nxt.kind in ("num", "str", "char") or nxt.kind == "id" and nxt.text != "instanceof":
            return True
        return nxt.kind == "op" and (nxt.text in ("(", "!", "~") or primitive and nxt.text in ("+", "-"))

    def _lambda_ahead(self) -> bool:
        if self.peek().kind == "id" and self.at("->", 1):
            return True
        if not self.at("("):
            return False
        try:
            end = skip_balanced(self.toks, self.k)
        except SourceError:
            return False
        return self.toks[end].kind == "op" and self.toks[end].text == "->"

    def lambda_(self) -> Node:
        first = self.peek()
        end_params = self.k + 1 if first.kind == "id" else skip_balanced(self.toks, self.k)
        render = "".join(t.text for t in self.toks[self.k : end_params])
        self.k = end_params
        self.take("->")
        if self.at("{"):
            end = skip_balanced(self.toks, self.k)
            render += "->" + "".join(t.text for t in self.toks[self.k : end])
            self.k = end
            return Node("other", first.start, self.toks[end - 1].end, render)
        body = self.expr()
        return Node("other", first.start, body.end, f"{render}->{body.render}", (body,))

    # -- program
    def statements(self) -> list[tuple[Node, bool, bool]]:
        """``(expression, ended (by ';' or a MISSING one), ended by a written ';')`` per statement."""
        out = []
        while self.peek().kind != "end":
            if self.at(";"):
                self.take(";")
                continue
            if self.peek().kind == "id" and self.at(":", 1):  # a labeled statement
                self.k += 2
                continue
            node = self.expr()  # tree-sitter takes any expression as a statement
            written = self.at(";")
            nxt = self.peek()
            if written:
                self.take(";")
            elif nxt.kind != "end":
                self._check_missing_semicolon(node, nxt)
            out.append((node, written or nxt.kind != "end", written))
        return out

    def _check_missing_semicolon(self, node: Node, nxt: Token) -> None:
        """Two statements with no ``;`` between them: tree-sitter inserts a MISSING ``;`` unless its
        error recovery finds a cheaper reading -- ``name name`` starts a declaration, and ``Short.f()``
        (a name of at most 9 bytes, then ``.``) is read as a continuation with ``Short`` skipped."""
        text = self.src[node.start : node.end]
        if "\n" not in text and len(text.encode()) <= 10:
            raise SourceError(f"too short for tree-sitter to insert the missing ';' at {node.start}")
        if node.kind == "field" or nxt.kind == "num":
            raise SourceError(f"no ';' at {nxt.start}")
        if nxt.kind == "id" and node.kind == "ident":
            raise SourceError(f"a declaration-like statement at {node.start}")
        if nxt.kind == "id" and self.at(".", 1) and len(nxt.text.encode()) <= 9:
            raise SourceError(f"{nxt.text!r} would be skipped as an error at {nxt.start}")


def _ends_in_field(node: Node) -> bool:
    """``C.d`` or ``x = C.d``: where tree-sitter does not insert a missing closing bracket."""
    return node.kind == "field" or node.kind == "assign" and node.right.kind == "field"


def _first_call(node: Node) -> Node | None:
    if node.kind == "call":
        return node
    return next((found for found in map(_first_call, node.kids) if found is not None), None)


def _value(src: str, node: Node) -> str:
    return src[node.start + 1 : node.end - 1] if node.kind in ("string", "char") else node.render


def parse_java_calls(src: str) -> list | dict:
    """BFCL's ``parse_java_function_call`` result for ``src``: ``[{name: {param: text}}]``, or ``{}``
    when the program holds no method call. Raises SourceError where BFCL raises."""
    statements = _Parser(src).statements()
    # a short last statement lacking its ';' is an ERROR -- unless an earlier statement ended with one
    if statements and not statements[-1][1] and (len(statements) == 1 or not statements[-2][2]):
        node = statements[-1][0]
        text = src[node.start : node.end]
        if "\n" not in text and len(text.encode()) <= 10:
            raise SourceError("too short for tree-sitter to insert the missing ';'")
    for node, *_ in statements:
        call = _first_call(node)
        if call is None:
            continue
        params: dict = {}
        for arg in call.args:
            if arg.kind == "assign":
                key, value = src[arg.left.start : arg.left.end], _value(src, arg.right)
            elif arg.kind in ("ident", "classlit"):
                key, value = None, arg.render
            else:
                continue
            if key in params:
                raise SourceError("Multiple arguments with the same name are not supported.")
            params[key] = value
        return [{call.name: params}]
    return {}
