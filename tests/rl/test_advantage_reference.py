"""The blocked, fused entropy shaping (funrl.rl.advantage) against a straightforward whole-batch reference.

The reference is the formulas written the obvious way (``torch.where`` on bool masks, a Python loop over
groups, a tensor-bound clamp), with nothing shared with the module under test. The module shapes rows in
cache-sized blocks with fused passes; results must agree to float32 round-off, statistics included, on
random batches and on the edge cases: no CoT at all, groups of one, equal rewards, padding rows, holes in
the response mask, CoT and entropy outside the response, bool and float masks, blocks of one row and a
ragged last block.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from funrl.rl import advantage as module
from funrl.rl.advantage import entropy_shaped_grpo_advantage

FORMS = ("sequence", "token")


def reference(batch: dict, *, alpha: float, kappa: float, form: str, norm: bool, eps: float = 1e-6):
    """Shaped advantages (bs, T) and statistics, computed on the whole batch the obvious way."""
    rewards, entropy = batch["token_level_rewards"], batch["entropy"]
    mask = batch["response_mask"].bool()  # (bs, T)
    cot = batch["cot_mask"] & mask  # (bs, T)
    scores = rewards.sum(dim=-1)  # (bs,)
    labels = list(batch["index"])
    adv = torch.empty_like(scores)
    for label in set(labels):
        rows = [i for i, other in enumerate(labels) if other == label]
        group = scores[rows]
        mean, std = (0.0, 1.0) if len(rows) == 1 else (group.mean(), group.std())
        adv[rows] = (group - mean) / (std + eps) if norm else group - mean
    cap = (adv.abs() / kappa).unsqueeze(-1)  # (bs, 1)
    n_cot = cot.sum(dim=-1)  # (bs,)
    if form == "sequence":
        mean_h = torch.where(cot, entropy, 0.0).sum(dim=-1, keepdim=True) / n_cot.clamp(min=1).unsqueeze(-1)
        added = alpha * torch.clamp(mean_h.clamp(min=0.0), min=-cap, max=cap).expand_as(entropy)
        added = torch.where(mask, added, 0.0)  # (bs, T)
    else:
        added = torch.where(cot, torch.clamp(alpha * entropy, min=torch.zeros_like(cap), max=cap), 0.0)
    out = torch.where(mask, adv.unsqueeze(-1) + added, 0.0)  # (bs, T)

    real = mask.any(dim=-1)  # (bs,)
    tokens = max(int(mask.sum()), 1)
    n_real = max(int(real.sum()), 1)
    groups = {}
    for i in torch.nonzero(real).flatten().tolist():
        groups.setdefault(labels[i], []).append(float(scores[i]))
    stats = {
        "entropy_bonus_mean": float(added.double().sum()) / tokens,
        "cot_entropy_mean": float(entropy.double()[cot].sum()) / max(int(n_cot.sum()), 1),
        "cot_tokens_mean": int(n_cot.sum()) / n_real,
        "cot_response_frac": int((n_cot > 0).sum()) / n_real,
        "adv_changed_token_frac": int(((added != 0) & mask).sum()) / tokens,
        "all_equal_group_frac": sum(len(g) >= 2 and len(set(g)) == 1 for g in groups.values())
        / max(len(groups), 1),
    }
    return out, stats


def random_batch(seed: int, *, sizes: list[int], seq_len: int, binary: bool = True) -> dict:
    """Groups of the given sizes, interleaved; ragged responses with holes; CoT spans; some padding rows."""
    gen = torch.Generator().manual_seed(seed)
    labels = [f"g{g}" for g, size in enumerate(sizes) for _ in range(size)]
    order = torch.randperm(len(labels), generator=gen).tolist()
    index = np.array([labels[i] for i in order], dtype=object)
    bs = len(index)
    positions = torch.arange(seq_len).unsqueeze(0)  # (1, T)
    lengths = torch.randint(0, seq_len + 1, (bs,), generator=gen)  # (bs,)  0: a padding row
    mask = (positions < lengths.unsqueeze(1)) & (torch.rand(bs, seq_len, generator=gen) > 0.05)  # holes
    rewards = (torch.rand(bs, generator=gen) < 0.5).float() if binary else torch.randn(bs, generator=gen)
    token_level_rewards = torch.zeros(bs, seq_len)
    token_level_rewards[:, -1] = rewards * mask.any(dim=-1)  # padding rows score 0
    start = torch.randint(0, seq_len, (bs,), generator=gen).unsqueeze(1)
    stop = start + torch.randint(0, seq_len, (bs,), generator=gen).unsqueeze(1)
    cot_mask = (positions >= start) & (positions < stop)  # (bs, T)  also outside the response
    entropy = torch.rand(bs, seq_len, generator=gen) * 3 - 0.01  # a little round-off below 0 too
    return {
        "token_level_rewards": token_level_rewards,
        "response_mask": mask.long(),
        "index": index,
        "entropy": entropy,
        "cot_mask": cot_mask,
    }


def assert_matches_reference(batch: dict, **settings) -> dict:
    adv, ret, stats = entropy_shaped_grpo_advantage(**batch, **settings)
    norm = settings.pop("norm_adv_by_std", True)
    expected, expected_stats = reference(batch, norm=norm, **settings)
    assert ret is adv
    torch.testing.assert_close(adv, expected, rtol=1e-6, atol=1e-6)
    assert adv[~batch["response_mask"].bool()].count_nonzero() == 0
    assert stats.keys() == expected_stats.keys()
    for key, value in expected_stats.items():
        assert stats[key] == pytest.approx(value, rel=1e-5, abs=1e-7), key
    return stats


@pytest.mark.parametrize("chunk", [64, 1 << 16])  # blocks of a few rows (a ragged last one) and one block
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("seed", range(4))
def test_random_batches(monkeypatch, seed, form, chunk):
    monkeypatch.setattr(module, "CHUNK_ELEMENTS", chunk)
    sizes = [8] * 6 if seed % 2 == 0 else [1, 2, 3, 5, 8, 1, 4]
    batch = random_batch(seed, sizes=sizes, seq_len=24, binary=seed < 2)
    assert_matches_reference(batch, alpha=0.4, kappa=2.0, form=form, norm_adv_by_std=seed % 3 != 0)


@pytest.mark.parametrize("form", FORMS)
def test_rows_longer_than_a_block(monkeypatch, form):
    monkeypatch.setattr(module, "CHUNK_ELEMENTS", 16)  # T = 40 > 16: blocks of one row
    batch = random_batch(11, sizes=[4, 4, 1], seq_len=40)
    assert_matches_reference(batch, alpha=0.8, kappa=1.5 if form == "token" else 2.0, form=form)


@pytest.mark.parametrize("form", FORMS)
def test_no_cot_anywhere_is_plain_grpo(form):
    batch = random_batch(3, sizes=[8, 8, 8], seq_len=16)
    batch["cot_mask"] = torch.zeros_like(batch["cot_mask"])
    stats = assert_matches_reference(batch, alpha=0.4, kappa=2.0, form=form)
    plain, _, _ = entropy_shaped_grpo_advantage(**batch, alpha=0.0, form=form)
    assert torch.equal(entropy_shaped_grpo_advantage(**batch, form=form)[0], plain)
    assert stats["cot_response_frac"] == 0.0 and stats["entropy_bonus_mean"] == 0.0
    assert stats["adv_changed_token_frac"] == 0.0 and stats["cot_entropy_mean"] == 0.0


@pytest.mark.parametrize("form", FORMS)
def test_groups_of_one_and_equal_rewards(form):
    batch = random_batch(5, sizes=[1, 1, 1, 4, 4], seq_len=12)
    scores = torch.tensor([1.0 if label in ("g3",) else 0.5 for label in batch["index"]])  # g3, g4 equal
    batch["token_level_rewards"] = torch.zeros_like(batch["token_level_rewards"])
    batch["token_level_rewards"][:, 0] = scores
    batch["response_mask"][:, 0] = 1  # no padding rows here: every group counts
    stats = assert_matches_reference(batch, alpha=0.4, kappa=2.0, form=form)
    assert stats["all_equal_group_frac"] == pytest.approx(2 / 5)
    adv, _, _ = entropy_shaped_grpo_advantage(**batch, form=form)
    equal_rows = torch.tensor([label in ("g3", "g4") for label in batch["index"]])
    assert adv[equal_rows].count_nonzero() == 0  # A = 0: no bonus either
    single = ~equal_rows  # a group of one: A = score (mean 0, std 1), and the bonus acts
    assert (adv[single][:, 0] >= 0.5 / (1 + 1e-6) - 1e-7).all()


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("dtype", [torch.bool, torch.float32, torch.int32])
def test_mask_dtypes(form, dtype):
    batch = random_batch(7, sizes=[8, 8], seq_len=20)
    batch["response_mask"] = batch["response_mask"].to(dtype)
    assert_matches_reference(batch, alpha=0.4, kappa=2.0, form=form, norm_adv_by_std=False)


@pytest.mark.parametrize("form", FORMS)
def test_all_padding_rows(form):
    batch = random_batch(9, sizes=[4, 4], seq_len=10)
    batch["response_mask"] = torch.zeros_like(batch["response_mask"])
    batch["token_level_rewards"] = torch.zeros_like(batch["token_level_rewards"])
    adv, _, stats = entropy_shaped_grpo_advantage(**batch, form=form)
    assert adv.count_nonzero() == 0
    assert all(value == 0.0 for value in stats.values())


@pytest.mark.parametrize("form", FORMS)
def test_runs_the_blocks_on_one_thread_and_restores_the_callers_setting(form):
    batch = random_batch(13, sizes=[8, 8], seq_len=16)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        adv, _, _ = entropy_shaped_grpo_advantage(**batch, form=form)
        assert torch.get_num_threads() == 2
        bad = dict(batch, entropy=torch.full_like(batch["entropy"], float("nan")))
        with pytest.raises(ValueError, match="NaN"):
            entropy_shaped_grpo_advantage(**bad, form=form)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    expected, _ = reference(batch, alpha=0.4, kappa=2.0, form=form, norm=True)
    torch.testing.assert_close(adv, expected, rtol=1e-6, atol=1e-6)
