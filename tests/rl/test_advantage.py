"""Entropy-augmented GRPO advantage (funrl.rl.advantage): hand-computed cases, verl equivalence, properties."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage

from funrl.rl.advantage import MaskOutsideError, entropy_shaped_grpo_advantage

FORMS = ("sequence", "token")


def random_batch(seed: int, *, n_groups: int, group_size: int | None, seq_len: int, binary: bool) -> dict:
    """A random GRPO batch: ragged response lengths, CoT spans, padding, unequal groups if group_size=None."""
    gen = torch.Generator().manual_seed(seed)
    if group_size is None:
        sizes = torch.randint(1, 6, (n_groups,), generator=gen).tolist()
    else:
        sizes = [group_size] * n_groups
    labels = [f"uid{g}" for g, size in enumerate(sizes) for _ in range(size)]
    order = torch.randperm(len(labels), generator=gen).tolist()  # groups interleaved, as after balancing
    index = np.array([labels[i] for i in order], dtype=object)
    bs = len(index)
    lengths = torch.randint(1, seq_len + 1, (bs,), generator=gen)  # (bs,)
    positions = torch.arange(seq_len).unsqueeze(0)  # (1, T)
    response_mask = (positions < lengths.unsqueeze(1)).long()  # (bs, T)
    if binary:
        rewards = (torch.rand(bs, generator=gen) < 0.5).float()
    else:
        rewards = torch.randn(bs, generator=gen)
    token_level_rewards = torch.zeros(bs, seq_len)
    token_level_rewards[torch.arange(bs), lengths - 1] = rewards
    start = torch.randint(0, seq_len, (bs,), generator=gen)
    stop = start + torch.randint(0, seq_len, (bs,), generator=gen)
    cot_mask = (positions >= start.unsqueeze(1)) & (positions < stop.unsqueeze(1)) & response_mask.bool()
    entropy = torch.rand(bs, seq_len, generator=gen) * 3  # (bs, T), also off the response: must be ignored
    return {
        "token_level_rewards": token_level_rewards,
        "response_mask": response_mask,
        "index": index,
        "entropy": entropy,
        "cot_mask": cot_mask,
    }


def verl_grpo(batch: dict, norm: bool) -> torch.Tensor:
    adv, _ = compute_grpo_outcome_advantage(
        token_level_rewards=batch["token_level_rewards"].clone(),
        response_mask=batch["response_mask"],
        index=batch["index"],
        norm_adv_by_std_in_grpo=norm,
    )
    return adv


def loop_reference(batch: dict, *, alpha: float, kappa: float, form: str, norm: bool, eps: float = 1e-6):
    """The published formulas, one response and one token at a time, in float64."""
    rewards = batch["token_level_rewards"].double()
    mask = batch["response_mask"]
    entropy = batch["entropy"].double()
    cot = batch["cot_mask"]
    index = list(batch["index"])
    bs, seq_len = rewards.shape
    scores = [float(rewards[i].sum()) for i in range(bs)]
    out = torch.zeros(bs, seq_len, dtype=torch.float64)
    for i in range(bs):
        group = [scores[j] for j in range(bs) if index[j] == index[i]]
        mean, std = (0.0, 1.0) if len(group) == 1 else (statistics.mean(group), statistics.stdev(group))
        a = (scores[i] - mean) / (std + eps) if norm else scores[i] - mean
        cot_h = [float(entropy[i, t]) for t in range(seq_len) if cot[i, t] and mask[i, t]]
        for t in range(seq_len):
            if not mask[i, t]:
                continue
            if form == "sequence":
                h = max(sum(cot_h) / len(cot_h), 0.0) if cot_h else 0.0
                out[i, t] = a + alpha * min(max(h, -abs(a) / kappa), abs(a) / kappa)
            else:
                psi = max(min(alpha * float(entropy[i, t]), abs(a) / kappa), 0.0) if cot[i, t] else 0.0
                out[i, t] = a + psi
    return out


# ---------------------------------------------------------------- hand-computed cases

# Two responses to one prompt, rewards 1 and 0, T = 5. Row 0: 4 response tokens, CoT = tokens 1, 2
# (entropies 0.2, 0.6), token 4 is padding. Row 1: 3 response tokens, CoT = token 0 (entropy 0.1).
# Entropy 5.0 off the CoT must be ignored.
HAND = {
    "token_level_rewards": torch.tensor([[0, 0, 0, 1.0, 0], [0, 0, 0.0, 0, 0]]),
    "response_mask": torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]]),
    "index": np.array(["p", "p"], dtype=object),
    "entropy": torch.tensor([[5.0, 0.2, 0.6, 5.0, 5.0], [0.1, 5.0, 5.0, 5.0, 5.0]]),
    "cot_mask": torch.tensor([[0, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool),
}


def test_hand_case_sequence_form_without_std():
    # A = +-0.5, cap = 0.5 / 2 = 0.25. Row 0: H = 0.4 -> min(0.4, 0.25) = 0.25 -> +0.4 * 0.25 = 0.1.
    # Row 1: H = 0.1 -> +0.4 * 0.1 = 0.04.
    adv, ret, stats = entropy_shaped_grpo_advantage(
        **HAND, alpha=0.4, kappa=2, form="sequence", norm_adv_by_std=False
    )
    expected = torch.tensor([[0.6, 0.6, 0.6, 0.6, 0], [-0.46, -0.46, -0.46, 0, 0]])
    torch.testing.assert_close(adv, expected, rtol=0, atol=1e-7)
    assert ret is adv
    assert stats["entropy_bonus_mean"] == pytest.approx((4 * 0.1 + 3 * 0.04) / 7, abs=1e-7)
    assert stats["cot_entropy_mean"] == pytest.approx((0.2 + 0.6 + 0.1) / 3, abs=1e-7)
    assert stats["cot_tokens_mean"] == pytest.approx(1.5)
    assert stats["cot_response_frac"] == 1.0
    assert stats["adv_changed_token_frac"] == 1.0
    assert stats["all_equal_group_frac"] == 0.0


def test_hand_case_token_form_without_std():
    # psi = min(0.4 * H, 0.25): 0.08 and 0.24 on row 0's CoT, 0.04 on row 1's; other tokens keep A.
    adv, _, stats = entropy_shaped_grpo_advantage(
        **HAND, alpha=0.4, kappa=2, form="token", norm_adv_by_std=False
    )
    expected = torch.tensor([[0.5, 0.58, 0.74, 0.5, 0], [-0.46, -0.5, -0.5, 0, 0]])
    torch.testing.assert_close(adv, expected, rtol=0, atol=1e-7)
    assert stats["entropy_bonus_mean"] == pytest.approx((0.08 + 0.24 + 0.04) / 7, abs=1e-7)
    assert stats["adv_changed_token_frac"] == pytest.approx(3 / 7)


def test_hand_case_token_clip_binds():
    batch = dict(HAND, entropy=HAND["entropy"] * 10)  # 0.4 * 2.0 and 0.4 * 6.0 exceed the cap 0.25
    adv, _, _ = entropy_shaped_grpo_advantage(
        **batch, alpha=0.4, kappa=2, form="token", norm_adv_by_std=False
    )
    expected = torch.tensor([[0.5, 0.75, 0.75, 0.5, 0], [-0.25, -0.5, -0.5, 0, 0]])
    torch.testing.assert_close(adv, expected, rtol=0, atol=1e-7)


def test_hand_case_with_std_and_three_groups():
    # Group a: rewards 1, 0, 0 -> mean 1/3, sample std sqrt(1/3); group b: 1, 1 (all equal, A = 0);
    # group c: a single response with reward 1 -> mean 0, std 1 (verl's rule) -> A = 1 / (1 + eps).
    rewards = torch.tensor([1.0, 0, 0, 1, 1, 1])
    batch = {
        "token_level_rewards": rewards.unsqueeze(1).repeat(1, 2) / 2,  # row sums are the rewards
        "response_mask": torch.ones(6, 2, dtype=torch.long),
        "index": np.array(["a", "a", "a", "b", "b", "c"], dtype=object),
        "entropy": torch.full((6, 2), 0.3),
        "cot_mask": torch.tensor([[1, 0]] * 6, dtype=torch.bool),
    }
    adv, _, stats = entropy_shaped_grpo_advantage(**batch, alpha=0.4, kappa=2, form="sequence")
    std_a = math.sqrt(1 / 3)
    a = [(2 / 3) / (std_a + 1e-6), (-1 / 3) / (std_a + 1e-6), (-1 / 3) / (std_a + 1e-6), 0, 0, 1 / (1 + 1e-6)]
    shaped = [x + 0.4 * min(0.3, abs(x) / 2) for x in a]
    torch.testing.assert_close(adv[:, 0], torch.tensor(shaped), rtol=1e-6, atol=1e-7)
    assert torch.equal(adv[:, 0], adv[:, 1])
    assert stats["all_equal_group_frac"] == pytest.approx(1 / 3)  # group b of {a, b, c}


# ---------------------------------------------------------------- verl equivalence


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("norm", [True, False])
@pytest.mark.parametrize("binary", [True, False])
def test_alpha_zero_is_exactly_verl_grpo_for_equal_groups(form, norm, binary):
    for seed in range(8):
        batch = random_batch(seed, n_groups=7, group_size=1 + seed % 8, seq_len=9, binary=binary)
        adv, _, stats = entropy_shaped_grpo_advantage(**batch, alpha=0.0, form=form, norm_adv_by_std=norm)
        assert torch.equal(adv, verl_grpo(batch, norm)), f"seed {seed}"
        assert stats["entropy_bonus_mean"] == 0.0 and stats["adv_changed_token_frac"] == 0.0


@pytest.mark.parametrize("form", FORMS)
def test_alpha_zero_matches_verl_grpo_for_unequal_groups(form):
    for seed in range(8):
        binary = seed % 2 == 0
        batch = random_batch(seed, n_groups=6, group_size=None, seq_len=7, binary=binary)
        adv, _, _ = entropy_shaped_grpo_advantage(**batch, alpha=0.0, form=form)
        if binary:  # 0/1 rewards: the float64 group statistics round to verl's exactly
            assert torch.equal(adv, verl_grpo(batch, True)), f"seed {seed}"
        else:  # at most an ulp apart: float64 scatter-add statistics vs torch.mean over a float32 group
            torch.testing.assert_close(adv, verl_grpo(batch, True), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- loop reference


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("seed", range(12))
def test_vectorised_matches_loop_reference(form, seed):
    gen = torch.Generator().manual_seed(1000 + seed)
    n_groups = int(torch.randint(1, 6, (1,), generator=gen))
    group_size = None if seed % 3 == 0 else int(torch.randint(1, 6, (1,), generator=gen))
    seq_len = int(torch.randint(1, 12, (1,), generator=gen))
    batch = random_batch(
        seed, n_groups=n_groups, group_size=group_size, seq_len=seq_len, binary=seed % 2 == 0
    )
    alpha = float(torch.rand(1, generator=gen)) * (1.0 if form == "sequence" else 3.0)
    kappa = 1.0 + float(torch.rand(1, generator=gen)) * 3
    norm = seed % 4 != 1
    adv, _, _ = entropy_shaped_grpo_advantage(
        **batch, alpha=alpha, kappa=kappa, form=form, norm_adv_by_std=norm
    )
    ref = loop_reference(batch, alpha=alpha, kappa=kappa, form=form, norm=norm)
    torch.testing.assert_close(adv.double(), ref, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- properties


@pytest.mark.parametrize("form", FORMS)
def test_entropy_is_detached(form):
    batch = random_batch(3, n_groups=3, group_size=4, seq_len=6, binary=True)
    logits = torch.randn(12, 6, 5, requires_grad=True)
    entropy = torch.distributions.Categorical(logits=logits).entropy()  # (bs, T), part of a graph
    adv, _, _ = entropy_shaped_grpo_advantage(**dict(batch, entropy=entropy), form=form)
    assert not adv.requires_grad and adv.grad_fn is None
    assert logits.grad is None


@pytest.mark.parametrize("form", FORMS)
def test_zero_where_grpo_advantage_is_zero(form):
    batch = random_batch(5, n_groups=4, group_size=4, seq_len=8, binary=True)
    batch["token_level_rewards"][:4] = 0.0  # group of rows 0..3 after re-labelling below: all rewards 0
    batch["index"] = np.array([f"g{i // 4}" for i in range(16)], dtype=object)
    batch["entropy"] = batch["entropy"] * 100
    adv, _, stats = entropy_shaped_grpo_advantage(**batch, alpha=0.4, form=form)
    assert torch.count_nonzero(adv[:4]) == 0
    assert stats["all_equal_group_frac"] >= 0.25


@pytest.mark.parametrize("form", FORMS)
def test_token_form_changes_only_cot_tokens_sequence_form_whole_responses(form):
    batch = random_batch(11, n_groups=5, group_size=6, seq_len=10, binary=True)
    plain, _, _ = entropy_shaped_grpo_advantage(**batch, alpha=0.0, form=form)
    shaped, _, stats = entropy_shaped_grpo_advantage(**batch, alpha=0.4, form=form)
    changed = shaped != plain
    assert changed.any()
    if form == "token":
        assert not (changed & ~batch["cot_mask"]).any()
    else:
        rows_with_cot = batch["cot_mask"].any(dim=1)
        assert not changed[~rows_with_cot].any()  # no CoT -> no bonus
        assert torch.equal(
            changed[rows_with_cot], (batch["response_mask"].bool() & (plain != 0))[rows_with_cot]
        )
    assert stats["adv_changed_token_frac"] == pytest.approx(
        int(changed.sum()) / int(batch["response_mask"].sum())
    )


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    form=st.sampled_from(FORMS),
    alpha=st.floats(0.0, 2.0),
    kappa=st.floats(2.0, 8.0),
    norm=st.booleans(),
    scale=st.floats(0.0, 50.0),
)
def test_never_flips_sign_and_is_bounded(seed, form, alpha, kappa, norm, scale):
    batch = random_batch(seed, n_groups=3, group_size=None, seq_len=6, binary=seed % 2 == 0)
    batch["entropy"] = batch["entropy"] * scale - 1e-6  # also slightly negative round-off entropies
    plain, _, _ = entropy_shaped_grpo_advantage(**batch, alpha=0.0, form=form, norm_adv_by_std=norm)
    adv, _, _ = entropy_shaped_grpo_advantage(
        **batch, alpha=alpha, kappa=kappa, form=form, norm_adv_by_std=norm
    )
    assert (torch.sign(adv) * torch.sign(plain) >= 0).all()  # a bound equal to |A| may reach 0, never past
    assert torch.count_nonzero(adv[plain == 0]) == 0
    bonus = adv - plain
    bound = plain.abs() / kappa * (alpha if form == "sequence" else 1.0)
    assert (bonus >= 0).all() and (bonus <= bound + 1e-6).all()


@pytest.mark.parametrize("form", FORMS)
def test_cot_outside_the_response_is_ignored(form):
    batch = random_batch(21, n_groups=3, group_size=3, seq_len=8, binary=True)
    inside, _, inside_stats = entropy_shaped_grpo_advantage(**batch, form=form)
    spill = batch["cot_mask"] | ~batch["response_mask"].bool()  # CoT on every padding token too
    spilled, _, spilled_stats = entropy_shaped_grpo_advantage(**dict(batch, cot_mask=spill), form=form)
    assert torch.equal(inside, spilled)
    assert inside_stats == spilled_stats


def test_padding_rows_are_left_out_of_statistics():
    batch = {k: v for k, v in HAND.items()}
    batch["token_level_rewards"] = torch.cat([HAND["token_level_rewards"], torch.zeros(2, 5)])
    batch["response_mask"] = torch.cat([HAND["response_mask"], torch.zeros(2, 5, dtype=torch.long)])
    batch["index"] = np.array(["p", "p", "pad", "pad"], dtype=object)
    batch["entropy"] = torch.cat([HAND["entropy"], torch.ones(2, 5)])
    batch["cot_mask"] = torch.cat([HAND["cot_mask"], torch.zeros(2, 5, dtype=torch.bool)])
    adv, _, stats = entropy_shaped_grpo_advantage(
        **batch, alpha=0.4, kappa=2, form="sequence", norm_adv_by_std=False
    )
    assert torch.count_nonzero(adv[2:]) == 0
    assert stats["cot_tokens_mean"] == pytest.approx(1.5)
    assert stats["all_equal_group_frac"] == 0.0  # the padding group does not count


# ---------------------------------------------------------------- loud failures


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"form": "tokens"}, "funrl.entropy.form"),
        ({"alpha": -0.1}, "funrl.entropy.alpha"),
        ({"alpha": float("nan")}, "funrl.entropy.alpha"),
        ({"kappa": 0.0}, "funrl.entropy.kappa"),
        ({"kappa": 0.5, "form": "token"}, "kappa=0.5 < 1"),
        ({"alpha": 3.0, "kappa": 2.0, "form": "sequence"}, "alpha=3.0 > kappa=2.0"),
        ({"entropy": torch.zeros(2, 4)}, "entropy has shape"),
        ({"cot_mask": HAND["cot_mask"].long()}, "cot_mask must be a bool"),
        ({"index": np.array(["p"], dtype=object)}, "index has 1 entries"),
        ({"entropy": torch.full((2, 5), float("nan"))}, "NaN or inf"),
    ],
)
def test_bad_input_fails_loudly(change, message):
    kwargs = dict(HAND, alpha=0.4, kappa=2.0, form="sequence")
    kwargs.update(change)
    with pytest.raises(ValueError, match=message):
        entropy_shaped_grpo_advantage(**kwargs)


# ---------------------------------------------------------------- the ``within`` check (the hook's mask)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("dtype", [torch.bool, torch.long])
def test_within_a_wider_mask_changes_nothing(form, dtype):
    # 300 x 512: 128 rows a block, so three blocks, the last one partial
    batch = random_batch(7, n_groups=60, group_size=5, seq_len=512, binary=True)
    wider = batch["response_mask"].clone()
    wider[:, -40:] = 1  # the hook's mask may hold tokens verl's has dropped
    plain = entropy_shaped_grpo_advantage(**batch, form=form)
    checked = entropy_shaped_grpo_advantage(**batch, form=form, within=wider.to(dtype))
    assert torch.equal(plain[0], checked[0])
    assert plain[2] == checked[2]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("dtype", [torch.bool, torch.long])
def test_a_token_outside_within_is_refused_naming_rows(form, dtype):
    batch = random_batch(7, n_groups=60, group_size=5, seq_len=512, binary=True)
    lengths = batch["response_mask"].sum(-1)
    within = batch["response_mask"].clone()
    for row in (3, 290):  # in the first block and in the last, partial one
        within[row, int(lengths[row]) - 1] = 0  # the response's last token is outside
    with pytest.raises(MaskOutsideError, match=r"row\(s\) 3, 290$"):
        entropy_shaped_grpo_advantage(**batch, form=form, within=within.to(dtype))


def test_within_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"within has shape \(2, 4\), expected \(2, 5\)"):
        entropy_shaped_grpo_advantage(**HAND, within=torch.ones(2, 4, dtype=torch.bool))
