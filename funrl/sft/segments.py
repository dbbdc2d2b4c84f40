"""Think / call segment ids for the tokens of an assistant turn.

An assistant turn is ``<think> CoT </think>`` followed by the call, e.g.
``<think>The user wants ...</think>[get_weather(city='Paris')]``. SRML (``funrl.sft.loss``) needs, for every
token, whether it belongs to the think segment, the call segment or neither. This module finds the
exact tokens from the *token ids themselves*, so that it works whatever the tokenizer did with the tags:

- ``<think>`` / ``</think>`` split over several tokens (``<``, ``think``, ``>``) is handled;
- a token that straddles a boundary (e.g. ``>[`` = end of ``</think>`` + start of the call) belongs to
  the segment of its **last** character: it is the token that completes that character;
- everything in the turn's content up to and including ``</think>`` is think (text before ``<think>``,
  which well-formed data does not have, counts as reasoning too), everything after it is call;
- a turn without a complete ``<think>...</think>`` span is all call;
- the chat template's end-of-turn text after the content (e.g. ``<|im_end|>`` and a newline), which
  verl's SFT loss mask covers, is labelled ``end_of_turn_label``: CALL by default, because the model must
  learn to stop after the call; pass IGNORE to give those tokens no loss.

Method: decode the turn's tokens to text D, find the character boundaries in D (tags, end of content),
then map each boundary to a token index by binary search over decoded prefixes:
``e_k = len(decode(ids[:k + 1]))`` is non-decreasing in k, and the first token with ``e_k > b`` is the
one holding character b. This needs O(log n) decodes per boundary and no offset mapping, so it works for
any Hugging Face tokenizer whose decoding is lossless (byte-level BPE such as Qwen's).

Imports torch only (a tokenizer object is passed in).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import torch
from funrl.reward import THINK_CLOSE, THINK_OPEN

from funrl.sft.loss import CALL, IGNORE, THINK

THINK_TAGS = (THINK_OPEN, THINK_CLOSE)
"""Default ``(open, close)`` CoT tags: ``funrl.reward``'s, as ``funrl.cot``'s defaults."""


class Decoder(Protocol):
    def decode(self, token_ids: Sequence[int], **kwargs: Any) -> str: ...


def _decode(tokenizer: Decoder, ids: Sequence[int]) -> str:
    return tokenizer.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)


def _first_token_past(tokenizer: Decoder, ids: Sequence[int], char: int) -> int:
    """Smallest k with ``len(decode(ids[:k + 1])) > char`` (len(ids) if none).

    That is the token holding character ``char``; tokens before it end at or before ``char``.
    """
    lo, hi = 0, len(ids)
    while lo < hi:
        mid = (lo + hi) // 2
        if len(_decode(tokenizer, ids[: mid + 1])) > char:
            hi = mid
        else:
            lo = mid + 1
    return lo


def think_span(text: str, tags: tuple[str, str] = THINK_TAGS) -> tuple[int, int] | None:
    """Character span ``(start of <think>, end of </think>)`` of the first complete think span, or None."""
    open_tag, close_tag = tags
    start = text.find(open_tag)
    if start < 0:
        return None
    close = text.find(close_tag, start + len(open_tag))
    if close < 0:
        return None
    return start, close + len(close_tag)


def has_think_span(text: str, tags: tuple[str, str] = THINK_TAGS) -> bool:
    """True if ``text`` holds a complete ``<think>...</think>`` span (``tags``: open and close tag)."""
    return think_span(text, tags) is not None


def turn_segment_ids(
    tokenizer: Decoder,
    turn_ids: Sequence[int],
    *,
    end_of_turn_text: str = "",
    end_of_turn_label: int = CALL,
    tags: tuple[str, str] = THINK_TAGS,
) -> torch.Tensor:
    """Segment ids for the tokens of one assistant turn's content (and its end-of-turn text).

    Args:
        tokenizer: anything with a Hugging Face ``decode``.
        turn_ids: the turn's token ids after the generation prompt: content, then the template's
            end-of-turn text (e.g. ``<|im_end|>\\n``).
        end_of_turn_text: the template text that follows the content (see ``end_of_turn_text``); if the
            decoded turn does not end with it (e.g. the sequence was truncated), the whole turn is content.
        end_of_turn_label: label of the end-of-turn tokens, CALL (default) or IGNORE.
        tags: the CoT's ``(open, close)`` tags (``funrl.cot``'s; default ``<think>``, ``</think>``).

    Returns:
        (n,) int64 tensor of THINK / CALL / ``end_of_turn_label``.
    """
    if end_of_turn_label not in (CALL, IGNORE):
        raise ValueError(
            f"end_of_turn_label must be CALL ({CALL}) or IGNORE ({IGNORE}), got {end_of_turn_label}"
        )
    n = len(turn_ids)
    seg = torch.full((n,), CALL, dtype=torch.long)  # (n,)
    if n == 0:
        return seg
    text = _decode(tokenizer, turn_ids)
    content_end = len(text)
    if end_of_turn_text and text.endswith(end_of_turn_text):
        content_end = len(text) - len(end_of_turn_text)
    span = think_span(text[:content_end], tags)
    if span is not None:
        # A token is think iff its last character is inside the span, i.e. e_k <= end of </think>.
        seg[: _first_token_past(tokenizer, turn_ids, span[1])] = THINK
    if content_end < len(text):
        seg[_first_token_past(tokenizer, turn_ids, content_end) :] = end_of_turn_label
    return seg


def end_of_turn_text(tokenizer: Any, **chat_template_kwargs: Any) -> str:
    """The text a chat template puts after an assistant message's content (e.g. ``"<|im_end|>\\n"``).

    Found by rendering a one-message conversation with a marker as the assistant content.
    """
    marker = "\u2063FUNRL_SEGMENT_MARKER\u2063"
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": "x"}, {"role": "assistant", "content": marker}],
        tokenize=False,
        add_generation_prompt=False,
        **chat_template_kwargs,
    )
    where = rendered.rfind(marker)
    if where < 0:
        raise ValueError(
            "the chat template does not render the assistant content verbatim; cannot find segments"
        )
    return rendered[where + len(marker) :]


def sequence_segment_ids(
    tokenizer: Decoder,
    input_ids: torch.Tensor,
    loss_mask: torch.Tensor,
    *,
    end_of_turn_text: str = "",
    end_of_turn_label: int = CALL,
    tags: tuple[str, str] = THINK_TAGS,
) -> torch.Tensor:
    """Segment ids for a whole tokenized conversation, as built by verl's ``MultiTurnSFTDataset``.

    Every maximal run of ``loss_mask == 1`` is one assistant turn after its generation prompt; each run
    is segmented with ``turn_segment_ids``. Tokens outside the runs are IGNORE.

    Args:
        input_ids: (L,) token ids.
        loss_mask: (L,) 0/1, verl's per-token loss mask.

    Returns:
        (L,) int64 segment ids; ``segment_ids != IGNORE`` is a subset of ``loss_mask`` (equal to it when
        ``end_of_turn_label`` is CALL).
    """
    if input_ids.shape != loss_mask.shape or input_ids.dim() != 1:
        raise ValueError(
            f"input_ids {tuple(input_ids.shape)} and loss_mask {tuple(loss_mask.shape)} must be (L,)"
        )
    seg = torch.full_like(input_ids, IGNORE, dtype=torch.long)  # (L,)
    mask = loss_mask.to(torch.bool).tolist()
    ids = input_ids.tolist()
    i, n = 0, len(ids)
    while i < n:
        if not mask[i]:
            i += 1
            continue
        j = i
        while j < n and mask[j]:
            j += 1
        seg[i:j] = turn_segment_ids(
            tokenizer,
            ids[i:j],
            end_of_turn_text=end_of_turn_text,
            end_of_turn_label=end_of_turn_label,
            tags=tags,
        )
        i = j
    return seg
