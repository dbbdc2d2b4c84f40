"""BFCL's AST checker, reproduced verdict for verdict over a prepared ground truth.

Source of truth: ``bfcl_eval/eval_checker/ast_eval/ast_checker.py`` of bfcl-eval 2026.3.23, with its
Java and JavaScript steps (a string value converted by BFCL's type converters) in :mod:`.java_js`. Each function here mirrors the one of the same name there, quirks included, and says
which quirk it keeps; error types are BFCL's own strings (``type_error:simple``, ``value_error:string``,
``parallel_function_checker_no_order:cannot_find_match``, ...). Differences, all where BFCL itself would
crash rather than give a verdict, are marked ``not in BFCL``.

Every function takes decoded calls ``[{name: {param: value}}]`` and returns ``(error_type, errors)``,
with ``error_type`` None when the candidate passes.
"""

from __future__ import annotations

from .ground_truth import (
    STANDARDIZE_TABLE,
    AnswerParam,
    CallPlan,
    GroundTruth,
    answer_type,
    standardize_string,
)
from .java_js import TYPE_ERROR, BfclCrash

Verdict = tuple[str | None, list[str]]
_OK: Verdict = (None, [])


def _short(value: object, limit: int = 200) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int past Python's digit limit
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."


def type_checker(value, possible: list, expected: type, nested: type | None, pa_type=...) -> tuple:
    """-> (valid, is_variable, error_type). BFCL's type_checker, including its fall-through after a failed
    nested check and its "variable" rule: a value whose type matches the acceptable values' type instead
    of the schema type passes the type check and is then compared exactly."""
    if pa_type is ...:
        pa_type = answer_type(possible)
    vt = type(value)
    if vt == expected:
        is_variable = pa_type is not None and pa_type != expected
        if nested is None:
            return True, is_variable, None
        for item in possible:
            flag = True
            if type(item) == list:  # noqa: E721 -- BFCL compares exact types
                for v in value:
                    if not type_checker(v, item, nested, None)[0]:
                        flag = False
                        break
            if flag:  # an acceptable value that is not a list (e.g. "") skips the item check
                return True, is_variable, None
        if pa_type is not None and vt == pa_type:
            return False, True, "type_error:nested"
        return False, False, "type_error:simple"
    if pa_type is not None and vt == pa_type:
        return True, True, None
    return False, False, "type_error:simple"


def list_checker(param: str, value: list, answer: AnswerParam) -> Verdict:
    std = [standardize_string(x) if type(x) is str else x for x in value]
    if std not in answer.std_lists:
        return "value_error:list/tuple", [
            f"Invalid value for parameter {param!r}: {_short(value)}. Expected one of {_short(answer.values)}."
        ]
    return _OK


def _dict_against(value: dict, prepared) -> Verdict:
    """One acceptable dict. BFCL runs both loops even after the first fails, so a missing key reported by
    the second loop overrides a bad value reported by the first (error type ``value_error:dict_key``)."""
    if prepared is False:  # not in BFCL: an acceptable value that is not a dict (BFCL would crash)
        return "dict_checker:unclear", ["Acceptable value is not a dict."]
    answer, std = prepared
    error_type, errors = None, []
    for key, v in value.items():
        if key not in answer:
            error_type = "value_error:dict_key"
            errors.append(f"Unexpected dict key parameter: {key!r}.")
            break
        sv = standardize_string(v) if type(v) is str else v
        if sv not in std[key]:
            error_type = "value_error:dict_value"
            errors.append(
                f"Invalid value for parameter {key!r}: {_short(v)}. Expected one of {_short(std[key])}."
            )
            break
    for key, acceptable in answer.items():
        if key not in value and "" not in acceptable:
            error_type = "value_error:dict_key"
            errors.append(f"Missing dict key parameter: {key!r}.")
            break
    return (error_type, errors) if error_type else _OK


def dict_checker(param: str, value: dict, answer: AnswerParam) -> Verdict:
    result: Verdict = ("dict_checker:unclear", [f"No acceptable dict for parameter {param!r}."])
    for prepared in answer.std_dicts:
        if prepared is None:  # "" (may be omitted) is skipped
            continue
        result = _dict_against(value, prepared)
        if result[0] is None:
            return _OK
    return result


def list_dict_checker(param: str, value: list, answer: AnswerParam) -> Verdict:
    """Lists of dicts, compared index by index against each acceptable list in turn; the verdict of the
    last one tried is reported (BFCL's behaviour)."""
    result: Verdict = ("list_dict_checker:unclear", [f"No acceptable list of dicts for parameter {param!r}."])
    for acceptable in answer.values:
        if len(value) != _len_or_none(acceptable):
            result = ("value_error:list_dict_count", ["Wrong number of dictionaries in the list."])
            continue
        ok = True
        for item, expected in zip(value, acceptable):
            if not isinstance(item, dict):  # not in BFCL: it crashes on a non-dict item
                result = ("value_error:list_dict_item", [f"Item {_short(item)} of {param!r} is not a dict."])
                ok = False
                break
            prepared = _prepare_one_dict(expected)
            result = _dict_against(item, prepared)
            if result[0] is not None:
                ok = False
                break
        if ok:
            return _OK
    return result


def _len_or_none(x) -> int | None:
    return len(x) if isinstance(x, (list, str, tuple, dict)) else None


def _prepare_one_dict(expected):
    if not isinstance(expected, dict):
        return False
    std = {}
    for key, acceptable in expected.items():
        if not isinstance(acceptable, (list, str)):  # a string: BFCL iterates its characters
            return False
        std[key] = [standardize_string(a) if type(a) is str else a for a in acceptable]
    return expected, std


def simple_function_checker(plan: CallPlan, call: dict) -> Verdict:
    """BFCL's simple_function_checker (its string_checker inlined: standardise, then membership)."""
    spec = plan.spec
    name = plan.name  # the doc's name, or BFCL's FC-mode form of it (underscore_to_dot)
    if name not in call:
        return "simple_function_checker:wrong_func_name", [
            f"Function name {name!r} not found in model output."
        ]
    model_params = call[name]
    for p in spec.required:
        if p not in model_params:
            return "simple_function_checker:missing_required", [f"Missing required parameter: {p!r}."]
    entries = plan.entries
    for param, value in model_params.items():
        entry = entries.get(param, plan)
        if entry is plan:
            entry = plan.entry(param)
        if entry is None:
            return "simple_function_checker:unexpected_param", [f"Unexpected parameter: {param!r}."]
        type_desc, expected, nested, ap, is_variable, convert = entry
        vt = type(value)
        if convert is not None:  # Java/JS: the value must be source text, read by BFCL's converter
            if vt is not str:
                return TYPE_ERROR[plan.spec.language], [
                    f"Incorrect type for parameter {param!r}. Expected type String, got {vt.__name__}. "
                    f"Parameter value: {_short(value)}."
                ]
            try:
                value = convert(value)
            except BfclCrash as e:  # where BFCL's converter raises, or a value too long to convert
                return e.error_type, [f"Parameter {param!r}: {e}"]
            vt = type(value)
        # BFCL (Python only): a tuple for a "tuple" parameter becomes a list, an int for "float" a float.
        elif vt is tuple and type_desc == "tuple":
            value, vt = list(value), list
        elif vt is int and type_desc == "float":
            value, vt = float(value), float
        if vt is not expected or nested is not None:  # the common case skips the call (same verdict)
            valid, is_variable, error_type = type_checker(value, ap.values, expected, nested, ap.pa_type)
            if not valid:
                return error_type, [
                    f"Incorrect type for parameter {param!r}. Expected type {type_desc}, got "
                    f"{vt.__name__}. Parameter value: {_short(value)}."
                ]
        if not is_variable:
            if expected is str:
                # as written (an exact match needs no standardisation), or after BFCL's standardize_string
                if (
                    value in ap.values
                    or value.translate(STANDARDIZE_TABLE).lower().replace("'", '"') in ap.std_strings
                ):
                    continue
                return "value_error:string", [
                    f"Invalid value for parameter {param!r}: {_short(value)}. Expected one of "
                    f"{_short(ap.values)}. Case insensitive."
                ]
            if expected is dict:
                verdict = dict_checker(param, value, ap)
            elif expected is list:
                verdict = (
                    list_dict_checker(param, value, ap) if nested is dict else list_checker(param, value, ap)
                )
            else:
                verdict = None
            if verdict is not None:
                if verdict[0] is not None:
                    return verdict
                continue
        if value not in ap.values:
            return "value_error:others", [
                f"Invalid value for parameter {param!r}: {_short(value)}. Expected one of {_short(ap.values)}."
            ]
    for param in plan.answer.mandatory:
        if param not in model_params:
            return "simple_function_checker:missing_optional", [
                f"Optional parameter {param!r} not provided and not marked as optional."
            ]
    return _OK


def parallel_function_checker_no_order(gt: GroundTruth, calls: list) -> Verdict:
    """Each expected call, in order, takes the first still-unmatched model call that passes: greedy
    first-fit, as BFCL does (not an optimal matching)."""
    if len(calls) != len(gt.answers):
        return "parallel_function_checker_no_order:wrong_count", [
            f"Wrong number of functions: expected {len(gt.answers)}, got {len(calls)}."
        ]
    matched: set[int] = set()
    for i, plan in enumerate(gt.plans):
        sub_errors = []
        for j, call in enumerate(calls):
            if j in matched:
                continue
            error_type, errors = simple_function_checker(plan, call)
            if error_type is None:
                matched.add(j)
                break
            sub_errors.append(f"model call {j}: {error_type}: {'; '.join(errors)}")
        else:
            unmatched = [j for j in range(len(calls)) if j not in matched]
            return "parallel_function_checker_no_order:cannot_find_match", [
                f"Could not find a matching function among index {unmatched} of model output for index {i} "
                "of possible answers.",
                *sub_errors,
            ]
    return _OK


def ast_checker(gt: GroundTruth, calls: list) -> Verdict:
    """Route by category exactly as BFCL does and check. ``calls`` must already be in decoded form."""
    if gt.route == "parallel":
        return parallel_function_checker_no_order(gt, calls)
    if gt.route == "multiple":
        if len(calls) != len(gt.answers):
            return "multiple_function_checker:wrong_count", [
                f"Wrong number of functions: expected {len(gt.answers)}, got {len(calls)}."
            ]
        return simple_function_checker(gt.plans[0], calls[0])
    if len(calls) != 1:
        return "simple_function_checker:wrong_count", [
            f"Wrong number of functions: expected 1, got {len(calls)}."
        ]
    return simple_function_checker(gt.plans[0], calls[0])


def is_function_calling_format(calls: object) -> bool:
    """BFCL's is_function_calling_format_output: a list of one-key dicts whose value is a dict."""
    if type(calls) is not list:
        return False
    for item in calls:
        if type(item) is not dict or len(item) != 1:
            return False
        if type(next(iter(item.values()))) is not dict:
            return False
    return True
