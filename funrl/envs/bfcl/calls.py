"""Parse one executable call string (``mkdir(dir_name='temp')``) into a method name and arguments.

BFCL runs each call string through ``eval`` after a regex has prefixed every API method name with its
instance's global name. Here the string is parsed with :mod:`ast` and nothing is evaluated: only
constants and constant arithmetic become argument values (through :func:`funrl.reward.safe_arith.evaluate`,
which has Python's semantics and size bounds). What ``eval`` would do is reproduced where it is safe:

* positional arguments are kept (BFCL's ground truth uses them and they execute);
* a name that is not defined gives ``name 'x' is not defined``, a repeated keyword
  ``keyword argument repeated: a (<string>, line 1)``, a syntax error Python's own message -- the texts
  ``eval`` would raise;
* BFCL's block-list (``exit``, ``kill``, ...) gives ``Function call exit is not allowed.``;
* with ``mangle`` set, string literals get BFCL's method-name prefixing (``'ls(x)'`` becomes
  ``'<instance>.ls(x)'``), which changes argument values exactly as BFCL's regex does.

* a call as an argument value (``mean(numbers=get_x(a=1))``, what BFCL's decoder writes for a nested call
  with keyword arguments) runs when the outer call's arguments are evaluated, in order: a method of the
  entry on its instance (state changes included, as in BFCL), or one of a few pure builtins
  (:data:`NESTED_BUILTINS`: ``str(object=5)``, ``round(number=2.567, ndigits=2)``, ...); a refusal
  after such a call is raised when reached, as ``eval`` raises it. At most :data:`MAX_NESTED_CALLS`
  nested calls a call string (more: the whole call is refused before anything runs).

Everything else -- attribute access, other builtins, calls inside containers, lambdas, comprehensions,
``__import__``, unpacking, subscripts -- is refused with a :class:`CallError` saying why. Bounds: the call text is at
most :data:`funrl.reward.MAX_CALL_CHARS` characters, values nest at most :data:`funrl.reward.MAX_NESTING`
deep, and all argument values of one call together hold at most :data:`MAX_ARG_ITEMS` items/characters.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Mapping
from typing import Any

from funrl.reward import MAX_CALL_CHARS, MAX_NESTING
from funrl.reward.safe_arith import UnsafeExpression, evaluate

#: Items and characters all argument values of one call may hold together (nested items counted).
MAX_ARG_ITEMS = 1 << 18
#: Calls inside the arguments of one call string (each one runs like a call of its own).
MAX_NESTED_CALLS = 16

# BFCL's executor refuses these outermost function names (multi_turn_utils.execute_multi_turn_func_call).
BLOCKED_NAMES = frozenset({"kill", "exit", "quit", "remove", "unlink", "popen", "Popen", "run"})
# Names that BFCL's eval would resolve (builtins and its module's globals): funrl refuses them.
_EVAL_VISIBLE = frozenset(dir(builtins)) | frozenset(
    {"copy", "importlib", "inspect", "json", "re", "CLASS_FILE_PATH_MAPPING", "STATELESS_CLASSES"}
    | {"execute_multi_turn_func_call", "is_empty_execute_response", "_process_method_calls"}
)
# BFCL's method-name regex (multi_turn_utils._process_method_calls).
_METHOD_RE = re.compile(r"\b([a-zA-Z_]\w*)\s*(?=\()")
_CONTAINERS = (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.BinOp, ast.UnaryOp)


class CallError(Exception):
    """The call is not executed; ``str(error)`` is the text after ``Error during execution: ``.
    ``transient``: the refusal depends on the moment (the parser ran out of memory or stack), not on the
    call alone, so it must not be remembered for the same text."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def blocked_name(source: str) -> str | None:
    """BFCL's block-list check, verbatim: the text before the first ``(``, after its first ``.``."""
    head = source.split("(")[0] if "(" in source else source
    if "." in head:
        head = head.split(".")[1]
    return head if head in BLOCKED_NAMES else None


def mangle(source: str, prefixes: Mapping[str, str]) -> str:
    """BFCL's ``_process_method_calls``: prefix ``<instance>.`` to every method name followed by ``(``,
    string literals included."""
    return _METHOD_RE.sub(lambda m: f"{prefixes[m[1]]}.{m[1]}" if m[1] in prefixes else m[1], source)


def parse_call(
    source: str, methods: Mapping[str, object], prefixes: Mapping[str, str] | None = None
) -> tuple[str, list, dict, int, bool]:
    """Parse one call string into ``(method_name, args, kwargs, items, nested)`` (``items``: the size of
    the argument values; ``nested``: some argument is a :class:`Nested` call); raises :class:`CallError`.

    ``methods`` are the names that can be called (the entry's API methods); ``prefixes`` (method name ->
    BFCL instance name) turns on BFCL's string mangling.
    """
    if not isinstance(source, str):
        raise CallError(f"a call must be a string, got {type(source).__name__}")
    if len(source) > MAX_CALL_CHARS:
        raise CallError(f"call text exceeds {MAX_CALL_CHARS} characters; not executed")
    blocked = blocked_name(source)
    if blocked is not None:
        raise CallError(f"Function call {blocked} is not allowed.")
    text = mangle(source, prefixes) if prefixes else source
    try:
        tree = ast.parse(text.lstrip(" \t"), "<string>", "eval")
    except (MemoryError, RecursionError) as e:  # depend on the moment (free memory, stack depth)
        raise CallError(str(e), transient=True) from None
    except Exception as e:  # SyntaxError, ValueError (huge int literal)
        raise CallError(str(e)) from None
    if sum(map(text.count, "([{+-*/%&|^~@<>")) > MAX_NESTING:
        _check_depth(tree.body)
    node = tree.body
    if not isinstance(node, ast.Call):
        raise CallError(f"not a function call ({type(node).__name__}); only API calls are executed")
    name = _method_name(node.func, methods, prefixes)
    _check_keywords(node)
    state = _ParseState()
    args, kwargs = _arguments(node, methods, prefixes, state)
    return name, args, kwargs, MAX_ARG_ITEMS - state.budget[0], state.calls > 0


def _check_keywords(node: ast.Call) -> None:
    """What compiling the call string refuses, for the whole string before anything runs."""
    seen: set[str] = set()
    for kw in node.keywords:
        if kw.arg is None:
            continue
        if kw.arg in seen:
            raise CallError(f"keyword argument repeated: {kw.arg} (<string>, line {kw.lineno})")
        seen.add(kw.arg)
    for arg in node.args:
        if isinstance(arg, ast.Call):
            _check_keywords(arg)
    for kw in node.keywords:
        if isinstance(kw.value, ast.Call):
            _check_keywords(kw.value)


class _ParseState:
    """Shared by one call string's parse: the item budget, and whether a nested call runs before the
    argument being parsed (a refusal after one is raised when it is reached, as ``eval`` would)."""

    __slots__ = ("budget", "nested", "calls", "stopped")

    def __init__(self) -> None:
        self.budget = [MAX_ARG_ITEMS]
        self.nested = False
        self.calls = 0
        self.stopped = False  # a refusal was deferred: the arguments after it are never evaluated


def _arguments(
    node: ast.Call, methods: Mapping[str, object], prefixes: Mapping[str, str] | None, state: _ParseState
) -> tuple[list, dict]:
    """The call's argument values in evaluation order (positional, then keywords): constants, or
    :class:`Nested` calls to run first. A refusal before any nested call raises :class:`CallError` (nothing
    would have run); after one, it becomes a ``Nested`` error raised when the run reaches it."""
    args: list = []
    kwargs: dict = {}
    for arg in node.args:
        if state.stopped:  # a refusal before it is raised first: nothing after it runs
            return args, kwargs
        if isinstance(arg, ast.Starred):
            args.append(_refused(state, "argument unpacking (*) is not executed"))
        else:
            args.append(_argument(arg, methods, prefixes, state))
    for kw in node.keywords:
        if state.stopped:
            return args, kwargs
        if kw.arg is None:
            kwargs[f"**{len(kwargs)}"] = _refused(state, "argument unpacking (**) is not executed")
        else:
            kwargs[kw.arg] = _argument(kw.value, methods, prefixes, state)
    return args, kwargs


def _argument(
    node: ast.expr, methods: Mapping[str, object], prefixes: Mapping[str, str] | None, state: _ParseState
) -> Any:
    if not isinstance(node, ast.Call):
        try:
            return _value(node, state.budget)
        except CallError as e:
            if e.transient or state.budget[0] < 0:  # over the budget: refused as a whole
                raise
            return _refused(state, str(e))
    state.calls += 1
    if state.calls > MAX_NESTED_CALLS:  # refused as a whole, before anything runs
        raise CallError(f"more than {MAX_NESTED_CALLS} calls inside the arguments; not executed")
    try:
        kind, target = _nested_target(node.func, methods, prefixes)
    except CallError as e:
        return _refused(state, str(e))
    # it runs (a method may change state, a builtin may raise) before the arguments after it
    state.nested = True
    args, kwargs = _arguments(node, methods, prefixes, state)
    return Nested(kind, target, args, kwargs)


def _refused(state: _ParseState, message: str) -> Nested:
    if not state.nested:
        raise CallError(message)
    state.stopped = True
    return Nested("error", message, [], {})


#: Builtins a nested call may use, called as ``eval`` would call them (pure, bounded by their arguments;
#: ``round``'s digits are bounded in the runtime). BFCL's decoder writes nested calls with keyword
#: arguments only, so ``str(object=...)``, ``round(number=..., ndigits=...)`` and ``dict(...)`` are the
#: ones models reach.
NESTED_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in (
        "abs", "bool", "dict", "float", "int", "len", "list", "max", "min", "round", "set", "sorted", "str",
        "tuple",
    )
}  # fmt: skip


def _nested_target(
    func: ast.expr, methods: Mapping[str, object], prefixes: Mapping[str, str] | None
) -> tuple[str, str]:
    """("api", method) or ("builtin", name) for a call inside an argument; CallError for anything else.
    A method of the entry wins over a builtin of the same name (BFCL prefixes every method name)."""
    if (
        isinstance(func, ast.Name)
        and func.id in NESTED_BUILTINS
        and not (func.id in methods and not prefixes)
    ):
        return "builtin", func.id
    return "api", _method_name(func, methods, prefixes)


class Nested:
    """A call inside an argument, run when the outer call's arguments are evaluated, in order, as
    BFCL's ``eval`` runs it: ``kind`` "api" (``target``: a method of the entry; it runs on the
    instance, state changes included), "builtin" (``target``: a name of :data:`NESTED_BUILTINS`) or
    "error" (``target``: the message raised when the run reaches it)."""

    __slots__ = ("kind", "target", "args", "kwargs")

    def __init__(self, kind: str, target: str, args: list, kwargs: dict) -> None:
        self.kind, self.target, self.args, self.kwargs = kind, target, args, kwargs

    def __deepcopy__(self, memo: dict) -> Nested:
        import copy

        return Nested(
            self.kind, self.target, copy.deepcopy(self.args, memo), copy.deepcopy(self.kwargs, memo)
        )

    def __repr__(self) -> str:
        return f"Nested({self.kind}, {self.target!r}, {self.args!r}, {self.kwargs!r})"


def _method_name(func: ast.expr, methods: Mapping[str, object], prefixes: Mapping[str, str] | None) -> str:
    if isinstance(func, ast.Name):
        if func.id in methods and not prefixes:
            return func.id
        _refuse_name(func.id)
    if (
        prefixes
        and isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.attr in methods
        and prefixes.get(func.attr) == func.value.id
    ):
        return func.attr
    why = (
        "attribute calls are not executed"
        if isinstance(func, ast.Attribute)
        else "only API calls are executed"
    )
    raise CallError(f"{ast.unparse(func)[:80]!r} is not a function of this entry; {why}")


def _refuse_name(name: str) -> None:
    if name in _EVAL_VISIBLE:
        raise CallError(f"{name!r} is not an API function of this entry; funrl never evaluates it")
    raise CallError(f"name '{name}' is not defined")


def _value(node: ast.expr, budget: list[int]) -> Any:
    """A constant argument value; anything that would run code is refused."""
    if isinstance(node, ast.Constant):
        value = node.value
    elif isinstance(node, _CONTAINERS):
        try:
            value = evaluate(node)
        except UnsafeExpression as e:
            _diagnose(node)
            raise CallError(f"argument not evaluated: {e}") from None
        except (MemoryError, RecursionError) as e:
            raise CallError(str(e), transient=True) from None
        except Exception as e:  # what Python raises itself: 1/0, unhashable set items, ...
            raise CallError(str(e)) from None
    else:
        _diagnose(node)
        raise CallError(f"{type(node).__name__} arguments are not evaluated; only constants are")
    budget[0] -= size(value, budget[0] + 1)
    if budget[0] < 0:
        raise CallError(f"arguments exceed {MAX_ARG_ITEMS} items; not executed")
    return value


def _diagnose(node: ast.expr) -> None:
    """Say why a non-constant argument is refused, with eval's message for an undefined name."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            raise CallError(
                f"nested call {ast.unparse(sub.func)[:80]!r} is not executed; arguments must be constants"
            )
        if isinstance(sub, ast.Name):
            _refuse_name(sub.id)
        if isinstance(sub, ast.Attribute):
            raise CallError("attribute access is not evaluated; arguments must be constants")


def _check_depth(root: ast.AST) -> None:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise CallError(f"values nest deeper than {MAX_NESTING}; not executed")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def size(x: object, budget: int, _path: set | None = None) -> int:
    """Items and characters in ``x``, nested containers counted (shared references each time, a
    container inside itself once), an int by its decimal digits (what its text takes), counting stops
    past ``budget``."""
    if isinstance(x, (str, bytes)):
        return len(x)
    if type(x) is int:
        return 1 + x.bit_length() * 3 // 10
    if isinstance(x, (dict, list, tuple, set, frozenset)):
        path = set() if _path is None else _path
        if id(x) in path:  # a reference cycle: counted once
            return 1
        path.add(id(x))
        total = len(x)
        if isinstance(x, dict):
            for k, v in x.items():
                if total > budget:
                    break
                total += size(k, budget - total, path) + size(v, budget - total, path)
        else:
            for item in x:
                if total > budget:
                    break
                t = type(item)
                if t is int:
                    if item.bit_length() > 64:
                        total += item.bit_length() * 3 // 10
                elif t is not float and t is not bool and item is not None:
                    total += size(item, budget - total, path)
        path.discard(id(x))
        return total
    return 1
