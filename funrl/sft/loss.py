"""SRML: the Self-Refinement Multiscale Loss of FunReason (arXiv 2505.20192), as pure torch.

A function-calling answer is ``<think> CoT </think>`` followed by the call. Chain-of-thought tokens
outnumber call tokens about 10 to 1, so plain token-averaged cross-entropy lets the CoT dominate. SRML
weights the two segments separately::

    L = alpha * L_think + (1 - alpha) * L_call

where ``L_think`` (``L_call``) is the mean token cross-entropy over the think (call) tokens of the whole
*global* batch: every micro-batch of every data-parallel rank. Because the denominators are global token
counts, a micro-batch's contribution is a partial sum, and summing the contributions (gradient
accumulation) and averaging gradients over ranks (data parallelism) gives exactly the loss of the
unsplit batch. Tokens outside both segments (prompt, padding, template) get no loss.

Segment ids (one per token, see ``funrl.sft.segments``): ``IGNORE`` = 0, ``THINK`` = 1, ``CALL`` = 2.

Plain SFT is recovered with ``alpha = "token_share"``: alpha is then set per global batch to
``N_think / (N_think + N_call)``, which makes the loss ``sum(nll) / (N_think + N_call)``, i.e. verl's
token-mean ``sft_loss`` over the same tokens.

A segment with no token in the global batch has no mean; its term is dropped and the other segment gets
the full weight (the loss stays a weighted mean of the segments that exist). So a batch without any think
span is trained as plain SFT on its call tokens, whatever alpha is.

This module imports torch only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from funrl.config import TOKEN_SHARE, validate_alpha

IGNORE = 0
THINK = 1
CALL = 2


def segment_weights(alpha: float | str, num_think: int, num_call: int) -> tuple[float, float]:
    """The effective weights ``(w_think, w_call)`` of the two segment means for one global batch.

    ``alpha`` as in the module docstring; ``num_think`` / ``num_call`` are the global token counts.
    A segment with no tokens gets weight 0 and the other one weight 1; with no token at all, both are 0.
    """
    alpha = validate_alpha(alpha)
    if num_think < 0 or num_call < 0:
        raise ValueError(f"token counts must be >= 0, got num_think={num_think}, num_call={num_call}")
    if num_think == 0 and num_call == 0:
        return 0.0, 0.0
    if num_think == 0:
        return 0.0, 1.0
    if num_call == 0:
        return 1.0, 0.0
    if alpha == TOKEN_SHARE:
        alpha = num_think / (num_think + num_call)
    return float(alpha), 1.0 - float(alpha)


@dataclass(frozen=True)
class SRMLParts:
    """Detached pieces of one (micro-)batch's loss, for logging.

    ``think`` and ``call`` are this micro-batch's share of ``L_think`` and ``L_call`` (sum of its
    segment NLL divided by the *global* segment count); summed over micro-batches and ranks they give
    the global ``L_think`` and ``L_call``.
    """

    think: float
    call: float


def srml_loss(
    log_probs: torch.Tensor,
    segment_ids: torch.Tensor,
    *,
    alpha: float | str,
    num_think: int,
    num_call: int,
    dp_size: int = 1,
) -> tuple[torch.Tensor, SRMLParts]:
    """This micro-batch's share of the SRML loss.

    Args:
        log_probs: (N,) log-probability of each target token (any shape works; it is flattened).
        segment_ids: (N,) int, aligned with ``log_probs``: THINK, CALL or IGNORE for each target.
        alpha: weight of ``L_think`` in [0, 1], or ``"token_share"`` for plain SFT.
        num_think: THINK tokens in the whole global batch (all micro-batches, all DP ranks).
        num_call: CALL tokens in the whole global batch.
        dp_size: number of data-parallel ranks. The result is multiplied by it because data-parallel
            training *averages* gradients over ranks, while the global loss is their *sum*.

    Returns:
        ``(loss, parts)``: a scalar tensor to backpropagate, and its detached parts for logging.
        Summing ``loss`` over the micro-batches of a rank and averaging over ranks gives
        ``w_think * L_think + w_call * L_call`` of the global batch (``segment_weights``).
    """
    if log_probs.shape != segment_ids.shape:
        raise ValueError(
            f"log_probs {tuple(log_probs.shape)} and segment_ids {tuple(segment_ids.shape)} differ"
        )
    w_think, w_call = segment_weights(alpha, num_think, num_call)
    nll = -log_probs.reshape(-1)  # (N,)
    seg = segment_ids.reshape(-1)  # (N,)
    think_sum = torch.where(seg == THINK, nll, torch.zeros_like(nll)).sum()  # ()
    call_sum = torch.where(seg == CALL, nll, torch.zeros_like(nll)).sum()  # ()
    think_part = think_sum / max(num_think, 1)  # () share of L_think
    call_part = call_sum / max(num_call, 1)  # () share of L_call
    loss = (w_think * think_part + w_call * call_part) * dp_size  # ()
    parts = SRMLParts(think=float(think_part.detach()), call=float(call_part.detach()))
    return loss, parts


def count_segments(segment_ids: torch.Tensor) -> tuple[int, int]:
    """``(num_think, num_call)`` in a tensor of segment ids (local; all-reduce them for the global batch)."""
    return int((segment_ids == THINK).sum()), int((segment_ids == CALL).sum())
