"""Guard against ``grpo_entropy`` quietly running as plain GRPO: steps where no response has a CoT span.

The entropy bonus acts on the tokens inside a closed ``<think> ... </think>`` span (``funrl.rl.cot_mask``).
When no response of a step has one (a base model without the SFT warm start, every response truncated at
``data.max_response_length`` before ``</think>``, a model writing other tags than ``funrl.cot``'s), every
bonus is zero and the step is plain GRPO; only the metric ``funrl/cot_response_frac`` = 0 shows it.

``NoCotGuard`` logs a warning on the first step of each such run of steps and raises ``NoCotError`` when
``funrl.entropy.no_cot_stop_after`` steps in a row had no CoT (0 switches the stop off; the warning stays).
The trainer hook (``funrl.rl.trainer_hook``) feeds it each step's ``cot_response_frac``. Pure Python.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)

STOP_KEY = "funrl.entropy.no_cot_stop_after"


class NoCotError(RuntimeError):
    """Raised by ``NoCotGuard`` after too many consecutive steps without a CoT span in any response."""


@dataclass
class NoCotGuard:
    """Count consecutive no-CoT steps; warn on the first, raise ``NoCotError`` on the ``stop_after``-th.

    stop_after: consecutive steps without any CoT span that stop training (0: never stop, only warn).
    open_tag, close_tag, starts_inside: ``funrl.cot``, named in the message.
    """

    stop_after: int
    open_tag: str = "<think>"
    close_tag: str = "</think>"
    starts_inside: bool = False
    consecutive: int = 0

    def observe(self, cot_response_frac: float, step: int | None = None) -> int:
        """Record one step's share of responses with a CoT span; return the consecutive no-CoT steps."""
        if cot_response_frac > 0:
            self.consecutive = 0
            return 0
        self.consecutive += 1
        if self.stop_after and self.consecutive >= self.stop_after:
            raise NoCotError(
                f"grpo_entropy stopped: {self.consecutive} steps in a row (up to step {step}) without a "
                f"single response holding a closed {self.open_tag}...{self.close_tag} span, so the entropy "
                f"bonus was zero and training was plain GRPO. {self._causes()} To train on regardless, "
                f"set {STOP_KEY}=0 (warn only) or a larger number."
            )
        if self.consecutive == 1:
            logger.warning(
                "funrl: step %s: no response has a closed %s...%s span: the grpo_entropy bonus is zero, this "
                "step is plain GRPO (funrl/cot_response_frac=0). %s Training stops after %s such steps in a "
                "row (%s; 0 = never).",
                step,
                self.open_tag,
                self.close_tag,
                self._causes(),
                self.stop_after or "no",
                STOP_KEY,
            )
        return self.consecutive

    def _causes(self) -> str:
        inside = "true" if self.starts_inside else "false"
        return (
            "Likely causes: a base model without the SFT warm start (train sft_srml first); responses cut "
            f"at data.max_response_length before {self.close_tag} (see response_length/clip_ratio); the "
            f"model writes other tags than funrl.cot.open_tag/close_tag; funrl.cot.starts_inside={inside} "
            "does not match the chat template (true when its generation prompt ends with the open tag)."
        )


__all__ = ["STOP_KEY", "NoCotError", "NoCotGuard"]
