"""The reward's public functions: score, parse, check, and verl's compute_score."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .checker import ast_checker, is_function_calling_format
from .decode import decode
from .ground_truth import GroundTruth, GroundTruthError, ground_truth_from_dict, ground_truth_from_json
from .java_js import LANGUAGES
from .pycall import FormatError

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Result:
    """The verdict on one candidate. ``float(result)`` is the binary reward."""

    valid: bool
    error_type: str | None = None
    errors: list[str] = field(default_factory=list)
    calls: list | None = None  # the decoded calls; None when the text could not be decoded
    fmt: str | None = None  # the format the calls were read in

    def __float__(self) -> float:
        return 1.0 if self.valid else 0.0

    def __bool__(self) -> bool:
        return self.valid

    @property
    def format_ok(self) -> bool:
        """True when the text was decoded into calls (whether or not they are right)."""
        return self.calls is not None


def parse(
    text: str, fmt: str = "auto", *, require_think: bool = False, language: str = "python"
) -> list[dict[str, dict]]:
    """Decode model output into calls ``[{name: {param: value}}]`` (Java/JS: values are source text).
    Raises :class:`FormatError`."""
    if language not in LANGUAGES:
        raise ValueError(f"language: expected one of {', '.join(LANGUAGES)}; got {language!r:.100}")
    return decode(text, fmt, require_think, language)[0]


@lru_cache(maxsize=256)
def _in_language(gt: GroundTruth, language: str) -> GroundTruth:
    """``gt`` checked in another language (a reward_kwargs override): rebuilt once, then cached."""
    functions = gt.functions()
    answers = [{a.name: a.raw} for a in gt.answers]
    return GroundTruth(
        functions,
        answers,
        gt.category,
        fmt=gt.fmt,
        require_think=gt.require_think,
        underscore_to_dot=gt.underscore_to_dot,
        language=language,
    )


def _verdict(gt: GroundTruth, calls: list, fmt: str | None) -> Result:
    """BFCL's checker on calls already in its decoded shape."""
    try:
        error_type, errors = ast_checker(gt, calls)
    except RecursionError:
        return Result(False, "format_error:too_deep", ["values nest too deep to compare"], calls, fmt)
    return Result(error_type is None, error_type, errors, calls, fmt)


def _judge(gt: GroundTruth, text: str, fmt: str, require_think: bool) -> tuple:
    """Decode + check, the hot path of every scorer: ``(error_type or None, errors, calls or None, fmt
    used)`` -- plain tuples, so that :func:`compute_score` (verl) builds no :class:`Result` it drops."""
    try:
        # a bad fmt raises ValueError (configuration, not model output): it propagates
        calls, used = decode(text, fmt, require_think, gt.language)
    except FormatError as e:
        return e.error_type, [str(e)], None, None
    except RecursionError:
        return "format_error:too_deep", ["values nest too deep"], None, None
    try:
        error_type, errors = ast_checker(gt, calls)  # our decoders only build the shape BFCL checks for
    except RecursionError:
        return "format_error:too_deep", ["values nest too deep to compare"], calls, used
    except GroundTruthError:
        raise
    except Exception as e:  # model output must never crash training; this is a bug -- say so loudly
        log.exception("funrl.reward: internal error while checking %r", text[:200])
        return "checker_error:internal", [f"{type(e).__name__}: {e}"], calls, used
    return error_type, errors, calls, used


def _check(gt: GroundTruth, calls: list, fmt: str | None) -> Result:
    """Calls from a caller (not from our decoders): check their shape first, as BFCL's runner does."""
    if not is_function_calling_format(calls):
        return Result(
            False,
            "format_error:wrong_output_format",
            ["Calls must be a list of {function_name: {param: value}} dicts."],
            None,
            fmt,
        )
    return _verdict(gt, calls, fmt)


def check(
    calls: list, *, functions: list, possible_answer: list, category: str, language: str = "python"
) -> Result:
    """Check already-decoded calls ``[{name: {param: value}}]`` against a ground truth, as BFCL does
    (Java/JS values: their source text, as strings)."""
    return _check(GroundTruth(functions, possible_answer, category, language=language), calls, None)


def score_prepared(
    gt: GroundTruth,
    text: str,
    *,
    fmt: str | None = None,
    require_think: bool | None = None,
    underscore_to_dot: bool | None = None,
    language: str | None = None,
) -> Result:
    """Score ``text`` against a prepared :class:`GroundTruth` (use this in a loop over a group of
    rollouts: the ground truth is validated and prepared once). ``None``: the ground truth's own setting."""
    gt = _overridden(gt, underscore_to_dot, language)
    error_type, errors, calls, used = _judge(
        gt, text, gt.fmt if fmt is None else fmt, gt.require_think if require_think is None else require_think
    )
    return Result(error_type is None, error_type, errors, calls, used)


def _overridden(gt: GroundTruth, underscore_to_dot: bool | None, language: str | None) -> GroundTruth:
    """``gt`` with a caller's ``underscore_to_dot`` / ``language`` (None: its own)."""
    if language is not None and language != gt.language:
        try:
            gt = _in_language(gt, language)
        except TypeError:  # an unhashable language: let the ground truth name it
            gt = _in_language.__wrapped__(gt, language)
    if underscore_to_dot is not None:
        if not isinstance(underscore_to_dot, bool):
            raise ValueError(f"underscore_to_dot: expected True or False, got {underscore_to_dot!r:.100}")
        gt = gt.with_underscore_to_dot(underscore_to_dot)
    return gt


def score(
    text: str,
    *,
    functions: list,
    possible_answer: list,
    category: str,
    fmt: str = "auto",
    require_think: bool = False,
    underscore_to_dot: bool = False,
    language: str = "python",
) -> Result:
    """The binary reward: does ``text`` call the right functions with the right arguments, as BFCL's AST
    checker decides? ``float(score(...))`` is 1.0 or 0.0.

    Malformed model output gives 0.0 with a ``format_error:*`` type and never raises; a malformed
    ground truth raises ValueError naming the field. See :mod:`funrl.reward.decode` for ``fmt``
    and the bounds on input size and nesting.

    ``underscore_to_dot``: BFCL's function-calling (FC) mode, for models served through a tools API that
    does not allow ``.`` in tool names: a function documented as ``math.factorial`` must then be called
    ``math_factorial`` (and ``math.factorial`` is a wrong name), exactly as BFCL scores a model whose
    config sets ``underscore_to_dot``.

    ``language``: ``"java"`` or ``"javascript"`` scores as BFCL scores ``simple_java`` /
    ``simple_javascript``: call text is read as Java/JS source (``[f(a=5L, b=new int[]{1, 2})]``), each
    value -- from call text or JSON -- must be a string of source text, converted by BFCL's type
    converters for the schema's Java/JS type (``String``, ``long``, ``ArrayList``, ``HashMap``, ``dict``,
    ``Bigint``...); see :mod:`funrl.reward.java_js`."""
    gt = GroundTruth(
        functions, possible_answer, category, underscore_to_dot=underscore_to_dot, language=language
    )
    return score_prepared(gt, text, fmt=fmt, require_think=require_think)


def prepare(
    functions: list,
    possible_answer: list,
    category: str,
    *,
    fmt: str = "auto",
    require_think: bool = False,
    underscore_to_dot: bool = False,
    language: str = "python",
) -> GroundTruth:
    """Validate (every field) and prepare a ground truth once, to score many candidates with
    :func:`score_prepared`. ``underscore_to_dot``, ``language``: see :func:`score`."""
    return GroundTruth(
        functions,
        possible_answer,
        category,
        fmt=fmt,
        require_think=require_think,
        underscore_to_dot=underscore_to_dot,
        language=language,
    ).validate()


def load_ground_truth(ground_truth: Any) -> GroundTruth:
    """A GroundTruth from the documented JSON (a string, cached; or an already-decoded dict)."""
    if isinstance(ground_truth, GroundTruth):
        return ground_truth
    if isinstance(ground_truth, str):
        return ground_truth_from_json(ground_truth)
    if isinstance(ground_truth, (bytes, bytearray)):
        return ground_truth_from_json(ground_truth.decode())
    if isinstance(ground_truth, dict):
        return ground_truth_from_dict(ground_truth)
    raise ValueError(f"ground_truth: expected a JSON string or dict, got {type(ground_truth).__name__}")


def compute_score(
    data_source: str | None,
    solution_str: str,
    ground_truth: Any,
    extra_info: dict | None = None,
    **kwargs: Any,
) -> dict:
    """verl's reward contract (``reward.custom_reward_function.path=pkg://funrl.reward``).

    Returns ``{"score": 1.0|0.0, "acc": same, "format_ok": 1.0|0.0, "error_type": str}``; verl logs the
    numeric keys as per-sample metrics (``error_type`` is ``""`` when valid, so the column is always
    text). ``fmt``, ``require_think``, ``underscore_to_dot`` and ``language`` in ``reward.reward_kwargs``
    override the ground truth's own.
    Other keyword arguments verl passes are ignored."""
    gt = (
        ground_truth_from_json(ground_truth) if type(ground_truth) is str else load_ground_truth(ground_truth)
    )
    if kwargs:
        gt = _overridden(gt, kwargs.get("underscore_to_dot"), kwargs.get("language"))
        fmt, require_think = kwargs.get("fmt"), kwargs.get("require_think")
        if fmt is None:
            fmt = gt.fmt
        if require_think is None:
            require_think = gt.require_think
    else:
        fmt, require_think = gt.fmt, gt.require_think
    error_type, _, calls, _ = _judge(gt, solution_str, fmt, require_think)
    if error_type is None:
        return {"score": 1.0, "acc": 1.0, "format_ok": 1.0, "error_type": ""}
    return {"score": 0.0, "acc": 0.0, "format_ok": 0.0 if calls is None else 1.0, "error_type": error_type}
