"""Constant arithmetic without ``eval``: what BFCL computes by running ``eval`` on ``ast.unparse(node)``, bounded.

BFCL evaluates any ``BinOp`` in a call argument with Python's ``eval``, which runs arbitrary code from
model output. Here only constant expressions are evaluated (numbers, strings, bytes, booleans, None,
lists, tuples, sets, dicts, unary and binary operators), with Python's own semantics, so that
``a=2*3`` gives 6 and ``a='ab'*2`` gives ``'abab'`` exactly as BFCL does. Anything else (names, calls,
attributes, subscripts, comparisons, comprehensions, f-strings) raises :class:`UnsafeExpression` and the
candidate is rejected with ``format_error:unsupported_expression`` (BFCL would evaluate some of these:
``len('ab')+1`` gives 3 there).

Bounds (exceeding one raises UnsafeExpression; Python itself would compute these, slowly):
  * integers: at most ``MAX_INT_BITS`` bits, checked *before* ``**``, ``*`` and ``<<`` are computed, so
    ``2**10**10`` is refused in microseconds;
  * sequences: at most ``MAX_SEQUENCE_LEN`` items or characters after ``*`` or ``+``, nested items
    counted (``[[0]*300]*300*300`` is refused before it is built);
  * ``str % ...`` / ``bytes % ...`` formatting is refused (``'%999999999d' % 1`` would allocate a GB).
Errors Python raises itself (``1/0``, ``'a' - 1``, float overflow) propagate as they would in BFCL.
"""

from __future__ import annotations

import ast
import operator

MAX_INT_BITS = 1 << 16
MAX_SEQUENCE_LEN = 1 << 17


class UnsafeExpression(ValueError):
    """The expression is not constant arithmetic, or exceeds a bound."""


_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
    ast.BitAnd: operator.and_,
    ast.MatMult: operator.matmul,
}
_UNARYOPS = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Invert: operator.invert,
    ast.Not: operator.not_,
}
_SEQUENCES = (str, bytes, list, tuple)


def _bits(x: object) -> int:
    return x.bit_length() if isinstance(x, int) else 0


def _size(x: object, budget: int = MAX_SEQUENCE_LEN + 1) -> int:
    """Items and characters in x, counting nested containers (shared references counted each time);
    stops counting past ``budget``."""
    if isinstance(x, (str, bytes)):
        return len(x)
    if isinstance(x, (list, tuple, set, frozenset)):
        total = len(x)
        for item in x:
            if total > budget:
                break
            if isinstance(item, (str, bytes, list, tuple, set, frozenset, dict)):
                total += _size(item, budget - total)
        return total
    if isinstance(x, dict):
        return _size(list(x.keys()), budget) + _size(list(x.values()), budget)
    return 0


def _check_size(result: object) -> object:
    if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
        raise UnsafeExpression(f"integer result exceeds {MAX_INT_BITS} bits")
    if isinstance(result, _SEQUENCES) and _size(result) > MAX_SEQUENCE_LEN:
        raise UnsafeExpression(f"sequence result exceeds {MAX_SEQUENCE_LEN} items")
    return result


def _guard_binop(op: type, left: object, right: object) -> None:
    """Refuse, before computing, an operation whose result would blow a bound."""
    if op is ast.Pow and isinstance(left, int) and isinstance(right, int) and right > 0:
        if abs(left) > 1 and right * max(1, _bits(left) - 1) > MAX_INT_BITS:
            raise UnsafeExpression(f"power exceeds {MAX_INT_BITS} bits")
    elif op is ast.Mult:
        for seq, n in ((left, right), (right, left)):
            if (
                isinstance(seq, _SEQUENCES)
                and isinstance(n, int)
                and n > 0
                and _size(seq) * n > MAX_SEQUENCE_LEN
            ):
                raise UnsafeExpression(f"repeated sequence exceeds {MAX_SEQUENCE_LEN} items")
        if isinstance(left, int) and isinstance(right, int) and _bits(left) + _bits(right) > MAX_INT_BITS + 1:
            raise UnsafeExpression(f"product exceeds {MAX_INT_BITS} bits")
    elif op is ast.LShift and isinstance(left, int) and isinstance(right, int):
        if left and right > 0 and _bits(left) + right > MAX_INT_BITS:
            raise UnsafeExpression(f"shift exceeds {MAX_INT_BITS} bits")
    elif op is ast.Mod and isinstance(left, (str, bytes)):
        raise UnsafeExpression("string formatting with % is not evaluated")


def evaluate(node: ast.AST) -> object:
    """Evaluate a constant expression tree with Python semantics and the module's bounds."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp):
        op = type(node.op)
        left, right = evaluate(node.left), evaluate(node.right)
        _guard_binop(op, left, right)
        return _check_size(_BINOPS[op](left, right))
    if isinstance(node, ast.UnaryOp):
        return _check_size(_UNARYOPS[type(node.op)](evaluate(node.operand)))
    if isinstance(node, ast.List):
        return [evaluate(e) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(evaluate(e) for e in node.elts)
    if isinstance(node, ast.Set):
        return {evaluate(e) for e in node.elts}
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise UnsafeExpression("dict unpacking is not evaluated")
        return {evaluate(k): evaluate(v) for k, v in zip(node.keys, node.values)}
    raise UnsafeExpression(f"{type(node).__name__} is not constant arithmetic; it is never evaluated")
