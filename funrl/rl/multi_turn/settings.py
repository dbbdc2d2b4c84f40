"""Settings of the ``bfcl_multi_turn`` agent loop: the top-level ``bfcl_multi_turn:`` config block.

    bfcl_multi_turn:
      reward: final            # final: 1 iff BFCL's checker accepts the whole trajectory (FunReason-MT)
                               # turn_mean: mean of the per-turn verdicts over all turns (EnvTuning)
      format_weight: 0.0       # + format_weight * (share of replies that decode in the trained format)
      fmt: think_answer        # the trained output format the replies are read in (funrl.reward)
      max_steps_per_turn: 21   # model replies per user turn; past it the trajectory is force-terminated
                               # (BFCL: MAXIMUM_STEP_LIMIT + 1)
      max_step_tokens: null    # tokens per reply (null: what is left of rollout.response_length)
      max_tool_output_chars: 100000  # characters of one call's result shown to the model
      strict: false            # refuse held-out (miss_func) functions before their turn (BFCL runs them)

The block lives next to verl's keys (not under ``funrl:``) because verl hands the whole trainer config to
every agent loop; it is read and checked in the driver (``funrl.rl.trainer_hook.validate_funrl_config``)
and again in each agent-loop worker. Unknown keys and bad values raise ValueError naming the key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from funrl.reward import THINK_FORMATS, check_format

CONFIG_KEY = "bfcl_multi_turn"
REWARD_MODES = ("final", "turn_mean")
#: BFCL's step limit per turn is MAXIMUM_STEP_LIMIT (20): a turn is force-terminated after 21 replies.
BFCL_STEPS_PER_TURN = 21


@dataclass(frozen=True)
class MultiTurnSettings:
    """The checked ``bfcl_multi_turn`` block (see the module docstring)."""

    reward: str = "final"
    format_weight: float = 0.0
    fmt: str = "think_answer"
    max_steps_per_turn: int = BFCL_STEPS_PER_TURN
    max_step_tokens: int | None = None
    max_tool_output_chars: int = 100_000
    strict: bool = False

    def __post_init__(self) -> None:
        if self.reward not in REWARD_MODES:
            raise ValueError(f"{CONFIG_KEY}.reward must be one of {REWARD_MODES}, got {self.reward!r}")
        weight = self.format_weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
            raise ValueError(f"{CONFIG_KEY}.format_weight must be a number in [0, 1], got {weight!r}")
        check_format(self.fmt, THINK_FORMATS, key=f"{CONFIG_KEY}.fmt")
        for name in ("max_steps_per_turn", "max_tool_output_chars"):
            _positive_int(name, getattr(self, name))
        if self.max_step_tokens is not None:
            _positive_int("max_step_tokens", self.max_step_tokens)
        if not isinstance(self.strict, bool):
            raise ValueError(f"{CONFIG_KEY}.strict must be true or false, got {self.strict!r}")


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{CONFIG_KEY}.{name} must be an integer >= 1, got {value!r}")


def settings_from(config: Mapping[str, Any] | None) -> MultiTurnSettings:
    """The settings of a whole trainer config (its ``bfcl_multi_turn`` block; defaults when absent)."""
    block = (config or {}).get(CONFIG_KEY) if config is not None else None
    if block is None:
        return MultiTurnSettings()
    if not isinstance(block, Mapping):
        raise ValueError(f"{CONFIG_KEY} must be a mapping, got {type(block).__name__}")
    known = {f.name for f in dataclasses.fields(MultiTurnSettings)}
    unknown = sorted(set(block) - known)
    if unknown:
        raise ValueError(f"{CONFIG_KEY}: unknown key(s) {unknown}; known: {sorted(known)}")
    return MultiTurnSettings(**{k: block[k] for k in block})
