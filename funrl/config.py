"""The ``funrl:`` config block that FunRL reads next to verl's own keys (plain Python, no torch or verl).

    funrl:
      entropy:            # the grpo_entropy advantage estimator (algorithm.adv_estimator=grpo_entropy)
        alpha: 0.4        # bonus coefficient (the sequence form's lambda); 0 = plain GRPO
        kappa: 2.0        # clip ratio: bonus <= alpha*|A|/kappa (sequence) or |A|/kappa (token)
        form: sequence    # sequence (FunRL/EGPO) | token (arXiv 2506.14758)
      cot:                # which response tokens are chain of thought
        open_tag: "<think>"
        close_tag: "</think>"
        starts_inside: false   # true when the chat template's generation prompt ends with open_tag

Unknown keys inside ``funrl.entropy`` and ``funrl.cot`` are errors (a typo such as ``funrl.entropy.apha``
must not silently train with the default); other sections of ``funrl`` belong to other stages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EntropyConfig:
    """``funrl.entropy``: settings of the entropy bonus (published defaults: 0.4 / 2)."""

    alpha: float = field(default=0.4, metadata={"help": "bonus coefficient (lambda in the sequence form)"})
    kappa: float = field(default=2.0, metadata={"help": "clip ratio of the bonus against |A|"})
    form: str = field(default="sequence", metadata={"help": "sequence | token"})


@dataclass(frozen=True)
class CotConfig:
    """``funrl.cot``: how the chain of thought is delimited in a response."""

    open_tag: str = field(default="<think>", metadata={"help": "opening CoT tag"})
    close_tag: str = field(default="</think>", metadata={"help": "closing CoT tag"})
    starts_inside: bool = field(default=False, metadata={"help": "the prompt already opened the CoT"})


@dataclass(frozen=True)
class FunRLConfig:
    """The whole ``funrl`` block (only the parts the RL trainer reads)."""

    entropy: EntropyConfig = field(default_factory=EntropyConfig)
    cot: CotConfig = field(default_factory=CotConfig)


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
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        else:
            ok = isinstance(value, type(default))
        if not ok:
            raise ValueError(f"{where}.{name} must be a {type(default).__name__}, got {value!r}")
        if isinstance(default, float):
            values[name] = float(value)
    return cls(**values)


def funrl_config_from(config: Mapping[str, Any] | None) -> FunRLConfig:
    """Read and check the ``funrl`` block of a full training config (an OmegaConf DictConfig or a dict).

    Missing block or keys take the defaults; unknown keys and wrong types in ``funrl.entropy`` and
    ``funrl.cot`` raise ValueError naming the key.
    The entropy settings' ranges are checked by ``funrl.advantage.validate_entropy_settings``.
    """
    block = (config or {}).get("funrl") or {}
    return FunRLConfig(
        entropy=_section(EntropyConfig, block.get("entropy"), "funrl.entropy"),
        cot=_section(CotConfig, block.get("cot"), "funrl.cot"),
    )
