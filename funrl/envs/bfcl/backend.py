"""Everything taken from the installed bfcl-eval, in one place.

BFCL's multi-turn API classes, their function docs, the dataset files and two of BFCL's own module
constants are read from the installed package (``pip install --no-deps bfcl-eval==2026.3.23``); nothing
of BFCL's source is copied. The two private BFCL names used here have no public alternative:

* ``instance._load_scenario(config, long_context=...)`` is how BFCL itself loads an instance;
* ``vars(instance)`` / public attributes are what BFCL's state checker compares.

This module also holds the *fresh-process* machinery: state that BFCL shares through Python objects
living longer than one instance (mutable default arguments, module-level dicts stored into instances)
is given to each :class:`ProcessState` -- one per evaluation or trajectory -- as its own copy, exactly as
a new Python process would have it.
"""

from __future__ import annotations

import copy
import decimal
import functools
import importlib
import importlib.util
import inspect
import json
import os
from dataclasses import dataclass, field
from typing import Any

try:
    import mpmath
    from bfcl_eval.constants.executable_backend_config import CLASS_FILE_PATH_MAPPING, STATELESS_CLASSES
except ImportError as err:  # one line that says what to install, not a bare ModuleNotFoundError
    raise ImportError(
        f"funrl.envs.bfcl needs bfcl-eval and mpmath ({err.name} is missing): "
        "pip install mpmath && pip install --no-deps bfcl-eval==2026.3.23 (with --no-deps: its own pins "
        "clash with verl's)"
    ) from err

#: The eight API classes of BFCL's multi-turn categories (the other classes in bfcl-eval belong to its
#: agentic categories and need torch / network access).
CLASS_NAMES: tuple[str, ...] = (
    "GorillaFileSystem",
    "MathAPI",
    "MessageAPI",
    "TwitterAPI",
    "TicketAPI",
    "TradingBot",
    "TravelAPI",
    "VehicleControlAPI",
)

_FUNC_DOC_FILES = {
    "GorillaFileSystem": "gorilla_file_system.json",
    "MathAPI": "math_api.json",
    "MessageAPI": "message_api.json",
    "TwitterAPI": "posting_api.json",
    "TicketAPI": "ticket_api.json",
    "TradingBot": "trading_bot.json",
    "TravelAPI": "travel_booking.json",
    "VehicleControlAPI": "vehicle_control.json",
}
_MUTABLE = (list, dict, set)
_ATOMS = frozenset({str, int, float, bool, type(None), complex, bytes})


def data_dir() -> str:
    """The ``data`` folder of the installed bfcl-eval."""
    import bfcl_eval

    return os.path.join(os.path.dirname(bfcl_eval.__file__), "data")


@functools.cache
def api_class(class_name: str) -> type:
    """BFCL's API class by name (imported from the installed package)."""
    if class_name not in CLASS_NAMES:
        raise KeyError(class_name)
    return getattr(importlib.import_module(CLASS_FILE_PATH_MAPPING[class_name]), class_name)


@dataclass(frozen=True)
class MethodSpec:
    """What the dispatcher needs to know about one public method of an API class."""

    class_name: str
    name: str
    params: tuple[str, ...]
    #: parameter -> BFCL's default object, for defaults that are mutable (shared per process in BFCL)
    mutable_defaults: dict[str, Any] = field(default_factory=dict)


@functools.cache
def method_specs(class_name: str) -> dict[str, MethodSpec]:
    """Public methods of a class, as BFCL's executor finds them (``inspect.getmembers`` on an instance,
    names not starting with ``_``)."""
    cls = api_class(class_name)
    specs = {}
    for name, func in inspect.getmembers(cls, predicate=inspect.isfunction):
        if name.startswith("_"):
            continue
        sig = inspect.signature(func)
        params = tuple(p for p in sig.parameters if p != "self")
        mutable = {
            p.name: copy.deepcopy(p.default)
            for p in sig.parameters.values()
            if isinstance(p.default, _MUTABLE)
        }
        specs[name] = MethodSpec(class_name, name, params, mutable)
    return specs


@functools.cache
def function_docs(class_name: str) -> tuple[dict, ...]:
    """BFCL's function docs of one class (``data/multi_turn_func_doc``), in file order."""
    path = os.path.join(data_dir(), "multi_turn_func_doc", _FUNC_DOC_FILES[class_name])
    with open(path, encoding="utf-8") as f:
        return tuple(json.loads(line) for line in f if line.strip())


@functools.cache
def _pristine_long_context() -> dict[str, Any]:
    """A private, never-mutated load of BFCL's ``long_context`` data module.

    BFCL's TravelAPI stores the dicts of ``CREDIT_CARD_EXTENSION`` / ``BOOKING_RECORD_EXTENSION`` into
    its state by reference and then changes them (card balances), so the module's own objects drift
    during a process. Values for a fresh process come from this separate load.
    """
    module = importlib.import_module(CLASS_FILE_PATH_MAPPING["TravelAPI"].rsplit(".", 1)[0] + ".long_context")
    spec = importlib.util.spec_from_file_location("funrl_envs_bfcl_pristine_long_context", module.__file__)
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    return {
        "CREDIT_CARD_EXTENSION": fresh.CREDIT_CARD_EXTENSION,
        "BOOKING_RECORD_EXTENSION": fresh.BOOKING_RECORD_EXTENSION,
    }


class ProcessState:
    """What one fresh Python process running BFCL would share between instances.

    In BFCL one evaluation runs in one process, and its model instances and ground-truth instances
    share (1) the mutable default arguments of the API methods (``TwitterAPI.post_tweet``'s ``tags=[]``
    and ``mentions=[]``: ``mention`` extends a tweet's list in place, so every tweet posted without
    ``mentions`` sees it) and (2) the long-context credit cards and booking records that TravelAPI
    stores by reference. One ProcessState per evaluation (checker) or per trajectory (environment)
    reproduces that, and nothing leaks between evaluations.
    """

    def __init__(self) -> None:
        self._defaults: dict[tuple[str, str, str], Any] = {}
        self._extensions: dict[tuple[str, str], Any] = {}
        #: set when any shared object was handed to an instance
        self.shared_used = False

    def default(self, spec: MethodSpec, param: str) -> Any:
        """This process's copy of a mutable default argument."""
        key = (spec.class_name, spec.name, param)
        obj = self._defaults.get(key)
        if obj is None:
            obj = self._defaults[key] = copy.deepcopy(spec.mutable_defaults[param])
        self.shared_used = True
        return obj

    def extension(self, table: str, key: str) -> Any:
        """This process's copy of one long-context record (``table`` is the module constant's name)."""
        obj = self._extensions.get((table, key))
        if obj is None:
            obj = self._extensions[(table, key)] = copy.deepcopy(_pristine_long_context()[table][key])
        self.shared_used = True
        return obj


def _detach_travel_extensions(instance: Any, process: ProcessState) -> None:
    """Point a long-context TravelAPI's extension records at this process's copies (BFCL points them
    at its module's objects, shared by every instance of the process)."""
    module = importlib.import_module(type(instance).__module__)
    for attr, table in (
        ("credit_card_list", "CREDIT_CARD_EXTENSION"),
        ("booking_record", "BOOKING_RECORD_EXTENSION"),
    ):
        shared = getattr(module, table)
        records = getattr(instance, attr)
        for key, value in records.items():
            if shared.get(key) is value:
                records[key] = process.extension(table, key)


def fast_copy(obj: Any) -> Any:
    """Deep copy of JSON-shaped data (what dataset entries hold); falls back to ``copy.deepcopy``."""
    t = type(obj)
    if t in _ATOMS:
        return obj
    if t is dict:
        return {k: fast_copy(v) for k, v in obj.items()}
    if t is list:
        return [fast_copy(v) for v in obj]
    if t is tuple:
        return tuple(fast_copy(v) for v in obj)
    return copy.deepcopy(obj)


def new_instance(class_name: str, initial_config: dict, long_context: bool, process: ProcessState) -> Any:
    """One API instance as BFCL's executor creates it: ``cls()``, then -- unless the class is stateless
    -- ``_load_scenario(deepcopy(initial_config.get(cls, {})), long_context=...)``."""
    instance = api_class(class_name)()
    if class_name not in STATELESS_CLASSES:
        config = fast_copy(initial_config.get(class_name, {}))
        instance._load_scenario(config, long_context=long_context)  # BFCL's own loader (no public API)
        if long_context and class_name == "TravelAPI":
            _detach_travel_extensions(instance, process)
    return instance


def public_state(instance: Any) -> dict[str, Any]:
    """The attributes BFCL's state checker compares: ``vars(instance)`` without names starting with ``_``."""
    return {k: v for k, v in vars(instance).items() if not k.startswith("_")}


class NumericContext:
    """Saves and restores the process-wide numeric settings MathAPI changes (``mpmath.mp.dps``,
    ``decimal``'s precision), so that a call never changes them for the host program."""

    __slots__ = ("_dps", "_prec")

    def __enter__(self) -> NumericContext:
        self._dps = mpmath.mp.dps
        self._prec = decimal.getcontext().prec
        return self

    def __exit__(self, *exc: object) -> None:
        mpmath.mp.dps = self._dps
        decimal.getcontext().prec = self._prec
