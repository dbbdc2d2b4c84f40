"""BFCL's multi-turn environments, run safely, and BFCL's multi-turn checker, reproduced exactly.

Needs ``bfcl-eval`` installed without its dependencies (``pip install --no-deps bfcl-eval==2026.3.23``)
and ``mpmath``. BFCL's API classes and data are imported from that package; calls are parsed, never
evaluated. Public API:

* :func:`load_entries` (category) -> entries with ``ground_truth`` attached; :func:`validate_entry`;
* :class:`BfclEnv` -- one environment per trajectory: ``tools(turn)``, ``execute(calls)``,
  ``start_turn()``, ``state()``, ``close()``, ``trajectory``;
* :func:`check_multi_turn` (entry, model_turns) -> :class:`Result` (``valid``, ``error_type``,
  ``error_message``, ``details``); :func:`check_turns` -> per-turn :class:`TurnVerdict` (RL rewards);
  :class:`Checker` for options (``strict``, ``mangle``) and the ground-truth cache.

See docs/envs.md for the safety model and every BFCL behaviour reproduced.
"""

from .checker import (
    EMPTY_TURN,
    FORCE_TERMINATED,
    INFERENCE_ERROR,
    RESPONSE_MISMATCH,
    STATE_MISMATCH,
    Checker,
    Result,
    TurnVerdict,
    check_multi_turn,
    check_turns,
)
from .data import CATEGORIES, load_all, load_entries, validate_entry
from .env import BfclEnv

__all__ = [
    "CATEGORIES",
    "EMPTY_TURN",
    "FORCE_TERMINATED",
    "INFERENCE_ERROR",
    "RESPONSE_MISMATCH",
    "STATE_MISMATCH",
    "BfclEnv",
    "Checker",
    "Result",
    "TurnVerdict",
    "check_multi_turn",
    "check_turns",
    "load_all",
    "load_entries",
    "validate_entry",
]
