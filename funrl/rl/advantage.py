"""Entropy-augmented GRPO advantage over chain-of-thought tokens. Pure torch: no verl, no Ray.

Plain GRPO gives response i of a group G (the responses to one prompt) the scalar

    A_i = (r_i - mean_G(r)) / (std_G(r) + epsilon)      (or r_i - mean_G(r) with norm_adv_by_std=False)

broadcast to its response tokens, exactly as verl's ``compute_grpo_outcome_advantage`` (a group of one
response gets mean 0 and std 1). FunRL adds an exploration term built from the policy's own per-token
entropy H_t over the chain-of-thought (CoT) tokens, i.e. the tokens inside ``<think> ... </think>``
(``funrl.rl.cot_mask``). Two published forms, one switch:

- ``form="sequence"`` (FunRL / EGPO, arXiv 2508.05118, as reproduced on verl): with H_i the mean entropy
  over the CoT tokens of response i,
      A'_i = A_i + alpha * clip(H_i, -|A_i| / kappa, |A_i| / kappa)
  applied to every response token of i (alpha is the papers' lambda).
- ``form="token"`` (arXiv 2506.14758, "Reasoning with Exploration: an Entropy Perspective"), restricted to
  CoT tokens:
      psi_t = min(alpha * H_t, |A_i| / kappa),    A'_t = A_i + psi_t on CoT tokens, A_i elsewhere.

Note where alpha sits: outside the clip in the sequence form (bonus <= alpha |A| / kappa), inside the
min in the token form (bonus <= |A| / kappa). Published settings for both: alpha = 0.4, kappa = 2.

Invariants (each one a test): alpha = 0 gives plain GRPO; entropy is detached; the term is zero where
A = 0 (groups whose rewards are all equal); it is never negative, so it never flips the sign of A as long
as the bound is below |A| (kappa >= 1 in token form, alpha <= kappa in sequence form: checked); a response
without CoT tokens gets no bonus. The term is clamped at 0 from below (the mean CoT entropy in sequence
form, each token's term in token form): a true entropy is never negative, but round-off in the log-softmax
can make it -1e-7. The sequence form's lower clip -|A|/kappa can therefore never bind.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from funrl.config import EntropyConfig


def group_ids(index: np.ndarray | Sequence[Any] | torch.Tensor, device: torch.device) -> torch.Tensor:
    """Map group labels (bs,) of any hashable kind (verl passes uid strings) to dense ids 0..G-1 (bs,)."""
    if isinstance(index, torch.Tensor):
        return torch.unique(index, return_inverse=True)[1].to(device)
    _, inverse = np.unique(np.asarray(index), return_inverse=True)
    return torch.as_tensor(inverse.reshape(-1), dtype=torch.long, device=device)


def group_normalised_scores(
    scores: torch.Tensor, gid: torch.Tensor, *, norm_adv_by_std: bool, epsilon: float
) -> torch.Tensor:
    """GRPO's per-response advantage (bs,) from scores (bs,) and dense group ids gid (bs,).

    Matches verl's looped ``compute_grpo_outcome_advantage`` bit for bit when all groups have the same
    size (the usual GRPO batch: torch's own mean/std over a (G, n) view), and to float32 round-off (an ulp)
    otherwise, where group statistics come from a float64 scatter-add.
    """
    n_groups = int(gid.max()) + 1 if gid.numel() else 0
    counts = torch.bincount(gid, minlength=n_groups)  # (G,)
    if n_groups and bool((counts == counts[0]).all()):
        order = torch.argsort(gid, stable=True)  # (bs,) rows of group 0, then group 1, ...
        grouped = scores[order].view(n_groups, int(counts[0]))  # (G, n)
        if grouped.shape[1] == 1:
            mean = torch.zeros(n_groups, dtype=scores.dtype, device=scores.device)  # (G,)
            std = torch.ones_like(mean)  # (G,)
        else:
            mean, std = grouped.mean(dim=1), grouped.std(dim=1)  # (G,), (G,)
    else:
        s64 = scores.double()  # (bs,)
        total = torch.zeros(n_groups, dtype=torch.float64, device=scores.device).index_add_(0, gid, s64)
        mean64 = total / counts  # (G,)
        dev = s64 - mean64[gid]  # (bs,)
        sq = torch.zeros_like(mean64).index_add_(0, gid, dev * dev)  # (G,)
        std64 = (sq / (counts - 1).clamp(min=1)).sqrt()  # (G,)
        single = counts == 1  # (G,)
        mean = torch.where(single, 0.0, mean64).to(scores.dtype)  # (G,)
        std = torch.where(single, 1.0, std64).to(scores.dtype)  # (G,)
    if norm_adv_by_std:
        return (scores - mean[gid]) / (std[gid] + epsilon)  # (bs,)
    return scores - mean[gid]  # (bs,)


def _check_inputs(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index: np.ndarray | Sequence[Any] | torch.Tensor,
    entropy: torch.Tensor,
    cot_mask: torch.Tensor,
    alpha: float,
    kappa: float,
    form: str,
    within: torch.Tensor | None,
) -> None:
    """Raise ValueError naming the argument on settings or shapes ``entropy_shaped_grpo_advantage`` refuses."""
    EntropyConfig(alpha=alpha, kappa=kappa, form=form)  # the rules of funrl.entropy, in their one home
    bs, seq_len = token_level_rewards.shape
    masks = (
        ("response_mask", response_mask),
        ("entropy", entropy),
        ("cot_mask", cot_mask),
        ("within", within),
    )
    for name, tensor in masks:
        if tensor is not None and tuple(tensor.shape) != (bs, seq_len):
            raise ValueError(
                f"{name} has shape {tuple(tensor.shape)}, expected {(bs, seq_len)} like token_level_rewards"
            )
    if len(index) != bs:
        raise ValueError(f"index has {len(index)} entries, expected {bs} (one per response)")
    if cot_mask.dtype != torch.bool:
        raise ValueError(f"cot_mask must be a bool tensor, got {cot_mask.dtype}")
    if not token_level_rewards.is_floating_point():
        raise ValueError(f"token_level_rewards must be a float tensor, got {token_level_rewards.dtype}")


def entropy_shaped_grpo_advantage(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index: np.ndarray | Sequence[Any] | torch.Tensor,
    entropy: torch.Tensor,
    cot_mask: torch.Tensor,
    *,
    alpha: float = 0.4,
    kappa: float = 2.0,
    form: str = "sequence",
    norm_adv_by_std: bool = True,
    epsilon: float = 1e-6,
    within: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
    """GRPO advantage plus the clipped CoT-entropy bonus.

    Args:
        token_level_rewards: (bs, T) outcome rewards; a response's score is its row sum.
        response_mask: (bs, T) 1 on response tokens, 0 elsewhere (any dtype).
        index: (bs,) group label of each response (verl's ``uid``).
        entropy: (bs, T) per-token entropy of the policy that sampled the response (detached here).
        cot_mask: (bs, T) bool, True on CoT tokens; entries outside ``response_mask`` are ignored.
        alpha: bonus coefficient (the sequence form's lambda). 0 gives plain GRPO.
        kappa: clip ratio: the bonus is bounded by alpha|A|/kappa (sequence) or |A|/kappa (token).
        form: "sequence" or "token" (see the module docstring).
        norm_adv_by_std: divide by the group std (GRPO) or not (Dr.GRPO), as verl's flag.
        epsilon: added to the group std.
        within: optional (bs, T) mask (bool is cheapest) that ``response_mask`` must lie within; checked
            inside the block loop, at the cost of reading it once. Raises ``MaskOutsideError`` naming the
            rows where ``response_mask`` has a token ``within`` lacks (the trainer hook's check that its
            rows line up with verl's).

    Returns:
        advantages: (bs, T), zero outside ``response_mask``.
        returns: (bs, T), the same tensor (as verl's GRPO estimator).
        stats: floats ``entropy_bonus_mean`` (mean added term per response token), ``cot_entropy_mean``
            (mean entropy over all CoT tokens), ``cot_tokens_mean`` (CoT tokens per response),
            ``cot_response_frac`` (responses with a CoT span), ``adv_changed_token_frac`` (response
            tokens whose advantage changed), ``all_equal_group_frac`` (groups of >= 2 responses with equal
            rewards, where the bonus cannot act). Rows with an empty response mask (verl's padding
            samples) are left out of the statistics.
    """
    _check_inputs(token_level_rewards, response_mask, index, entropy, cot_mask, alpha, kappa, form, within)
    bs, seq_len = token_level_rewards.shape
    if within is not None:
        within = within.view(torch.uint8) if within.dtype == torch.bool else (within != 0).view(torch.uint8)

    with torch.no_grad():
        scores = token_level_rewards.sum(dim=-1)  # (bs,)
        gid = group_ids(index, scores.device)  # (bs,)
        adv_i = group_normalised_scores(
            scores, gid, norm_adv_by_std=norm_adv_by_std, epsilon=epsilon
        )  # (bs,)
        # (bs, 1) the bound of the added term (over alpha in sequence form)
        cap = (adv_i.abs() / kappa).unsqueeze(-1)
        advantages = scores.new_empty((bs, seq_len))  # (bs, T)
        rows = scores.new_zeros((len(_ROWS), bs))  # per response: the sums _ROWS names
        step = max(1, CHUNK_ELEMENTS // max(seq_len, 1))  # rows per block
        work = scores.new_empty((3, min(step, bs), seq_len))  # (3, step, T) the block's work space
        token_bonus = form == "token" and alpha != 0
        shape = _token_rows if token_bonus else _sequence_rows
        mask = response_mask.view(torch.uint8) if response_mask.dtype == torch.bool else response_mask
        blocks = zip(  # views of each block of rows, made in one call per tensor
            advantages.split(step),
            mask.split(step),
            cot_mask.view(torch.uint8).split(step),
            entropy.detach().split(step),
            adv_i.unsqueeze(-1).split(step),
            cap.split(step),
            rows.split(step, dim=1),
            (within if within is not None else cot_mask.view(torch.uint8)).split(step),
            strict=True,
        )
        with _one_thread():
            for out, mask_part, cot_part, entropy_part, adv_part, cap_part, sums, within_part in blocks:
                block = work if len(out) == step else work[:, : len(out)]  # (3, r, T)
                valid = block[0].copy_(mask_part)  # (r, T) 1.0 on response tokens
                block[1].copy_(cot_part).mul_(valid)  # (r, T) 1.0 on CoT tokens inside the response
                shape(out, block, entropy_part, adv_part, cap_part, sums, alpha)
                if within is not None:  # block[1] is free again: response tokens also in ``within``
                    # a same-dtype multiply after a cast: a float x uint8 multiply is ~1.5x slower
                    torch.sum(block[1].copy_(within_part).mul_(valid), dim=-1, out=sums[_WITHIN])
        if within is not None:
            _check_within(rows)
        _finish_sums(rows, alpha, token_bonus)
        stats = _statistics(gid, scores, rows)
    return advantages, advantages, stats


CHUNK_ELEMENTS = 1 << 16
"""Rows are shaped in blocks of about this many (bs, T) elements, so that a block's work space (three
(r, T) float32 tensors, the block of advantages, entropy and masks: about 1.5 MiB) stays in a core's L2
cache through the few passes over it: the inputs are read from memory once and the advantages written
once, as in verl's ``grpo_vectorized`` (benchmarks/advantage.py, docs/estimator.md)."""


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread inside the block loop, and restore the caller's setting after it.

    The loop makes ~10 small torch calls per block; with several threads each is a parallel region that
    waits for every thread, and on a busy host a descheduled thread stalls each of them: 7-22x verl's
    ``grpo_vectorized`` with 2 threads on a loaded 2-core machine, against 1.1-1.5x on one thread. verl's driver runs
    advantages on one thread anyway (a Ray actor without CPUs gets ``OMP_NUM_THREADS=1``).
    """
    threads = torch.get_num_threads()
    if threads > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if threads > 1:
            torch.set_num_threads(threads)


_ROWS = ("n_valid", "n_cot", "cot_entropy", "within", "changed", "bonus")
_N_VALID, _N_COT, _COT_ENTROPY, _WITHIN, _CHANGED, _BONUS = range(len(_ROWS))
"""Rows of the (6, bs) per-response sums: response tokens, CoT tokens, entropy summed over the CoT
tokens, response tokens also in ``within`` (when given), tokens whose advantage the term changed, the term
summed over the response's tokens. The first three are the block's three work slots, summed in one call."""


class MaskOutsideError(ValueError):
    """``response_mask`` has tokens that ``within`` lacks (the hook's rows do not line up with verl's)."""


def _check_within(rows: torch.Tensor) -> None:
    """Raise MaskOutsideError unless every response token is also in ``within``: per row, the count of
    response tokens equals the count of those also in ``within`` (float32 counts, exact below 2^24)."""
    outside = torch.nonzero(rows[_WITHIN] != rows[_N_VALID]).flatten()  # (k,)
    if outside.numel():
        shown = ", ".join(str(int(i)) for i in outside[:5])
        more = f" and {outside.numel() - 5} more" if outside.numel() > 5 else ""
        raise MaskOutsideError(f"response_mask has tokens outside `within` in row(s) {shown}{more}")


def _sequence_rows(
    out: torch.Tensor,
    block: torch.Tensor,
    entropy: torch.Tensor,
    adv: torch.Tensor,
    cap: torch.Tensor,
    sums: torch.Tensor,
    alpha: float,
) -> None:
    """Sequence form on a block of r rows: ``out`` (r, T) gets A_i + alpha * clip(H_i, -cap_i, cap_i) on
    the response, 0 elsewhere. block: (3, r, T) holding the response and CoT masks (0/1 floats) and work
    space; entropy (r, T); adv, cap: (r, 1); sums: (6, r), written in place, its _BONUS row with
    clip(H_i, -cap_i, cap_i) (the bonus over alpha). Also plain GRPO for the token form with alpha = 0.
    Passes over the block: the entropy multiply, one sum of the three (r, T) tensors, the output."""
    valid, cot, cot_h = block.unbind()
    torch.mul(cot, entropy, out=cot_h)  # (r, T) entropy on CoT tokens, 0 elsewhere
    torch.sum(block, dim=-1, out=sums[:3])  # _N_VALID, _N_COT, _COT_ENTROPY
    # the per-row work written in place into the _BONUS row (r,): no allocation, four small calls
    bonus = sums[_BONUS]
    torch.clamp(sums[_N_COT], min=1, out=bonus)
    torch.div(sums[_COT_ENTROPY], bonus, out=bonus)  # mean H_i, 0 where the row has no CoT
    # clip(H_i, -cap, cap) = min(H_i, cap) as H_i >= 0 (clamped at 0 against round-off)
    torch.minimum(bonus.clamp_(min=0.0), cap.squeeze(-1), out=bonus)  # (r,)
    torch.mul(valid, torch.add(adv, bonus.unsqueeze(-1), alpha=alpha), out=out)  # (r, T)


def _token_rows(
    out: torch.Tensor,
    block: torch.Tensor,
    entropy: torch.Tensor,
    adv: torch.Tensor,
    cap: torch.Tensor,
    sums: torch.Tensor,
    alpha: float,
) -> None:
    """Token form on a block of r rows: ``out`` (r, T) gets A_i + psi_t on the response, 0 elsewhere,
    psi_t = min(alpha H_t, cap_i) clamped at 0 on CoT tokens, 0 elsewhere. block: (3, r, T) holding the
    response and CoT masks (0/1 floats) and work space; entropy (r, T); adv, cap: (r, 1); sums: (6, r),
    written in place, its _COT_ENTROPY row with alpha times the CoT entropy. Passes over the block: the
    fused alpha * H_t on CoT tokens, a sum of the three (r, T) tensors, the clamp, the minimum, the fused
    A_i + psi into the output, the sign, a sum of two (r, T) tensors."""
    valid, cot, psi = block.unbind()
    torch.addcmul(_ZERO, cot, entropy, value=alpha, out=psi)  # (r, T) alpha * 1 * H_t = H_t * alpha on CoT
    torch.sum(block, dim=-1, out=sums[:3])  # _N_VALID, _N_COT, _COT_ENTROPY (times alpha)
    # min(alpha H_t, cap) clamped at 0 is min(max(alpha H_t, 0), cap) as cap >= 0: a scalar clamp and a
    # broadcast minimum (one clamp with tensor bounds is ~10x slower)
    torch.minimum(psi.clamp_(min=0.0), cap, out=psi)  # (r, T)
    torch.addcmul(psi, valid, adv, out=out)  # (r, T)  A_i + psi on the response, 0 off it
    torch.sign(psi, out=cot)  # (r, T)  psi >= 0: 1 where the bonus acts
    torch.sum(block[1:], dim=-1, out=sums[_CHANGED:])  # _CHANGED, _BONUS


def _finish_sums(rows: torch.Tensor, alpha: float, token_bonus: bool) -> None:
    """Check the entropy sums and bring ``rows`` (6, bs) to the meaning ``_N_VALID`` etc. document."""
    if not bool(torch.isfinite(rows[_COT_ENTROPY].sum())):
        raise ValueError("entropy holds NaN or inf")
    if token_bonus:  # sums of alpha * H_t, divided in float64 so that alpha is not rounded to float32
        rows[_COT_ENTROPY] = (rows[_COT_ENTROPY].double() / alpha).float()
    else:  # _BONUS holds each response's bonus over alpha, added to all its tokens
        bonus_i = rows[_BONUS] * alpha  # (bs,)
        torch.mul(rows[_N_VALID], bonus_i != 0, out=rows[_CHANGED])
        torch.mul(bonus_i, rows[_N_VALID], out=rows[_BONUS])


_ZERO = torch.zeros(())
"""A 0-d zero for ``torch.addcmul(_ZERO, a, b, value=c)``: c * a * b in one pass."""


def _statistics(gid: torch.Tensor, scores: torch.Tensor, rows: torch.Tensor) -> dict[str, float]:
    """Batch statistics over the real (non-padding) responses; gid, scores: (bs,); rows: (6, bs)."""
    real = rows[_N_VALID] > 0  # (bs,)  verl's padding rows have an empty response mask
    n_real = int(real.sum())
    n_cot = rows[_N_COT][real]  # (n_real,)
    n_cot_total = int(n_cot.sum(dtype=torch.float64))  # float32 sums of counts are exact only to 2^24
    tokens = max(int(rows[_N_VALID].sum(dtype=torch.float64)), 1)
    cot_entropy_total = float(rows[_COT_ENTROPY][real].sum(dtype=torch.float64))

    real_gid = gid[real]  # (n_real,)
    real_scores = scores[real]  # (n_real,)
    n_groups = int(gid.max()) + 1 if gid.numel() else 0
    size = torch.bincount(real_gid, minlength=n_groups)  # (G,)
    high = torch.full((n_groups,), -math.inf, dtype=scores.dtype, device=scores.device).scatter_reduce_(
        0, real_gid, real_scores, "amax"
    )
    low = torch.full((n_groups,), math.inf, dtype=scores.dtype, device=scores.device).scatter_reduce_(
        0, real_gid, real_scores, "amin"
    )
    present = size > 0  # (G,)
    all_equal = present & (size >= 2) & (high == low)  # (G,)
    return {
        "entropy_bonus_mean": float(rows[_BONUS].sum(dtype=torch.float64)) / tokens,
        "cot_entropy_mean": cot_entropy_total / max(n_cot_total, 1),
        "cot_tokens_mean": n_cot_total / max(n_real, 1),
        "cot_response_frac": int((n_cot > 0).sum()) / max(n_real, 1),
        "adv_changed_token_frac": int(rows[_CHANGED].sum(dtype=torch.float64)) / tokens,
        "all_equal_group_frac": int(all_equal.sum()) / max(int(present.sum()), 1),
    }
