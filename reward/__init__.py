"""FunRL's reward: a binary, BFCL-faithful AST match (imported as ``funrl.reward``).

Standard library only; never executes model output. Quick use::

    from funrl.reward import score
    r = score("<think>...</think><answer>[get_weather(city='Paris')]</answer>",
              functions=[...], possible_answer=[{"get_weather": {"city": ["Paris"]}}], category="simple")
    float(r), r.valid, r.error_type, r.errors

verl: ``reward.custom_reward_function.path=pkg://funrl.reward`` (``name`` defaults to ``compute_score``).
Modules: :mod:`.decode` (output formats, think tags, bounds), :mod:`.pycall` (python-call decoding),
:mod:`.checker` (BFCL's checker), :mod:`.ground_truth` (the ground-truth JSON and its preparation),
:mod:`.java_js` / :mod:`.langs` (``language="java"`` / ``"javascript"``: BFCL's Java and JavaScript scoring).
"""

from .api import (
    FormatError,
    Result,
    check,
    compute_score,
    load_ground_truth,
    parse,
    prepare,
    score,
    score_prepared,
)
from .decode import (
    FORMATS,
    MAX_CALL_CHARS,
    MAX_TEXT_CHARS,
    THINK_CLOSE,
    THINK_FORMATS,
    THINK_OPEN,
    check_format,
    leading_think,
    split_think,
)
from .ground_truth import (
    CATEGORIES,
    MAX_CALLS,
    PYTHON_TYPES,
    GroundTruth,
    GroundTruthError,
    ground_truth_json,
)
from .java_js import LANGUAGES
from .pycall import MAX_NESTING
from .reference import possible_answer_from_calls

__all__ = [
    "CATEGORIES",
    "FORMATS",
    "LANGUAGES",
    "MAX_CALLS",
    "MAX_CALL_CHARS",
    "MAX_NESTING",
    "MAX_TEXT_CHARS",
    "PYTHON_TYPES",
    "THINK_CLOSE",
    "THINK_FORMATS",
    "THINK_OPEN",
    "FormatError",
    "GroundTruth",
    "GroundTruthError",
    "Result",
    "check",
    "check_format",
    "compute_score",
    "ground_truth_json",
    "leading_think",
    "load_ground_truth",
    "parse",
    "possible_answer_from_calls",
    "prepare",
    "score",
    "score_prepared",
    "split_think",
]
