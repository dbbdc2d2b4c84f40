"""The ``funrl:`` config block that FunRL reads next to verl's own keys (plain Python, no torch or verl).

    funrl:
      entropy:            # the grpo_entropy advantage estimator (algorithm.adv_estimator=grpo_entropy)
        alpha: 0.4        # bonus coefficient (the sequence form's lambda); 0 = plain GRPO
        kappa: 2.0        # clip ratio: bonus <= alpha*|A|/kappa (sequence) or |A|/kappa (token)
        form: sequence    # sequence (FunRL/EGPO) | token (arXiv 2506.14758)
        no_cot_stop_after: 5   # stop after 5 steps in a row where no response has a closed CoT span
                               # (the bonus is then zero: plain GRPO); warns on the first; 0 = never stop
      cot:                # which response tokens are chain of thought
        open_tag: "<think>"
        close_tag: "</think>"
        starts_inside: false   # true when the chat template's generation prompt ends with open_tag
      srml:               # the SFT loss: alpha * L_think + (1 - alpha) * L_call
        alpha: 0.7        # a float in [0, 1], or token_share (plain SFT)
        enable: true      # false: verl's stock SFTTrainer and sft_loss (baseline runs)
      sampler:            # verl's V1 replay buffer, which the sync trainer polls for finished rollouts
        poll_interval_s: null  # seconds between polls; null keeps verl's 2.0 (the CPU profile sets 0.05:
                               # a tiny model's rollouts take ~1 s, which the 2 s poll rounds up to 2-4 s)

One dataclass per section, each checking its own ranges when it is built, so a config object that
exists is a valid one. ``funrl_config_from`` builds them from a composed config; ``python -m funrl.train``
calls it once, before Ray or torchrun start (``funrl.train.checks``), and the trainers receive the typed
object (or rebuild it in their own process, which is the same check). Unknown keys and wrong types are
errors naming the key (a typo such as ``funrl.entropy.apha`` must not silently train with the default).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from funrl.reward import THINK_CLOSE, THINK_OPEN

ENTROPY_FORMS = ("sequence", "token")
TOKEN_SHARE = "token_share"


@dataclass(frozen=True)
class EntropyConfig:
    """``funrl.entropy``: settings of the entropy bonus (published defaults: 0.4 / 2)."""

    alpha: float = field(default=0.4, metadata={"help": "bonus coefficient (lambda in the sequence form)"})
    kappa: float = field(default=2.0, metadata={"help": "clip ratio of the bonus against |A|"})
    form: str = field(default="sequence", metadata={"help": "sequence | token"})
    no_cot_stop_after: int = field(
        default=5, metadata={"help": "stop after this many steps in a row without any CoT span; 0 = never"}
    )

    def __post_init__(self) -> None:
        alpha, kappa, form = self.alpha, self.kappa, self.form
        stop = self.no_cot_stop_after
        if not (isinstance(stop, int) and not isinstance(stop, bool) and stop >= 0):
            raise ValueError(f"funrl.entropy.no_cot_stop_after must be an integer >= 0, got {stop!r}")
        if form not in ENTROPY_FORMS:
            raise ValueError(f"funrl.entropy.form must be one of {ENTROPY_FORMS}, got {form!r}")
        if not (_is_number(alpha) and math.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"funrl.entropy.alpha must be a finite number >= 0, got {alpha!r}")
        if not (_is_number(kappa) and math.isfinite(kappa) and kappa > 0):
            raise ValueError(f"funrl.entropy.kappa must be a finite number > 0, got {kappa!r}")
        if form == "token" and kappa < 1:
            raise ValueError(
                f"funrl.entropy.kappa={kappa} < 1 with form='token': the bonus |A|/kappa could exceed |A| "
                "and flip the sign of a negative advantage; use kappa >= 1"
            )
        if form == "sequence" and alpha > kappa:
            raise ValueError(
                f"funrl.entropy.alpha={alpha} > kappa={kappa} with form='sequence': the bonus alpha*|A|/kappa "
                "could exceed |A| and flip the sign of a negative advantage; use alpha <= kappa"
            )


@dataclass(frozen=True)
class CotConfig:
    """``funrl.cot``: how the chain of thought is delimited in a response (tags: ``funrl.reward``'s)."""

    open_tag: str = field(default=THINK_OPEN, metadata={"help": "opening CoT tag"})
    close_tag: str = field(default=THINK_CLOSE, metadata={"help": "closing CoT tag"})
    starts_inside: bool = field(default=False, metadata={"help": "the prompt already opened the CoT"})

    def __post_init__(self) -> None:
        if not self.open_tag or not self.close_tag:
            raise ValueError("funrl.cot.open_tag and funrl.cot.close_tag must be non-empty")


def validate_alpha(alpha: float | str) -> float | str:
    """Return ``alpha`` (as a float) if it is a number in [0, 1] or ``"token_share"``; raise ValueError."""
    if isinstance(alpha, str):
        if alpha != TOKEN_SHARE:
            raise ValueError(f"funrl.srml.alpha must be a float in [0, 1] or {TOKEN_SHARE!r}, got {alpha!r}")
        return alpha
    if not _is_number(alpha):
        raise ValueError(f"funrl.srml.alpha must be a float in [0, 1] or {TOKEN_SHARE!r}, got {alpha!r}")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"funrl.srml.alpha must be in [0, 1], got {alpha}")
    return float(alpha)


@dataclass(frozen=True)
class SrmlConfig:
    """``funrl.srml``: the SFT loss (FunReason's SRML); alpha 0.7 is the recipe's published start value."""

    alpha: float | str = field(
        default=0.7,
        metadata={"help": "weight of L_think in [0, 1], or token_share", "own_type_check": True},
    )
    enable: bool = field(default=True, metadata={"help": "false: verl's stock SFTTrainer and sft_loss"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", validate_alpha(self.alpha))


@dataclass(frozen=True)
class SamplerConfig:
    """``funrl.sampler``: how often verl's sync trainer polls its replay buffer for finished rollouts."""

    poll_interval_s: float | None = field(
        default=None,
        metadata={"help": "seconds between polls; None keeps verl's (2.0)", "own_type_check": True},
    )

    def __post_init__(self) -> None:
        poll = self.poll_interval_s
        if poll is None:
            return
        if not (_is_number(poll) and math.isfinite(poll) and 0 < poll <= 60):
            raise ValueError(
                f"funrl.sampler.poll_interval_s must be null or a number in (0, 60], got {poll!r}"
            )
        object.__setattr__(self, "poll_interval_s", float(poll))


@dataclass(frozen=True)
class FunRLConfig:
    """The whole ``funrl`` block."""

    entropy: EntropyConfig = field(default_factory=EntropyConfig)
    cot: CotConfig = field(default_factory=CotConfig)
    srml: SrmlConfig = field(default_factory=SrmlConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)


SECTIONS: dict[str, type] = {
    "entropy": EntropyConfig,
    "cot": CotConfig,
    "srml": SrmlConfig,
    "sampler": SamplerConfig,
}


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _type_ok(default: Any, value: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return _is_number(value)
    return isinstance(value, type(default))


def _section(cls: type, values: Mapping[str, Any] | None, where: str) -> Any:
    values = dict(values or {})
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(f'{where}.{k}' for k in unknown)}; known: {sorted(known)}"
        )
    for name, value in values.items():
        default = known[name].default
        if known[name].metadata.get("own_type_check"):
            continue  # e.g. a float or the string token_share: the dataclass's __post_init__ checks it
        if not _type_ok(default, value):
            raise ValueError(f"{where}.{name} must be a {type(default).__name__}, got {value!r}")
        if isinstance(default, float):
            values[name] = float(value)
    return cls(**values)


def funrl_config_from(config: Mapping[str, Any] | None) -> FunRLConfig:
    """Build (and so check) the ``funrl`` block of a full training config (OmegaConf DictConfig or dict).

    Missing sections or keys take the defaults; unknown sections and keys, wrong types and values out of
    range raise ValueError naming the key.
    """
    block = (config or {}).get("funrl") or {}
    unknown = sorted(set(block) - set(SECTIONS))
    if unknown:
        raise ValueError(
            f"unknown section(s) {', '.join(f'funrl.{k}' for k in unknown)}; known: {sorted(SECTIONS)}"
        )
    return FunRLConfig(
        **{name: _section(cls, block.get(name), f"funrl.{name}") for name, cls in SECTIONS.items()}
    )


__all__ = [
    "ENTROPY_FORMS",
    "TOKEN_SHARE",
    "CotConfig",
    "EntropyConfig",
    "FunRLConfig",
    "SamplerConfig",
    "SrmlConfig",
    "funrl_config_from",
    "validate_alpha",
]
