"""verl plugin: registers the advantage estimator ``grpo_entropy``.

verl imports this module on every ``import verl`` through the entry point

    [project.entry-points."verl.plugins"]
    funrl = "funrl.rl.estimator"

so ``algorithm.adv_estimator=grpo_entropy`` resolves in the driver and in every Ray worker with no import
in user code. The module is cheap (standard library at import; the registration imports verl's
``core_algos``, which training imports anyway) and never breaks ``import verl``: a failure to register is
logged as a warning (verl itself would only log it at debug level), and ``funrl.rl.trainer_hook`` imports
this module directly, so the estimator is also there with ``VERL_USE_EXTERNAL_PLUGINS=none``.

verl hands a registered estimator only ``token_level_rewards``, ``response_mask``, ``index`` and
``config``, never the per-token entropy. The trainer hook (``funrl.rl.trainer_hook.FunRLTrainerSync``)
fetches the entropy and the CoT mask and hands them over for the duration of one advantage computation
through ``entropy_inputs(...)`` (a context variable, so nothing leaks between steps). Used without the
hook, the estimator fails loudly and says how to run it.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from funrl.config import EntropyConfig

ESTIMATOR_NAME = "grpo_entropy"

logger = logging.getLogger(__name__)


@dataclass
class EntropyInputs:
    """What the trainer hook hands the estimator for one batch (rows in the order verl passes them).

    entropy: (bs, T) per-token entropy of the policy that sampled the responses (verl's old log-prob pass).
    cot_mask: (bs, T) bool, True on chain-of-thought tokens.
    response_mask: (bs, T) the response mask the two above were built with (a consistency check: verl's
        mask must lie within it); bool is cheapest (the hook passes bool).
    settings: ``funrl.entropy``.
    stats: filled by the estimator with ``funrl.rl.advantage`` statistics, for the step's metrics.
    """

    entropy: torch.Tensor
    cot_mask: torch.Tensor
    response_mask: torch.Tensor
    settings: EntropyConfig
    stats: dict[str, float] = field(default_factory=dict)


_INPUTS: contextvars.ContextVar[EntropyInputs | None] = contextvars.ContextVar(
    "funrl_entropy_inputs", default=None
)


@contextlib.contextmanager
def entropy_inputs(inputs: EntropyInputs) -> Iterator[EntropyInputs]:
    """Make ``inputs`` visible to the ``grpo_entropy`` estimator inside the ``with`` block."""
    token = _INPUTS.set(inputs)
    try:
        yield inputs
    finally:
        _INPUTS.reset(token)


def compute_grpo_entropy_advantage(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index: Any = None,
    epsilon: float = 1e-6,
    norm_adv_by_std_in_grpo: bool = True,
    config: Any = None,
    **unused: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """verl advantage estimator ``grpo_entropy``: GRPO plus the clipped CoT-entropy bonus.

    Signature as verl's GRPO estimator: token_level_rewards (bs, T), response_mask (bs, T), index (bs,)
    -> advantages (bs, T), returns (bs, T). Entropy, CoT mask and settings come from ``entropy_inputs``.
    ``norm_adv_by_std_in_grpo`` is read from ``config`` (verl's algorithm block) when it is there,
    because verl's generic call path does not pass it.
    """
    from funrl.rl.advantage import MaskOutsideError, entropy_shaped_grpo_advantage

    inputs = _INPUTS.get()
    if inputs is None:
        raise RuntimeError(
            f"algorithm.adv_estimator={ESTIMATOR_NAME} needs the policy's per-token entropy, which verl does "
            "not pass to advantage estimators. Run training through FunRL's trainer hook: "
            "`python -m funrl.train ...`, or verl.trainer.main_ppo.run_ppo(config, "
            "task_runner_class=funrl.rl.trainer_hook.FunRLTaskRunner)."
        )
    if index is None:
        raise RuntimeError(f"{ESTIMATOR_NAME}: verl passed no group index (uid); GRPO needs one per response")
    if tuple(inputs.entropy.shape) != tuple(token_level_rewards.shape):
        raise RuntimeError(
            f"{ESTIMATOR_NAME}: entropy is {tuple(inputs.entropy.shape)} but the rewards are "
            f"{tuple(token_level_rewards.shape)}: the hook's batch does not line up with verl's"
        )
    if config is not None:
        norm_adv_by_std_in_grpo = bool(getattr(config, "norm_adv_by_std_in_grpo", norm_adv_by_std_in_grpo))
    settings = inputs.settings
    device = token_level_rewards.device
    try:
        advantages, returns, stats = entropy_shaped_grpo_advantage(
            token_level_rewards,
            response_mask,
            index,
            inputs.entropy.to(device),
            # CoT tokens that rollout correction dropped from verl's response_mask get no bonus: the
            # shaping ignores CoT outside the response mask it is given
            inputs.cot_mask.to(device),
            alpha=settings.alpha,
            kappa=settings.kappa,
            form=settings.form,
            norm_adv_by_std=norm_adv_by_std_in_grpo,
            epsilon=epsilon,
            # verl's mask may lack tokens of the hook's (rollout correction drops some), never have more:
            # checked inside the shaping's block loop, one read of the hook's (bool) mask
            within=inputs.response_mask.to(device),
        )
    except MaskOutsideError as error:
        raise RuntimeError(
            f"{ESTIMATOR_NAME}: verl's response_mask has tokens the hook's does not: rows misaligned ({error})"
        ) from None
    inputs.stats.update(stats)
    return advantages, returns


def register() -> None:
    """Register ``grpo_entropy`` with verl (idempotent)."""
    from verl.trainer.ppo.core_algos import register_adv_est

    register_adv_est(ESTIMATOR_NAME)(compute_grpo_entropy_advantage)


try:
    register()
except Exception:  # never break `import verl`; the trainer hook re-registers and fails loudly there
    logger.warning(
        "funrl: could not register the %s advantage estimator with verl", ESTIMATOR_NAME, exc_info=True
    )
