"""The registered ``grpo_entropy`` estimator on masks that differ from the hook's (funrl.rl.estimator).

Rollout correction may drop tokens from verl's response mask after the hook built the CoT mask: those
tokens get no bonus and nothing fails. A token in verl's mask that the hook's lacks means the rows do not
line up, and the estimator refuses. Hand-built case: two responses to one prompt, rewards 1 and 0, T = 4,
every token a CoT token with entropy 0.2 (token form, alpha = 0.4, kappa = 2, no std division):
A = +-0.5, psi = min(0.4 * 0.2, 0.25) = 0.08 on each CoT token.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from funrl.config import EntropyConfig
from funrl.rl.estimator import EntropyInputs, compute_grpo_entropy_advantage, entropy_inputs

REWARDS = torch.tensor([[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
HOOK_MASK = torch.ones(2, 4, dtype=torch.long)
INDEX = np.array(["p", "p"], dtype=object)


def run(verl_mask: torch.Tensor) -> torch.Tensor:
    inputs = EntropyInputs(
        entropy=torch.full((2, 4), 0.2),
        cot_mask=torch.ones(2, 4, dtype=torch.bool),
        response_mask=HOOK_MASK,
        settings=EntropyConfig(form="token", alpha=0.4, kappa=2.0),
    )
    with entropy_inputs(inputs):
        adv, _ = compute_grpo_entropy_advantage(REWARDS, verl_mask, INDEX, norm_adv_by_std_in_grpo=False)
    return adv


def test_equal_masks():
    expected = torch.tensor([[0.58] * 4, [-0.42] * 4])
    torch.testing.assert_close(run(HOOK_MASK.clone()), expected, rtol=0, atol=1e-7)


def test_tokens_dropped_by_verl_get_nothing():
    verl_mask = HOOK_MASK.clone()
    verl_mask[0, 1] = 0  # rollout correction dropped a CoT token of row 0
    expected = torch.tensor([[0.58, 0.0, 0.58, 0.58], [-0.42] * 4])
    torch.testing.assert_close(run(verl_mask), expected, rtol=0, atol=1e-7)


@pytest.mark.parametrize("dtype", [torch.long, torch.bool])
def test_a_token_the_hook_lacks_is_refused(dtype):
    hook_short = HOOK_MASK.clone()
    hook_short[1, 3] = 0
    inputs = EntropyInputs(
        entropy=torch.full((2, 4), 0.2),
        cot_mask=torch.ones(2, 4, dtype=torch.bool),
        response_mask=hook_short,
        settings=EntropyConfig(form="token"),
    )
    with entropy_inputs(inputs), pytest.raises(RuntimeError, match="rows misaligned"):
        compute_grpo_entropy_advantage(REWARDS, HOOK_MASK.to(dtype), INDEX)
