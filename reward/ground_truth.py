"""Ground truth for the reward: validated once, prepared for fast repeated checking.

A ground truth is three things, in BFCL's own shapes:

* ``functions``: BFCL function docs, ``[{"name": str, "description": str, "parameters": {"type": "dict",
  "properties": {param: {"type": T, "items": {"type": T2}?, ...}}, "required": [param, ...]}}]`` with
  ``T`` one of ``string integer float boolean array tuple dict any`` (JSON-Schema ``number`` and ``object``
  are accepted as ``float`` and ``dict``; ``required`` may be omitted, meaning none). With ``language``
  ``java`` / ``javascript``, ``T`` is one of BFCL's Java / JavaScript type names (:mod:`.java_js`).
* ``possible_answer``: ``[{func_name: {param: [acceptable values...]}}]``, one dict per expected call;
  ``""`` among a parameter's acceptable values means the parameter may be omitted.
* ``category``: a BFCL category name (``simple_python``, ``multiple``, ``parallel``, ``parallel_multiple``,
  ``live_simple``, ``live_multiple``, ``live_parallel``, ``live_parallel_multiple``, ``simple_java``,
  ``simple_javascript``; short forms ``simple``, ``python``). It routes the check as BFCL does: a name
  containing "parallel" -> any order, greedy matching; containing "multiple" -> one call of the expected
  function; otherwise one call of the first function.

The verl/JSON form of all of it (what data preparation writes into ``reward_model.ground_truth``) is::

    {"functions": [...], "possible_answer": [...], "category": "simple",
     "fmt": "auto", "require_think": false, "language": "java"}      # the last three optional

A malformed ground truth is a data bug and raises :class:`GroundTruthError` (a ``ValueError``) naming
the field. Bounds (also ``GroundTruthError``, naming the field): at most ``MAX_CALLS`` expected calls (BFCL's
greedy parallel matching is quadratic in them; BFCL's own data has at most a handful), and the JSON nests
at most ``MAX_GT_NESTING`` deep (model values nest at most ``MAX_NESTING``, so a deeper expected value
could never match). :class:`GroundTruth` prepares lazily -- a parameter's schema and acceptable values are
validated and standardised the first time a check reads them -- so an uncached ``score()`` is cheap and
a prompt offering 30 tools costs no more than one offering 3; ``GroundTruth.validate()`` checks every
field at once, and ``prepare()``, ``ground_truth_json()`` and the JSON (verl) path call it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from .java_js import check_language, lang_param
from .pycall import MAX_NESTING

# Expected calls per ground truth: parallel matching checks up to MAX_CALLS**2 call pairs (~20 ms here).
MAX_CALLS = 128
# Depth of the ground-truth JSON: the document's own ~6 levels of structure plus MAX_NESTING for values.
MAX_GT_NESTING = MAX_NESTING + 20


class GroundTruthError(ValueError):
    """A malformed ground truth: a data bug, raised loudly (never scored as 0), naming the field."""


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
    "simple_java",
    "simple_javascript",
)

_CATEGORY_SET = frozenset(CATEGORIES)

# Deleted by BFCL's standardize_string (regex class [ \,\.\/\-\_\*\^]); translate() is the same, faster.
STANDARDIZE_TABLE = str.maketrans("", "", " ,./-_*^")


def standardize_string(s: str) -> str:
    """BFCL's string normalisation: drop `` ,./-_*^``, lowercase, and map ``'`` to ``"``."""
    return s.translate(STANDARDIZE_TABLE).lower().replace("'", '"')


def route(category: str) -> str:
    """The checker BFCL routes a category to: ``"parallel"``, ``"multiple"`` or ``"simple"``."""
    if not isinstance(category, str):
        raise GroundTruthError(f"category: expected a string, got {type(category).__name__}")
    if category not in _CATEGORY_SET:
        raise GroundTruthError(
            f"category: {category!r:.100} is not a BFCL AST category; expected one of {', '.join(CATEGORIES)}"
        )
    if "parallel" in category:
        return "parallel"
    if "multiple" in category:
        return "multiple"
    return "simple"


def answer_type(values: list) -> type | None:
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
    if isinstance(answer, str):  # one (shared, cached) string per character, not a fresh one each
        return [_standardized_char(c) for c in answer]
    if isinstance(answer, (list, tuple)):
        return [standardize_string(x) if type(x) is str else x for x in answer]
    return None


@lru_cache(maxsize=1024)
def _standardized_char(c: str) -> str:
    return standardize_string(c)


def _standardized_dict(answer: dict) -> tuple:
    return answer, {
        key: [standardize_string(a) if type(a) is str else a for a in acc] for key, acc in answer.items()
    }


class AnswerParam:
    """A parameter's acceptable values. The standardised forms BFCL recomputes on every check are
    computed here at most once, and only when a check needs them."""

    __slots__ = ("values", "pa_type", "_std_strings", "_std_lists", "_std_dicts")

    def __init__(self, values: list, where: str, text_ok: bool = False) -> None:
        for j, v in enumerate(values):
            if isinstance(v, dict):
                for key, acc in v.items():
                    if not (isinstance(acc, list) or text_ok and isinstance(acc, str)):  # BFCL: chars
                        raise GroundTruthError(
                            f"{where}[{j}].{key}: acceptable values of a dict key must be a list, got {type(acc).__name__}"
                        )
        self.values = values
        self.pa_type = answer_type(values)
        self._std_strings = self._std_lists = self._std_dicts = None

    @property
    def std_strings(self) -> frozenset:
        if self._std_strings is None:
            self._std_strings = frozenset(standardize_string(v) for v in self.values if type(v) is str)
        return self._std_strings

    @property
    def std_lists(self) -> list:
        if self._std_lists is None:
            self._std_lists = [s for s in map(_standardized_list, self.values) if s is not None]
        return self._std_lists

    @property
    def std_dicts(self) -> list:
        """Per acceptable value: None for "" (skipped), (dict, standardised) for a dict, False otherwise."""
        if self._std_dicts is None:
            self._std_dicts = [
                None if v == "" else _standardized_dict(v) if isinstance(v, dict) else False
                for v in self.values
            ]
        return self._std_dicts


class AnswerCall:
    """One expected call: ``raw`` maps each parameter to its list of acceptable values (shape checked
    on construction); :meth:`param` prepares a parameter the first time a check reads it."""

    __slots__ = ("name", "raw", "where", "_params", "_mandatory", "text_ok")

    def __init__(self, entry: Any, index: int, text_ok: bool = False) -> None:
        where = f"possible_answer[{index}]"
        if not isinstance(entry, dict) or len(entry) != 1:
            raise GroundTruthError(
                f"{where}: must be a dict with exactly one key (the function name), got {entry!r:.200}"
            )
        ((name, raw),) = entry.items()
        if not isinstance(name, str):
            raise GroundTruthError(f"{where}: function name must be a string, got {name!r:.200}")
        if not isinstance(raw, dict):
            raise GroundTruthError(f"{where}.{name}: must map parameter names to lists of acceptable values")
        deep: list = []  # the values that nest: the depth bound walks only them (most are scalars)
        for p, values in raw.items():
            if type(p) is not str:
                raise GroundTruthError(f"{where}.{name}: parameter name {p!r:.200} is not a string")
            if not isinstance(values, list):
                raise GroundTruthError(
                    f"{where}.{name}.{p}: acceptable values must be a list, got {type(values).__name__}"
                )
            if not _SCALARS.issuperset(map(type, values)):  # in C; most values are scalars
                deep += [v for v in values if isinstance(v, _CONTAINERS)]
        if deep:  # values lie 4 levels down possible_answer ([{name: {param: [value]}}]), 3 below ``deep``
            check_depth(deep, "possible_answer", MAX_GT_NESTING - 3, shown=MAX_GT_NESTING)
        self.name, self.raw, self.where, self._params = name, raw, f"{where}.{name}", {}
        self.text_ok = text_ok  # Java/JS: a dict key's acceptable values may be a string (BFCL's data)
        self._mandatory = None

    @property
    def mandatory(self) -> tuple:
        """Parameters that may not be omitted ("" not among their values), in the answer's order."""
        if self._mandatory is None:
            self._mandatory = tuple(p for p, values in self.raw.items() if "" not in values)
        return self._mandatory

    def param(self, p: str) -> AnswerParam | None:
        ap = self._params.get(p)
        if ap is None:
            values = self.raw.get(p)
            if values is None:
                return None
            ap = self._params[p] = AnswerParam(values, f"{self.where}.{p}", self.text_ok)
        return ap

    def validate(self) -> None:
        for p in self.raw:
            self.param(p)


class FunctionSpec:
    """A function doc: name and required list checked on construction; :meth:`param` turns a schema
    parameter into ``(BFCL type name, Python type, item type or None)`` the first time it is read."""

    __slots__ = ("name", "properties", "required", "where", "language", "_params")

    def __init__(self, doc: Any, where: str, language: str = "python") -> None:
        if not isinstance(doc, dict):
            raise GroundTruthError(f"{where}: a function doc must be a dict, got {type(doc).__name__}")
        name = doc.get("name")
        if not isinstance(name, str):
            raise GroundTruthError(f"{where}.name: missing or not a string")
        parameters = doc.get("parameters")
        if not isinstance(parameters, dict):
            raise GroundTruthError(f"{where}.parameters: missing or not a dict (function {name!r:.100})")
        properties = parameters.get("properties", {})
        if not isinstance(properties, dict):
            raise GroundTruthError(f"{where}.parameters.properties: must be a dict (function {name!r:.100})")
        required = parameters.get("required", ())
        if type(required) is not list and required != ():
            raise GroundTruthError(
                f"{where}.parameters.required: must be a list of parameter names (function {name!r:.100})"
            )
        for r in required:
            if type(r) is not str:
                raise GroundTruthError(
                    f"{where}.parameters.required: {r!r:.100} is not a parameter name (function {name!r:.100})"
                )
        self.name, self.properties, self.required = name, properties, required
        self.where, self._params = f"{where}.parameters.properties", {}
        self.language = language

    def param(self, pname: str) -> tuple | None:
        ps = self._params.get(pname)
        if ps is None:
            pdoc = self.properties.get(pname)
            if pdoc is None:
                return None
            ps = self._params[pname] = self._convert(pname, pdoc)
        return ps

    def _convert(self, pname: str, pdoc: Any) -> tuple:
        """-> (type name, Python type, item type or None, Java/JS converter or None)."""
        if self.language != "python":
            try:
                return lang_param(self.language, pdoc)
            except ValueError as e:
                raise GroundTruthError(f"{self.where}.{pname:.100}.{e}") from None
        type_desc = pdoc.get("type") if isinstance(pdoc, dict) else None
        expected = PYTHON_TYPES.get(type_desc) if isinstance(type_desc, str) else None
        if expected is None:
            raise GroundTruthError(
                f"{self.where}.{pname:.100}.type: {type_desc!r:.100} is not one of {sorted(PYTHON_TYPES)}"
            )
        nested = None
        if type_desc in _NESTED_TYPES:
            items = pdoc.get("items")
            item_type = items.get("type") if isinstance(items, dict) else None
            nested = PYTHON_TYPES.get(item_type) if isinstance(item_type, str) else None
            if nested is None:
                raise GroundTruthError(
                    f"{self.where}.{pname:.100}.items.type: {item_type!r:.100} is not one of {sorted(PYTHON_TYPES)}"
                )
        return (_CANONICAL_TYPE.get(type_desc, type_desc), expected, nested, None)

    def validate(self) -> None:
        for p in self.properties:
            if type(p) is not str:
                raise GroundTruthError(f"{self.where}: parameter name {p!r:.200} is not a string")
            self.param(p)


class CallPlan:
    """One expected call and its function doc, with a per-parameter entry ``(type name, Python type,
    item type, AnswerParam, is_variable, Java/JS converter or None)`` built the first time a candidate
    gives that parameter (None: the parameter is not in both the schema and the answer). ``is_variable``
    is BFCL's flag for a value of the schema type whose acceptable values have another type: it is then
    compared exactly."""

    __slots__ = ("spec", "answer", "entries", "name")

    def __init__(self, spec: FunctionSpec, answer: AnswerCall, underscore_to_dot: bool = False) -> None:
        self.spec, self.answer, self.entries = spec, answer, {}
        # The name a model call must use: BFCL's FC mode (convert_func_name) writes the doc's "." as "_".
        self.name = spec.name.replace(".", "_") if underscore_to_dot else spec.name

    def entry(self, param: str) -> tuple | None:
        e = self.entries.get(param, CallPlan)
        if e is not CallPlan:
            return e
        ps, ap = self.spec.param(param), self.answer.param(param)
        if ps is None or ap is None:
            e = None
        else:
            type_desc, expected, nested, convert = ps
            is_variable = ap.pa_type is not None and ap.pa_type is not expected
            e = (type_desc, expected, nested, ap, is_variable, convert)
        self.entries[param] = e
        return e


class GroundTruth:
    """A ground truth, prepared for checking many candidates.

    Construction checks the structure (category, the shape of every expected call, the function docs
    the check uses); each parameter's schema and acceptable values are validated and prepared the first
    time a check reads them, so an uncached :func:`funrl.reward.score` costs little. :meth:`validate`
    checks everything at once: :func:`prepare`, :func:`ground_truth_json` and the cached JSON path call
    it, so a data bug surfaces when the data is written or first loaded. Safe to share between threads
    (preparation is idempotent)."""

    __slots__ = (
        "category",
        "route",
        "answers",
        "specs",
        "plans",
        "fmt",
        "require_think",
        "underscore_to_dot",
        "language",
        "_functions",
        "_other",
    )

    def __init__(
        self,
        functions: list,
        possible_answer: list,
        category: str,
        *,
        fmt: str = "auto",
        require_think: bool = False,
        underscore_to_dot: bool = False,
        language: str = "python",
    ) -> None:
        try:
            self.language = check_language(language, category)
        except ValueError as err:
            raise GroundTruthError(str(err)) from None
        if not isinstance(underscore_to_dot, bool):
            raise GroundTruthError(f"underscore_to_dot: expected true/false, got {underscore_to_dot!r:.100}")
        self.underscore_to_dot, self._other = underscore_to_dot, None
        self.category = category
        self.route = route(category)
        if fmt != "auto":
            from .decode import check_format  # local: decode imports this module

            try:
                check_format(fmt, key="fmt")
            except ValueError as err:
                raise GroundTruthError(f"ground_truth.{err}") from None
        self.fmt = fmt
        self.require_think = bool(require_think)
        if not isinstance(functions, list) or not functions:
            raise GroundTruthError("functions: must be a non-empty list of BFCL function docs")
        if not isinstance(possible_answer, list) or not possible_answer:
            raise GroundTruthError(
                "possible_answer: must be a non-empty list of {function_name: {param: [values]}}"
            )
        if len(possible_answer) > MAX_CALLS:
            raise GroundTruthError(
                f"possible_answer: {len(possible_answer)} expected calls, more than MAX_CALLS ({MAX_CALLS})"
            )
        self._functions = functions
        self.answers = [AnswerCall(a, i, language != "python") for i, a in enumerate(possible_answer)]
        if self.route == "simple":
            # BFCL checks a simple entry against the FIRST function doc, whatever the answer's name.
            self.specs = [FunctionSpec(functions[0], "functions[0]", language)]
            self.plans = [CallPlan(self.specs[0], self.answers[0], underscore_to_dot)]
            return
        # BFCL's find_description: the first doc carrying the expected name.
        needed = {a.name for a in (self.answers[:1] if self.route == "multiple" else self.answers)}
        found: dict[str, FunctionSpec] = {}
        for i, doc in enumerate(functions):
            n = doc.get("name") if isinstance(doc, dict) else None
            if type(n) is str and n in needed and n not in found:
                found[n] = FunctionSpec(doc, f"functions[{i}]", language)
        self.specs = []
        for k, a in enumerate(self.answers[:1] if self.route == "multiple" else self.answers):
            if a.name not in found:
                names = sorted(str(d.get("name", "?")) for d in functions if isinstance(d, dict))
                raise GroundTruthError(
                    f"possible_answer[{k}]: expected function {a.name!r:.100} is not among functions ({', '.join(names):.500})"
                )
            self.specs.append(found[a.name])
        self.plans = [CallPlan(spec, a, underscore_to_dot) for spec, a in zip(self.specs, self.answers)]

    def with_underscore_to_dot(self, underscore_to_dot: bool) -> GroundTruth:
        """This ground truth checked with the other ``underscore_to_dot`` (built once, sharing the
        prepared docs and answers); self when it already has that setting."""
        if underscore_to_dot is self.underscore_to_dot:
            return self
        other = self._other
        if other is None:
            other = GroundTruth.__new__(GroundTruth)
            for slot in (
                "category",
                "route",
                "answers",
                "specs",
                "fmt",
                "require_think",
                "language",
                "_functions",
            ):
                setattr(other, slot, getattr(self, slot))
            other.underscore_to_dot, other._other = underscore_to_dot, self
            other.plans = [CallPlan(p.spec, p.answer, underscore_to_dot) for p in self.plans]
            self._other = other
        return other

    def release_functions(self, reload: Callable[[], list]) -> None:
        """Drop the reference to the function docs (the specs keep those a check reads); ``reload()``
        gives them back, for :meth:`validate`."""
        self._functions = reload
        if self._other is not None:
            self._other._functions = reload

    def functions(self) -> list:
        """The function docs (decoded again from the JSON when they were released)."""
        return self._functions if type(self._functions) is list else self._functions()

    def validate(self) -> GroundTruth:
        """Validate every field now (every function doc, every acceptable value); returns self."""
        functions = self.functions()
        check_depth(functions, "functions")
        check_depth([a.raw for a in self.answers], "possible_answer")
        for i, doc in enumerate(functions):
            FunctionSpec(doc, f"functions[{i}]", self.language).validate()
        for a in self.answers:
            a.validate()
        return self


def check_depth(value: Any, where: str, limit: int = MAX_GT_NESTING, shown: int | None = None) -> None:
    """Raise GroundTruthError naming ``where`` (and ``shown``, default ``limit``) if ``value`` nests deeper
    than ``limit``; level by level, no recursion, carrying only the containers down."""
    message = f"{where}: nests deeper than {limit if shown is None else shown} levels"
    level, depth = [value], 0
    while level:
        depth += 1
        if depth > limit:
            raise GroundTruthError(message)
        below: list = []
        for v in level:
            if isinstance(v, dict):
                v = v.values()
            elif not isinstance(v, (list, tuple)):
                continue
            if depth == limit and v:  # its items would lie one level below the limit
                raise GroundTruthError(message)
            below += [x for x in v if isinstance(x, _CONTAINERS)]
        level = below


_CONTAINERS = (dict, list, tuple)
_SCALARS = frozenset((str, int, float, bool, type(None)))  # exact types that hold no container


# The JSON (verl) form lives in .gt_json; re-exported here, where it was first defined.
from .gt_json import ground_truth_from_dict, ground_truth_from_json, ground_truth_json  # noqa: E402

__all__ = ["GroundTruth", "GroundTruthError", "ground_truth_from_dict", "ground_truth_from_json"]
__all__ += ["ground_truth_json"]
