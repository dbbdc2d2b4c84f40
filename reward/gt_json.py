"""The JSON (verl) form of a ground truth: written fully validated, read cheaply.

:func:`ground_truth_json` validates every field when the data is written. The read side,
:func:`ground_truth_from_json` (cached, see :mod:`.gt_cache`), checks the structure and the depth of the
expected values and leaves each parameter's schema and acceptable values to be validated and prepared the
first time a check reads them -- what BFCL's checker itself reads -- so a new ground truth per group of
rollouts (verl's case) costs little more than its ``json.loads``.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from .ground_truth import GroundTruth, GroundTruthError
from .gt_cache import byte_bounded_cache
from .java_js import LANGUAGES


def loads_json(text: str, where: str) -> Any:
    """json.loads, with its errors (and a nesting bomb's RecursionError) as GroundTruthError naming ``where``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise GroundTruthError(f"{where}: not valid JSON ({e.msg} at character {e.pos})") from None
    except RecursionError:
        raise GroundTruthError(f"{where}: not valid JSON (nests too deep)") from None


def _load_json_field(d: dict, key: str, expected: type) -> Any:
    if key not in d:
        found = ", ".join(sorted(map(str, d))) or "none"
        raise GroundTruthError(f"ground_truth.{key}: missing (found: {found})")
    v = d[key]
    if isinstance(v, str) and expected is not str:
        v = loads_json(v, f"ground_truth.{key}")
    if not isinstance(v, expected):
        raise GroundTruthError(f"ground_truth.{key}: expected {expected.__name__}, got {type(v).__name__}")
    return v


def ground_truth_from_dict(d: Any) -> GroundTruth:
    """Build a GroundTruth from the documented JSON object (already decoded)."""
    return _from_dict(d, None)


def _from_dict(d: Any, text: str | None) -> GroundTruth:
    """The GroundTruth of the decoded object ``d``; ``text``: the JSON it was decoded from, if any."""
    if not isinstance(d, dict):
        raise GroundTruthError(f"ground_truth: expected a JSON object, got {type(d).__name__}")
    unknown = set(d) - {
        "functions",
        "possible_answer",
        "category",
        "fmt",
        "require_think",
        "underscore_to_dot",
        "language",
    }
    if unknown:
        raise GroundTruthError(f"ground_truth: unknown keys {sorted(unknown)}")
    fmt = d.get("fmt", "auto")
    require_think = d.get("require_think", False)
    if not isinstance(require_think, bool):
        raise GroundTruthError(f"ground_truth.require_think: expected true/false, got {require_think!r:.100}")
    underscore_to_dot = d.get("underscore_to_dot", False)
    if not isinstance(underscore_to_dot, bool):
        raise GroundTruthError(
            f"ground_truth.underscore_to_dot: expected true/false, got {underscore_to_dot!r:.100}"
        )
    language = d.get("language", "python")
    if language not in LANGUAGES:
        raise GroundTruthError(
            f"ground_truth.language: expected one of {', '.join(LANGUAGES)}, got {language!r:.100}"
        )
    possible_answer = _load_json_field(d, "possible_answer", list)
    gt = GroundTruth(
        _load_json_field(d, "functions", list),
        possible_answer,
        _load_json_field(d, "category", str),
        fmt=fmt,
        require_think=require_think,
        underscore_to_dot=underscore_to_dot,
        language=language,
    )
    # Read side: structure now (the depth bound of the expected values included: AnswerCall walks the
    # values that nest), the rest lazily -- ground_truth_json validated everything when it was written.
    if text is not None:
        # Keep only the docs the check reads (the specs); validate() decodes the rest again if ever asked.
        # A cached entry then holds few objects: cheap to evict, and little for the cyclic GC to traverse.
        gt.release_functions(partial(_functions_of, text))
    return gt


def _functions_of(text: str) -> list:
    return _load_json_field(loads_json(text, "ground_truth"), "functions", list)


@byte_bounded_cache
def ground_truth_from_json(text: str) -> GroundTruth:
    """Parse and prepare the JSON ground truth; cached (bounded in bytes, see :mod:`.gt_cache`), since
    verl scores a whole group of rollouts against the same ground-truth string."""
    return _from_dict(loads_json(text, "ground_truth"), text)


def ground_truth_json(
    functions: list,
    possible_answer: list,
    category: str,
    *,
    fmt: str = "auto",
    require_think: bool = False,
    underscore_to_dot: bool = False,
    language: str = "python",
) -> str:
    """Serialise a ground truth to the documented JSON string, validated fully first: a bad one fails
    here, when the data is written, not during training -- the read side (:func:`ground_truth_from_json`)
    then only checks the structure and prepares the rest lazily. ``underscore_to_dot`` is written only
    when true, ``language`` only when not ``"python"`` (the JSON of existing data is unchanged)."""
    GroundTruth(
        functions,
        possible_answer,
        category,
        fmt=fmt,
        require_think=require_think,
        underscore_to_dot=underscore_to_dot,
        language=language,
    ).validate()
    d = {
        "functions": functions,
        "possible_answer": possible_answer,
        "category": category,
        "fmt": fmt,
        "require_think": require_think,
    }
    if underscore_to_dot:
        d["underscore_to_dot"] = True
    if language != "python":
        d["language"] = language
    return json.dumps(d, ensure_ascii=False)
