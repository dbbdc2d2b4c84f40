"""One instance set (the API objects of one entry for one side: model or ground truth) and the
executor that runs call strings on it, mirroring BFCL's ``execute_multi_turn_func_call``.

Per call, as BFCL: block-list check, then the call, then the result formatted (a ``str`` as is, a
``dict`` through ``json.dumps`` -- or ``str`` where that fails --, anything else through ``str``), and
any exception becomes ``"Error during execution: <message>"``. Unlike BFCL: the call is parsed, never
evaluated (:mod:`.calls`); method dispatch is ``getattr(instance, name)(*args, **kwargs)``; arguments
that would drive a method into unbounded time or memory are refused (:data:`ARG_GUARDS`); a result over
:data:`MAX_RESULT_ITEMS` items is not formatted; MathAPI's process-wide precision settings are restored
after each call.
"""

from __future__ import annotations

import functools
import json
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from . import backend
from .calls import NESTED_BUILTINS, CallError, Nested, parse_call, size

ERROR_PREFIX = "Error during execution: "
#: A result holding more items/characters than this (nested, shared references counted each time) is
#: not formatted: ``Error during execution: result too large ...``.
MAX_RESULT_ITEMS = 1 << 22
#: Decimal digits MathAPI.logarithm / square_root may be asked for.
MAX_PRECISION = 10_000
#: |decimal_places| MathAPI.round_number may be asked for (int rounding computes 10**n).
MAX_ROUND_DIGITS = 10_000
_MAX_POW_BITS = 1 << 16
#: Items/characters of argument values one instance set accepts over its life (a trajectory's inputs),
#: which bounds the state an API can be driven to hold.
MAX_TRAJECTORY_ARG_ITEMS = 1 << 22
#: Results that can be much larger than the state's inputs (shared lists in many tweets, full paths)
#: have their size checked before formatting.
_SIZE_CHECKED = {"TwitterAPI", ("GorillaFileSystem", "find")}
_PARSE_CACHE_MAX = 1 << 15
_PARSE_CACHE_CHARS = 2000


def _number_arg(args: list, kwargs: dict, index: int, name: str) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else None


def _guard_precision(args: list, kwargs: dict) -> str | None:
    p = _number_arg(args, kwargs, 2, "precision")
    if isinstance(p, (int, float)) and abs(p) > MAX_PRECISION:
        return f"precision above {MAX_PRECISION} digits is refused by funrl"
    return None


def _guard_sqrt_precision(args: list, kwargs: dict) -> str | None:
    p = _number_arg(args, kwargs, 1, "precision")
    if isinstance(p, (int, float)) and abs(p) > MAX_PRECISION:
        return f"precision above {MAX_PRECISION} digits is refused by funrl"
    return None


def _guard_power(args: list, kwargs: dict) -> str | None:
    base, exponent = _number_arg(args, kwargs, 0, "base"), _number_arg(args, kwargs, 1, "exponent")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent * max(1, base.bit_length() - 1) > _MAX_POW_BITS:
            return f"power over {_MAX_POW_BITS} bits is refused by funrl"
    return None


def _guard_round(args: list, kwargs: dict) -> str | None:
    d = _number_arg(args, kwargs, 1, "decimal_places")
    if isinstance(d, int) and abs(d) > MAX_ROUND_DIGITS:
        return f"|decimal_places| above {MAX_ROUND_DIGITS} is refused by funrl"
    return None


#: (class, method) -> check of the arguments; a returned string refuses the call with that reason.
ARG_GUARDS: dict[tuple[str, str], Callable[[list, dict], str | None]] = {
    ("MathAPI", "logarithm"): _guard_precision,
    ("MathAPI", "square_root"): _guard_sqrt_precision,
    ("MathAPI", "power"): _guard_power,
    ("MathAPI", "round_number"): _guard_round,
}


class _Refused(Exception):
    """funrl refuses a nested call or its arguments; the outer call's result is the message."""


def _over_trajectory_budget() -> str:
    return f"arguments of this trajectory exceed {MAX_TRAJECTORY_ARG_ITEMS} items; not executed"


def _unavailable(name: str) -> str:
    return f"function {name!r} is not available at this turn"


def _guard_builtin(name: str, args: list, kwargs: dict) -> str | None:
    """Bounds on the nested builtins whose time grows with an argument's value: ``round``'s digits; and
    ``str`` decodes no bytes (codecs can be slow, and each one is a module to import)."""
    if name == "str" and (len(args) > 1 or kwargs.keys() - {"object"}):
        return "str() with an encoding is refused by funrl"
    if name == "round":
        digits = _number_arg(args, kwargs, 1, "ndigits")
        if isinstance(digits, int) and abs(digits) > MAX_ROUND_DIGITS:
            return f"|ndigits| above {MAX_ROUND_DIGITS} is refused by funrl"
    return None


def format_result(result: Any) -> str:
    """BFCL's formatting of a return value, verbatim in behaviour."""
    if type(result) is str:
        return result
    if type(result) is dict:
        try:
            return json.dumps(result)
        except Exception:
            return str(result)
    return str(result)


@functools.lru_cache(maxsize=4096)
def instance_name(model_name: str, entry_id: str, class_name: str) -> str:
    """The global name BFCL gives an instance (``{model}_{id}_{class}_instance``, ``-./:`` -> ``_``)."""
    return re.sub(r"[-./:]", "_", f"{model_name}_{entry_id}_{class_name}_instance")


# (call text, (mangle_as, entry id, classes)) -> parse result, or the message of a CallError (a string: a
# kept exception would keep its traceback's frames, and the InstanceSets in them, alive); values are never
# handed out. Transient refusals (out of memory or stack while parsing) are not kept.
_PARSE_CACHE: OrderedDict[tuple, Any] = OrderedDict()


class InstanceSet:
    """The API instances of one entry for one side, created as BFCL creates them.

    ``model_name`` only matters with ``mangle``: BFCL's string mangling writes
    ``{model_name}_eval_{id}_{class}_instance`` (model side) or ``{model_name}_ground_truth_eval_...``
    (ground truth) into string arguments.
    """

    def __init__(
        self,
        entry_id: str,
        involved_classes: Iterable[str],
        initial_config: dict,
        *,
        long_context: bool,
        process: backend.ProcessState,
        mangle_as: str | None = None,
    ) -> None:
        self.process = process
        self.instances: dict[str, Any] = {}
        self.methods: dict[str, tuple[Any, backend.MethodSpec]] = {}
        self.prefixes: dict[str, str] | None = {} if mangle_as is not None else None
        for class_name in involved_classes:
            instance = backend.new_instance(class_name, initial_config, long_context, process)
            self.instances[class_name] = instance
            # As BFCL: a later class's method of the same name wins.
            for name, spec in backend.method_specs(class_name).items():
                self.methods[name] = (instance, spec)
                if self.prefixes is not None:
                    self.prefixes[name] = instance_name(mangle_as, entry_id, class_name)
        self.calls = 0
        self.arg_items = 0
        self._parse_key = (mangle_as, entry_id, tuple(self.instances))

    def _parse(self, call: str) -> tuple[str, list, dict, int, bool]:
        """parse_call, memoised for short call strings (parsing is pure; values are copied per use, since
        an API may keep an argument list in its state)."""
        if type(call) is not str or len(call) > _PARSE_CACHE_CHARS:
            return parse_call(call, self.methods, self.prefixes)
        key = (call, self._parse_key)
        hit = _PARSE_CACHE.get(key)
        if hit is None:
            try:
                hit = parse_call(call, self.methods, self.prefixes)
            except CallError as e:
                if e.transient:
                    raise
                hit = str(e)
            _PARSE_CACHE[key] = hit
            if len(_PARSE_CACHE) > _PARSE_CACHE_MAX:
                _PARSE_CACHE.popitem(last=False)
        if type(hit) is str:
            raise CallError(hit)
        name, args, kwargs, items, nested = hit
        return name, backend.fast_copy(args), backend.fast_copy(kwargs), items, nested

    def execute(self, calls: Iterable[str], allowed: Callable[[str], bool] | None = None) -> list[str]:
        """Run call strings in order; one result string per call. Never raises for bad calls."""
        return [self.execute_one(call, allowed) for call in calls]

    def execute_one(self, call: str, allowed: Callable[[str], bool] | None = None) -> str:
        """Run one call string; ``allowed`` (strict mode) may refuse a method by name."""
        self.calls += 1
        if allowed is not None and type(call) is str:  # by the called name, whatever its arguments hold
            head = call.split("(", 1)[0].strip()
            if head in self.methods and not allowed(head):
                return ERROR_PREFIX + _unavailable(head)
        try:
            name, args, kwargs, items, nested = self._parse(call)
        except CallError as e:
            return ERROR_PREFIX + str(e)
        self.arg_items += items
        if self.arg_items > MAX_TRAJECTORY_ARG_ITEMS:
            return ERROR_PREFIX + _over_trajectory_budget()
        if allowed is not None and not allowed(name):
            return ERROR_PREFIX + _unavailable(name)
        with backend.NumericContext():
            try:
                if nested:
                    args, kwargs = self._resolve(args, kwargs, allowed)
                result = self._call(name, args, kwargs)
                spec = self.methods[name][1]
                checked = spec.class_name in _SIZE_CHECKED or (spec.class_name, name) in _SIZE_CHECKED
                if checked and size(result, MAX_RESULT_ITEMS) > MAX_RESULT_ITEMS:
                    return f"{ERROR_PREFIX}result too large (over {MAX_RESULT_ITEMS} items); not formatted"
                return format_result(result)
            except Exception as e:  # a refusal of funrl's (_Refused) included
                return ERROR_PREFIX + str(e)

    def _call(self, name: str, args: list, kwargs: dict) -> Any:
        """Run one method of the entry on its instance (BFCL's mutable defaults from this process);
        :data:`ARG_GUARDS` first."""
        instance, spec = self.methods[name]
        guard = ARG_GUARDS.get((spec.class_name, name))
        refused = guard(args, kwargs) if guard is not None else None
        if refused is not None:
            raise _Refused(refused)
        if spec.mutable_defaults:
            bound = set(spec.params[: len(args)]) | kwargs.keys()
            for param in spec.mutable_defaults:
                if param not in bound:
                    kwargs[param] = self.process.default(spec, param)
        return getattr(instance, name)(*args, **kwargs)

    def _resolve(self, args: list, kwargs: dict, allowed: Callable[[str], bool] | None) -> tuple[list, dict]:
        """The argument values with each :class:`~.calls.Nested` call run, in evaluation order; the size
        of what the nested calls return counts against the trajectory's argument budget."""
        out_args = [self._run_nested(v, allowed) if type(v) is Nested else v for v in args]
        out_kwargs = {k: self._run_nested(v, allowed) if type(v) is Nested else v for k, v in kwargs.items()}
        return out_args, out_kwargs

    def _run_nested(self, call: Nested, allowed: Callable[[str], bool] | None) -> Any:
        if call.kind == "error":
            raise _Refused(call.target)
        if call.kind == "api" and allowed is not None and not allowed(call.target):
            raise _Refused(_unavailable(call.target))
        args, kwargs = self._resolve(call.args, call.kwargs, allowed)
        if call.kind == "builtin":
            refused = _guard_builtin(call.target, args, kwargs)
            if refused is not None:
                raise _Refused(refused)
            result = NESTED_BUILTINS[call.target](*args, **kwargs)
        else:
            result = self._call(call.target, args, kwargs)
        self.arg_items += size(result, MAX_TRAJECTORY_ARG_ITEMS + 1)
        if self.arg_items > MAX_TRAJECTORY_ARG_ITEMS:
            raise _Refused(_over_trajectory_budget())
        return result
