"""Ground truth for the reward: validated once, prepared for fast repeated checking.

A ground truth is three things, in BFCL's own shapes:

* ``functions``: BFCL function docs, ``[{"name": str, "description": str, "parameters": {"type": "dict",
  "properties": {param: {"type": T, "items": {"type": T2}?, ...}}, "required": [param, ...]}}]`` with
  ``T`` one of ``string integer float boolean array tuple dict any`` (JSON-Schema ``number`` and ``object``
  are accepted as ``float`` and ``dict``; ``required`` may be omitted, meaning none).
* ``possible_answer``: ``[{func_name: {param: [acceptable values...]}}]``, one dict per expected call;
  ``""`` among a parameter's acceptable values means the parameter may be omitted.
* ``category``: a BFCL category name (``simple_python``, ``multiple``, ``parallel``,
  ``parallel_multiple``, ``live_simple``, ``live_multiple``, ``live_parallel``,
  ``live_parallel_multiple``; short forms ``simple``, ``python`` too). It routes the check exactly as BFCL
  does: a name containing "parallel" -> any order, greedy matching; containing "multiple" -> one call of
  the expected function; otherwise one call of the first function.

The verl/JSON form of all of it (what data preparation writes into ``reward_model.ground_truth``) is::

    {"functions": [...], "possible_answer": [...], "category": "simple",
     "fmt": "auto", "require_think": false}          # the last two optional

A malformed ground truth is a data bug and raises ``ValueError`` naming the field. Preparation is lazy
per function (only the functions the answer names are validated), so a prompt offering 30 tools costs
no more than one offering 3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# BFCL's PYTHON_TYPE_MAPPING, plus the two JSON-Schema spellings it would reject with a KeyError.
PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
    "number": float,
    "object": dict,
}
_NESTED_TYPES = ("array", "tuple")
_CANONICAL_TYPE = {"number": "float", "object": "dict"}

CATEGORIES = (
    "simple",
    "simple_python",
    "python",
    "multiple",
    "parallel",
    "parallel_multiple",
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
)

# Deleted by BFCL's standardize_string (regex class [ \,\.\/\-\_\*\^]); translate() is the same, faster.
_STANDARDIZE_TABLE = str.maketrans("", "", " ,./-_*^")


def standardize_string(s: str) -> str:
    """BFCL's string normalisation: drop `` ,./-_*^``, lowercase, and map ``'`` to ``"``."""
    return s.translate(_STANDARDIZE_TABLE).lower().replace("'", '"')


def route(category: str) -> str:
    """The checker BFCL routes a category to: ``"parallel"``, ``"multiple"`` or ``"simple"``."""
    if not isinstance(category, str) or category not in CATEGORIES:
        raise ValueError(
            f"category: {category!r} is not a BFCL Python AST category; expected one of {', '.join(CATEGORIES)}"
        )
    if "parallel" in category:
        return "parallel"
    if "multiple" in category:
        return "multiple"
    return "simple"


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One schema parameter: BFCL type name, the Python type it maps to, and the item type of arrays."""

    type_desc: str
    expected: type
    nested: type | None


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    params: dict[str, ParamSpec]
    required: tuple[str, ...]


def _pa_type(values: list) -> type | None:
    """BFCL's get_possible_answer_type: the type of the first acceptable value that is not ``""``."""
    for v in values:
        if v != "":
            return type(v)
    return None


def _standardized_list(answer: Any) -> list | None:
    """How BFCL's list_checker standardises one acceptable value (it indexes it like a list).

    Strings are iterated character by character and ``""`` becomes ``[]`` -- BFCL's behaviour, kept.
    Values BFCL could not index (numbers, dicts) yield None: they can never match a list.
    """
    if isinstance(answer, (list, tuple, str)):
        return [standardize_string(x) if type(x) is str else x for x in answer]
    return None


@dataclass(frozen=True, slots=True)
class AnswerParam:
    """A parameter's acceptable values, with every standardised form BFCL would compute, computed once."""

    values: list
    optional: bool
    pa_type: type | None
    std_strings: frozenset
    std_lists: list
    std_dicts: list  # [(dict_answer, {key: [standardised acceptable values]}) or None for ""]


@dataclass(frozen=True, slots=True)
class AnswerCall:
    name: str
    params: dict[str, AnswerParam]


def _prepare_dict_answers(values: list, where: str) -> list:
    out = []
    for j, answer in enumerate(values):
        if answer == "":
            out.append(None)
            continue
        if not isinstance(answer, dict):
            out.append(False)  # BFCL would crash on it; it can never match a dict
            continue
        std = {}
        for key, acceptable in answer.items():
            if not isinstance(acceptable, list):
                raise ValueError(
                    f"{where}[{j}].{key}: acceptable values of a dict key must be a list, got {type(acceptable).__name__}"
                )
            std[key] = [standardize_string(a) if type(a) is str else a for a in acceptable]
        out.append((answer, std))
    return out


def _prepare_answer_param(values: Any, where: str) -> AnswerParam:
    if not isinstance(values, list):
        raise ValueError(f"{where}: acceptable values must be a list, got {type(values).__name__}")
    std_lists = [s for s in (_standardized_list(v) for v in values) if s is not None]
    has_dict = any(isinstance(v, dict) for v in values)
    return AnswerParam(
        values=values,
        optional="" in values,
        pa_type=_pa_type(values),
        std_strings=frozenset(standardize_string(v) for v in values if type(v) is str),
        std_lists=std_lists,
        std_dicts=_prepare_dict_answers(values, where) if has_dict else [],
    )


def _prepare_answer_call(entry: Any, index: int) -> AnswerCall:
    where = f"possible_answer[{index}]"
    if not isinstance(entry, dict) or len(entry) != 1:
        raise ValueError(
            f"{where}: must be a dict with exactly one key (the function name), got {entry!r:.200}"
        )
    ((name, params),) = entry.items()
    if not isinstance(name, str):
        raise ValueError(f"{where}: function name must be a string, got {name!r}")
    if not isinstance(params, dict):
        raise ValueError(f"{where}.{name}: must map parameter names to lists of acceptable values")
    return AnswerCall(
        name=name,
        params={p: _prepare_answer_param(v, f"{where}.{name}.{p}") for p, v in params.items()},
    )


def _prepare_function(doc: Any, where: str) -> FunctionSpec:
    if not isinstance(doc, dict):
        raise ValueError(f"{where}: a function doc must be a dict, got {type(doc).__name__}")
    name = doc.get("name")
    if not isinstance(name, str):
        raise ValueError(f"{where}.name: missing or not a string")
    parameters = doc.get("parameters")
    if not isinstance(parameters, dict):
        raise ValueError(f"{where}.parameters: missing or not a dict (function {name!r})")
    properties = parameters.get("properties", {})
    if not isinstance(properties, dict):
        raise ValueError(f"{where}.parameters.properties: must be a dict (function {name!r})")
    required = parameters.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise ValueError(
            f"{where}.parameters.required: must be a list of parameter names (function {name!r})"
        )
    params = {}
    for pname, pdoc in properties.items():
        pwhere = f"{where}.parameters.properties.{pname}"
        if not isinstance(pdoc, dict):
            raise ValueError(f"{pwhere}: must be a dict")
        type_desc = pdoc.get("type")
        if type_desc not in PYTHON_TYPES:
            raise ValueError(f"{pwhere}.type: {type_desc!r} is not one of {sorted(PYTHON_TYPES)}")
        nested = None
        if type_desc in _NESTED_TYPES:
            items = pdoc.get("items")
            item_type = items.get("type") if isinstance(items, dict) else None
            if item_type not in PYTHON_TYPES:
                raise ValueError(f"{pwhere}.items.type: {item_type!r} is not one of {sorted(PYTHON_TYPES)}")
            nested = PYTHON_TYPES[item_type]
        params[pname] = ParamSpec(_CANONICAL_TYPE.get(type_desc, type_desc), PYTHON_TYPES[type_desc], nested)
    return FunctionSpec(name=name, params=params, required=tuple(required))


class GroundTruth:
    """A validated, prepared ground truth. Build once, check many candidates against it (thread-safe:
    read-only after construction)."""

    __slots__ = ("category", "route", "answers", "specs", "fmt", "require_think")

    def __init__(
        self,
        functions: list,
        possible_answer: list,
        category: str,
        *,
        fmt: str = "auto",
        require_think: bool = False,
    ) -> None:
        self.category = category
        self.route = route(category)
        self.fmt = fmt
        self.require_think = bool(require_think)
        if not isinstance(functions, list) or not functions:
            raise ValueError("functions: must be a non-empty list of BFCL function docs")
        if not isinstance(possible_answer, list) or not possible_answer:
            raise ValueError(
                "possible_answer: must be a non-empty list of {function_name: {param: [values]}}"
            )
        self.answers = [_prepare_answer_call(a, i) for i, a in enumerate(possible_answer)]
        if self.route == "simple":
            # BFCL checks a simple entry against the FIRST function doc, whatever the answer's name.
            self.specs = [_prepare_function(functions[0], "functions[0]")]
        else:
            # BFCL's find_description: the first doc carrying the expected name.
            index = {}
            for i, doc in enumerate(functions):
                n = doc.get("name") if isinstance(doc, dict) else None
                if isinstance(n, str) and n not in index:
                    index[n] = i
            self.specs = []
            answers = self.answers[:1] if self.route == "multiple" else self.answers
            for k, a in enumerate(answers):
                if a.name not in index:
                    raise ValueError(
                        f"possible_answer[{k}]: expected function {a.name!r} is not among functions "
                        f"({', '.join(sorted(index)) or 'none'})"
                    )
                i = index[a.name]
                self.specs.append(_prepare_function(functions[i], f"functions[{i}]"))


def _load_json_field(d: dict, key: str, expected: type) -> Any:
    if key not in d:
        raise ValueError(f"ground_truth.{key}: missing")
    v = d[key]
    if isinstance(v, str) and expected is not str:
        try:
            v = json.loads(v)
        except json.JSONDecodeError as e:
            raise ValueError(f"ground_truth.{key}: not valid JSON ({e})") from None
    if not isinstance(v, expected):
        raise ValueError(f"ground_truth.{key}: expected {expected.__name__}, got {type(v).__name__}")
    return v


def ground_truth_from_dict(d: Any) -> GroundTruth:
    """Build a GroundTruth from the documented JSON object (already decoded)."""
    if not isinstance(d, dict):
        raise ValueError(f"ground_truth: expected a JSON object, got {type(d).__name__}")
    unknown = set(d) - {"functions", "possible_answer", "category", "fmt", "require_think"}
    if unknown:
        raise ValueError(f"ground_truth: unknown keys {sorted(unknown)}")
    fmt = d.get("fmt", "auto")
    if not isinstance(fmt, str):
        raise ValueError(f"ground_truth.fmt: expected a string, got {type(fmt).__name__}")
    require_think = d.get("require_think", False)
    if not isinstance(require_think, bool):
        raise ValueError(f"ground_truth.require_think: expected true/false, got {require_think!r}")
    return GroundTruth(
        _load_json_field(d, "functions", list),
        _load_json_field(d, "possible_answer", list),
        _load_json_field(d, "category", str),
        fmt=fmt,
        require_think=require_think,
    )


@lru_cache(maxsize=4096)
def ground_truth_from_json(text: str) -> GroundTruth:
    """Parse and prepare the JSON ground truth; cached, since verl scores a whole group of rollouts
    against the same ground-truth string."""
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"ground_truth: not valid JSON ({e})") from None
    return ground_truth_from_dict(d)


def ground_truth_json(
    functions: list,
    possible_answer: list,
    category: str,
    *,
    fmt: str = "auto",
    require_think: bool = False,
) -> str:
    """Serialise a ground truth to the documented JSON string (validated first, so a bad one fails here,
    when the data is written, not during training)."""
    GroundTruth(functions, possible_answer, category, fmt=fmt, require_think=require_think)
    from .formats import FORMATS  # local: formats imports this module

    if fmt not in FORMATS:
        raise ValueError(f"fmt: {fmt!r} is not one of {', '.join(FORMATS)}")
    return json.dumps(
        {
            "functions": functions,
            "possible_answer": possible_answer,
            "category": category,
            "fmt": fmt,
            "require_think": require_think,
        },
        ensure_ascii=False,
    )


def possible_answer_from_calls(calls: list, functions: list) -> list:
    """Turn reference calls ``[{name: {param: value}}]`` into a BFCL possible answer.

    Each given value becomes the only acceptable value (tuples become lists, as JSON would make them);
    a parameter the schema makes optional and the call omits becomes ``[""]`` (may be omitted).
    """
    docs = {}
    for i, doc in enumerate(functions):
        if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
            raise ValueError(f"functions[{i}].name: missing or not a string")
        docs.setdefault(doc["name"], doc)
    out = []
    for i, call in enumerate(calls):
        if not isinstance(call, dict) or len(call) != 1:
            raise ValueError(f"calls[{i}]: must be {{function_name: {{param: value}}}}")
        ((name, args),) = call.items()
        if name not in docs:
            raise ValueError(f"calls[{i}]: function {name!r} is not among functions")
        if not isinstance(args, dict):
            raise ValueError(f"calls[{i}].{name}: arguments must be a dict")
        parameters = docs[name].get("parameters", {})
        required = set(parameters.get("required", []))
        answer = {p: [json.loads(json.dumps(v))] for p, v in args.items()}
        for p in parameters.get("properties", {}):
            if p not in args and p not in required:
                answer[p] = [""]
        out.append({name: answer})
    return out
