"""Chain-of-thought token mask: which response tokens lie inside ``<think> ... </think>``.

The entropy bonus (``funrl.rl.advantage``) acts on CoT tokens only, so this mask must be exact whatever the
tokenizer did with the tags: ``<think>`` may be one added token, or split as ``<`` + ``think`` + ``>``, or
merged with neighbouring text (``.</`` + ``think>\\n``). So the search runs on the *bytes* the tokens stand
for, not on token ids:

- every token id maps to its byte string (byte-level BPE tokens through the GPT-2 byte alphabet, added
  tokens to their content; other tokenizers through ``decode``);
- in each response, the CoT content is the byte span after the first ``<think>`` and before the first
  ``</think>`` that follows it; a response without both tags has no CoT tokens (hence no bonus);
- a CoT token is a token with at least one byte inside that span: a token that merges the end of the
  opening tag with the first words of the reasoning (``>Let``) is a CoT token, a token holding only tag
  bytes (``<think>``, ``</``, ``think>``) is not. The entropy at a position belongs to the decision that
  produced that token, and such a token decided reasoning text;
- tokens outside ``response_mask`` and ids outside the tokenizer (a model's padded vocabulary) stand for
  no bytes, so they are never CoT tokens.

``starts_inside=True`` is for chat templates whose generation prompt already ends with ``<think>`` (Qwen3
style): the CoT then starts at the first response token and ends before the first ``</think>``.

Speed (``benchmarks/cot_mask.py``): only the few tokens that hold a tag's first byte (``<``), and the
handful that follow them, are ever turned into bytes in Python; the rest is a few vectorised torch passes
over the (bs, T) id array. A row with more than 32 such tokens (degenerate output) is searched as one
string instead, which bounds the worst case.

Imports numpy and torch only; the tokenizer is any Hugging Face tokenizer object, used once to build
the byte table.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from funrl.reward import THINK_CLOSE, THINK_OPEN


def _gpt2_byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's ``bytes_to_unicode``: the printable character each byte is written as."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def token_byte_table(tokenizer: Any) -> list[bytes]:
    """The byte string of every token id 0..len(tokenizer)-1.

    Byte-level BPE (GPT-2, Qwen, Llama 3): exact, through the byte alphabet; added tokens (``<think>``,
    ``<|im_end|>``) map to their content. Other tokenizers: ``decode([id])`` per id, which keeps ASCII
    tags intact (all the mask needs) but may drop a SentencePiece token's leading space.
    """
    size = len(tokenizer)
    added = {int(i): tok.content for i, tok in getattr(tokenizer, "added_tokens_decoder", {}).items()}
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and "ByteLevel" in repr(backend.decoder):
        decoder = _gpt2_byte_decoder()
        pieces = tokenizer.convert_ids_to_tokens(list(range(size)))
        table = []
        for i, piece in enumerate(pieces):
            if i in added:
                table.append(added[i].encode("utf-8"))
            elif piece is None:
                table.append(b"")
            else:
                try:
                    table.append(bytes(decoder[ch] for ch in piece))
                except KeyError:  # a piece outside the byte alphabet: not byte-level after all
                    break
        else:
            return table
    return [
        tokenizer.decode([i], skip_special_tokens=False, clean_up_tokenization_spaces=False).encode("utf-8")
        for i in range(size)
    ]


class CotMasker:
    """Builds the CoT token mask of a batch of responses; holds the tokenizer's byte table.

    Args:
        tokenizer: a Hugging Face tokenizer (or pass ``token_bytes`` directly instead).
        token_bytes: the byte string of each token id; ids outside it stand for no bytes.
        open_tag, close_tag: the CoT delimiters.
        starts_inside: the prompt already opened the CoT (the template ends with ``open_tag``).
    """

    def __init__(
        self,
        tokenizer: Any = None,
        *,
        token_bytes: Sequence[bytes] | None = None,
        open_tag: str = THINK_OPEN,
        close_tag: str = THINK_CLOSE,
        starts_inside: bool = False,
    ) -> None:
        if (tokenizer is None) == (token_bytes is None):
            raise ValueError("CotMasker needs exactly one of tokenizer and token_bytes")
        if not open_tag or not close_tag:
            raise ValueError("funrl.cot.open_tag and funrl.cot.close_tag must be non-empty")
        table = list(token_bytes) if token_bytes is not None else token_byte_table(tokenizer)
        self.open = open_tag.encode("utf-8")
        self.close = close_tag.encode("utf-8")
        self.starts_inside = starts_inside
        self.vocab_size = len(table)
        self._bytes = table + [b""]  # id vocab_size: out of the vocabulary or masked: no bytes
        firsts = {self.close[0]} if starts_inside else {self.open[0], self.close[0]}
        self._holds_first = torch.tensor([any(f in b for f in firsts) for b in self._bytes], dtype=torch.bool)
        self._has_bytes = torch.tensor([len(b) > 0 for b in self._bytes], dtype=torch.bool)
        self._has_empty_tokens = not bool(self._has_bytes[:-1].all())
        self._reach = max(len(self.open), len(self.close)) - 1  # bytes a tag runs past its first byte

    def __call__(self, responses: torch.Tensor, response_mask: torch.Tensor) -> torch.Tensor:
        """CoT mask (bs, T) bool of response token ids (bs, T), on the ids' device.

        ``response_mask`` (bs, T): nonzero on real response tokens; the mask never leaves it.
        """
        if responses.dim() != 2 or tuple(response_mask.shape) != tuple(responses.shape):
            raise ValueError(
                f"responses and response_mask must both be (bs, T); got {tuple(responses.shape)} "
                f"and {tuple(response_mask.shape)}"
            )
        ids = responses.detach().to("cpu", torch.int64)  # (bs, T)
        valid = response_mask.detach().cpu()  # (bs, T)
        valid = valid if valid.dtype == torch.bool else valid != 0  # (bs, T)
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.vocab_size):
            outside = (ids < 0) | (ids >= self.vocab_size)  # (bs, T) ids with no bytes
            ids = ids.masked_fill(outside, self.vocab_size)
            valid = valid & ~outside
        if self._has_empty_tokens:
            valid = valid & self._has_bytes[ids]  # (bs, T)
        # From here on, a token has bytes exactly where `valid` is True.
        # A tag starts inside a token holding its first byte: only those tokens are looked at in Python.
        cand_rows, cand_cols = (self._holds_first[ids] & valid).nonzero(as_tuple=True)  # (n,), (n,) row-major

        bs, seq_len = ids.shape
        lo = torch.ones(bs, dtype=torch.int64)  # (bs,) CoT tokens lo..hi; empty range by default
        hi = torch.zeros(bs, dtype=torch.int64)  # (bs,)
        ids_np, valid_np = ids.numpy(), valid.numpy()
        rows, cols = cand_rows.tolist(), cand_cols.tolist()
        i = 0
        while i < len(rows):
            row = rows[i]
            j = i
            while j < len(rows) and rows[j] == row:
                j += 1
            row_ids = np.where(valid_np[row], ids_np[row], self.vocab_size)  # (T,) masked tokens: no bytes
            # Rows with many tag-like tokens (degenerate output) are searched whole, in one string.
            windows = [None] if j - i > _WHOLE_ROW_AFTER else cols[i:j]
            span = self._find_span(row_ids, windows)
            if span is not None:
                lo[row], hi[row] = span
            i = j
        positions = torch.arange(seq_len).unsqueeze(0)  # (1, T)
        mask = (positions >= lo.unsqueeze(1)) & (positions <= hi.unsqueeze(1)) & valid  # (bs, T)
        return mask.to(responses.device)

    def per_segment(self, responses: torch.Tensor, response_mask: torch.Tensor) -> torch.Tensor:
        """CoT mask (bs, T) of multi-turn responses: each contiguous run of ``response_mask`` (one
        assistant reply; user and tool tokens between replies are 0) is searched on its own, so every
        reply's think span is CoT and a tag inside a tool result never opens or closes one. A row with
        one run (a single-turn response) gets exactly ``self(responses, response_mask)``'s mask.
        """
        if responses.dim() != 2 or tuple(response_mask.shape) != tuple(responses.shape):
            raise ValueError(
                f"responses and response_mask must both be (bs, T); got {tuple(responses.shape)} "
                f"and {tuple(response_mask.shape)}"
            )
        valid = response_mask.detach().cpu() != 0  # (bs, T)
        before = torch.nn.functional.pad(valid[:, :-1], (1, 0), value=False)  # (bs, T) previous token valid
        starts = valid & ~before  # (bs, T) first token of each run
        runs = starts.sum(dim=1)  # (bs,)
        if responses.numel() == 0 or int(runs.max()) <= 1:
            return self(responses, response_mask)
        ids = responses.detach().cpu()  # (bs, T)
        rows, cols = valid.nonzero(as_tuple=True)  # (n,), (n,) row-major
        run_of = starts.cumsum(dim=1)[rows, cols] - 1  # (n,) run index within its row
        first_run = runs.cumsum(dim=0) - runs  # (bs,) global index of each row's first run
        seg = first_run[rows] + run_of  # (n,) global run index, row-major like starts.nonzero()
        seg_start = starts.nonzero(as_tuple=True)[1]  # (S,) start column of each run
        pos = cols - seg_start[seg]  # (n,) position within its run
        seg_ids = torch.zeros(int(runs.sum()), int(pos.max()) + 1, dtype=ids.dtype)  # (S, L)
        seg_valid = torch.zeros_like(seg_ids, dtype=torch.bool)  # (S, L)
        seg_ids[seg, pos] = ids[rows, cols]
        seg_valid[seg, pos] = True
        seg_cot = self(seg_ids, seg_valid)  # (S, L)
        mask = torch.zeros_like(valid)  # (bs, T)
        mask[rows, cols] = seg_cot[seg, pos]
        return mask.to(responses.device)

    def _window(self, row_ids: np.ndarray, first: int | None) -> tuple[bytes, list[int], int, int]:
        """Bytes of tokens first..q, enough to hold any tag starting in token ``first`` (None: whole row).

        Returns (text, local start offset of each token, index of the first token, byte limit: a tag
        must start before it).
        """
        if first is None:
            pieces = list(map(self._bytes.__getitem__, row_ids.tolist()))
            offsets = (
                np.concatenate([[0], np.cumsum([len(b) for b in pieces])[:-1]]).tolist() if pieces else []
            )
            text = b"".join(pieces)
            return text, offsets, 0, len(text)
        head = self._bytes[row_ids[first]]
        pieces, offsets, total = [head], [0], len(head)
        t = first + 1
        while total < len(head) + self._reach and t < len(row_ids):
            piece = self._bytes[row_ids[t]]
            offsets.append(total)
            pieces.append(piece)
            total += len(piece)
            t += 1
        return b"".join(pieces), offsets, first, len(head)

    def _find_span(self, row_ids: np.ndarray, windows: list[int | None]) -> tuple[int, int] | None:
        """First token and last token (inclusive) of the CoT content of one row, or None."""
        content = (0, 0) if self.starts_inside else None  # (token, offset) of the first content byte
        for first in windows:
            text, offsets, base, limit = self._window(row_ids, first)
            pos = 0
            if content is None:
                at = text.find(self.open, 0, limit - 1 + len(self.open))
                if at < 0:
                    continue
                pos = at + len(self.open)
                content = _locate(offsets, base, pos, len(text))
            elif content[0] >= base:
                k = content[0] - base
                pos = offsets[k] + content[1] if k < len(offsets) else len(text)
            at = text.find(self.close, pos, limit - 1 + len(self.close))
            if at >= 0:
                close = _locate(offsets, base, at, len(text))
                if content >= close:  # an empty CoT ("<think></think>") marks nothing
                    return None
                return content[0], close[0] if close[1] > 0 else close[0] - 1
        return None


_WHOLE_ROW_AFTER = 32  # candidates per row above which the row is searched as one string


def _locate(offsets: list[int], base: int, pos: int, length: int) -> tuple[int, int]:
    """(token index, offset in it) of local byte ``pos``; ``pos == length`` is the token after the window."""
    if pos >= length:
        return base + len(offsets), 0
    k = bisect.bisect_right(offsets, pos) - 1
    return base + k, pos - offsets[k]
