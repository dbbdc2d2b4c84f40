"""CoT token mask (funrl.rl.cot_mask) on real byte-level BPE tokenizers built here (no hub download)."""

from __future__ import annotations

import random
from unittest import mock

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import ByteLevelBPETokenizer, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

import funrl.rl.cot_mask
from funrl.rl.cot_mask import CotMasker, token_byte_table

_BYTE_LEVEL = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)


def piece_key(text: str) -> str:
    """The vocabulary key of a piece of text in a byte-level BPE (computed by the tokenizers library)."""
    return "".join(part for part, _ in _BYTE_LEVEL.pre_tokenize_str(text))


def piece_tokenizer(pieces: list[str], added: tuple[str, ...] = ()) -> PreTrainedTokenizerFast:
    """A real byte-level BPE tokenizer whose vocabulary holds all 256 bytes plus the given pieces."""
    vocab: dict[str, int] = {}
    for ch in pre_tokenizers.ByteLevel.alphabet():
        vocab.setdefault(ch, len(vocab))
    for piece in pieces:
        vocab.setdefault(piece_key(piece), len(vocab))
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend)
    tokenizer.add_tokens(list(added))
    return tokenizer


def ids_of(tokenizer: PreTrainedTokenizerFast, pieces: list[str]) -> list[int]:
    """Token ids of a sampled piece sequence (any segmentation a policy could emit, canonical or not)."""
    added = {tok.content: i for i, tok in tokenizer.added_tokens_decoder.items()}
    return [added[p] if p in added else tokenizer.convert_tokens_to_ids(piece_key(p)) for p in pieces]


def reference_mask(
    pieces: list[str], open_tag="<think>", close_tag="</think>", starts_inside=False
) -> list[bool]:
    """Straight from the definition: pieces with a byte strictly inside the first complete span."""
    chunks = [p.encode() for p in pieces]
    text = b"".join(chunks)
    if starts_inside:
        content = 0
    else:
        at = text.find(open_tag.encode())
        if at < 0:
            return [False] * len(pieces)
        content = at + len(open_tag.encode())
    stop = text.find(close_tag.encode(), content)
    if stop < 0:
        return [False] * len(pieces)
    out, pos = [], 0
    for chunk in chunks:
        out.append(any(content <= pos + k < stop for k in range(len(chunk))))
        pos += len(chunk)
    return out


def masks_for(masker: CotMasker, tokenizer, rows: list[list[str]], pad_id: int = 0) -> torch.Tensor:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(ids_of(tokenizer, row), dtype=torch.long)
        mask[i, : len(row)] = 1
    return masker(ids, mask)


ADVERSARIAL = [
    # whole tags, python-call answer
    (
        ["<think>", "Let", " me", " see", "</think>", "<answer>", "[f(a=1)]", "</answer>"],
        [0, 1, 1, 1, 0, 0, 0, 0],
    ),
    # tags split over single characters and sub-words
    (["<", "th", "ink", ">", "ok", "</", "thi", "nk", ">", "[f()]"], [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]),
    # tags merged with neighbouring text on both sides
    (["x<thi", "nk>Let", " us.</", "think>\n[", "f()]"], [0, 1, 1, 0, 0]),
    # open and close tags in one token, with CoT bytes in between
    (["<think>a</think>"], [1]),
    # empty CoT: no CoT token at all
    (["<think>", "</think>", "[f()]"], [0, 0, 0]),
    (["x<think></think>y", "z"], [0, 0]),
    # no closing tag: no CoT tokens (and so no bonus)
    (["<think>", "still", " thinking"], [0, 0, 0]),
    # closing tag without an opening one
    (["reason", "</think>", "[f()]"], [0, 0, 0]),
    # a second <think> inside the CoT is CoT text; the first </think> after the first <think> ends it
    (["<think>", "a", "<think>", "b", "</think>", "c", "</think>"], [0, 1, 1, 1, 0, 0, 0]),
    # a stray '<' and near-miss tags inside the reasoning
    (["<think>", "a<b", " </thin", "g> <thinkx", "</think>"], [0, 1, 1, 1, 0]),
    # ... and a close tag that only forms across two tokens ends the CoT there
    (["<think>", "a", " </thin", "k> b", "</think>"], [0, 1, 1, 0, 0]),
    # multi-byte characters split across tokens inside the CoT
    (["<think>", "caf\u00e9 \u65e5\u672c", "</think>"], [0, 1, 0]),
]


@pytest.fixture(scope="module")
def adversarial_tokenizer():
    pieces = sorted({p for row, _ in ADVERSARIAL for p in row})
    return piece_tokenizer(pieces)


@pytest.mark.parametrize(("row", "expected"), ADVERSARIAL)
def test_adversarial_splits(adversarial_tokenizer, row, expected):
    masker = CotMasker(adversarial_tokenizer)
    assert reference_mask(row) == [bool(e) for e in expected]  # the definition, hand-checked
    got = masks_for(masker, adversarial_tokenizer, [row])
    assert got[0].tolist() == [bool(e) for e in expected]


def test_byte_table_round_trips_through_the_real_decoder(adversarial_tokenizer):
    table = token_byte_table(adversarial_tokenizer)
    assert len(table) == len(adversarial_tokenizer)
    for row, _ in ADVERSARIAL:
        ids = ids_of(adversarial_tokenizer, row)
        assert b"".join(table[i] for i in ids) == "".join(row).encode()
        assert adversarial_tokenizer.decode(ids) == "".join(row)


def test_whole_batch_with_padding_that_holds_tag_bytes(adversarial_tokenizer):
    masker = CotMasker(adversarial_tokenizer)
    rows = [row for row, _ in ADVERSARIAL]
    pad = ids_of(adversarial_tokenizer, ["</think>"])[0]  # padding must be ignored even if it is a tag
    got = masks_for(masker, adversarial_tokenizer, rows, pad_id=pad)
    for i, (row, expected) in enumerate(ADVERSARIAL):
        assert got[i, : len(row)].tolist() == [bool(e) for e in expected]
        assert not got[i, len(row) :].any()


def test_added_tag_tokens_qwen_style():
    tokenizer = piece_tokenizer(["Let", " me", "[f()]"], added=("<think>", "</think>"))
    masker = CotMasker(tokenizer)
    row = ["<think>", "Let", " me", "</think>", "[f()]"]
    assert masks_for(masker, tokenizer, [row])[0].tolist() == [False, True, True, False, False]


def test_starts_inside_when_the_prompt_opened_the_cot(adversarial_tokenizer):
    masker = CotMasker(adversarial_tokenizer, starts_inside=True)
    rows = [["reason", "</think>", "[f()]"], ["<think>", "still", " thinking"]]
    got = masks_for(masker, adversarial_tokenizer, rows)
    assert got[0].tolist() == [True, False, False]
    assert got[1].tolist() == [False, False, False]  # no closing tag: no CoT


def test_out_of_vocabulary_ids_stand_for_no_bytes(adversarial_tokenizer):
    # An id past the tokenizer (the model's padded vocabulary) has no bytes, so it is never CoT.
    masker = CotMasker(adversarial_tokenizer)
    think, a, close = ids_of(adversarial_tokenizer, ["<think>", "a", "</think>"])
    oov = 10**6
    ids = torch.tensor([[think, oov, a, oov, a, oov, close]])
    assert masker(ids, torch.ones_like(ids)).tolist() == [[False, False, True, False, True, False, False]]


def test_degenerate_row_with_many_tag_like_tokens(adversarial_tokenizer):
    # > 32 tokens holding '<' switch the row to the whole-string search; the answer must not change.
    row = ["<think>"] + ["a<b"] * 40 + [" </thin", "k> b"] + ["<"] * 5
    expected = [False] + [True] * 40 + [True, False] + [False] * 5
    assert reference_mask(row) == expected
    masker = CotMasker(adversarial_tokenizer)
    assert masks_for(masker, adversarial_tokenizer, [row, row[:3]])[0].tolist() == expected


def test_negative_ids_and_bool_masks(adversarial_tokenizer):
    masker = CotMasker(adversarial_tokenizer)
    think, a, close = ids_of(adversarial_tokenizer, ["<think>", "a", "</think>"])
    ids = torch.tensor([[think, a, -100, a, close, -100]])
    valid = torch.tensor([[True, True, True, True, True, False]])
    assert masker(ids, valid).tolist() == [[False, True, False, True, False, False]]


def test_bad_shapes_fail_loudly(adversarial_tokenizer):
    masker = CotMasker(adversarial_tokenizer)
    with pytest.raises(ValueError, match="responses and response_mask"):
        masker(torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 4))
    with pytest.raises(ValueError, match="exactly one of"):
        CotMasker()


# ---------------------------------------------------------------- a trained tokenizer, canonical encodings

CORPUS = [
    "<think>The user wants the weather in Paris, so call get_weather.</think><answer>[get_weather(city='Paris')]</answer>",
    "<think>\nTwo calls are needed: first search, then book.\n</think>\n[search(q='hotel'), book(id=3)]",
    "Some text <thinking> about </thin> tags and think> pieces <th ink>.",
    "<think>Caf\u00e9 au lait \u65e5\u672c\u8a9e</think>[order(item='caf\u00e9')]",
]


@pytest.fixture(scope="module")
def trained_tokenizer():
    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(
        CORPUS * 20, vocab_size=600, min_frequency=1, special_tokens=["<|endoftext|>"]
    )
    return PreTrainedTokenizerFast(tokenizer_object=trainer._tokenizer, eos_token="<|endoftext|>")


@pytest.mark.parametrize("text", CORPUS + ["no tags at all", "<think>unclosed", "</think>only close"])
def test_trained_tokenizer_canonical_encodings(trained_tokenizer, text):
    ids = trained_tokenizer(text)["input_ids"]
    pieces = [trained_tokenizer.decode([i]) if i not in (0,) else "" for i in ids]
    assert "".join(pieces) == text or any("\ufffd" in p for p in pieces)
    table = token_byte_table(trained_tokenizer)
    byte_pieces = [table[i].decode("latin-1") for i in ids]  # exact bytes per token, for the reference
    expected = reference_mask_bytes([table[i] for i in ids])
    got = CotMasker(trained_tokenizer)(torch.tensor([ids]), torch.ones(1, len(ids)))[0].tolist()
    assert got == expected, (byte_pieces, got, expected)
    assert b"".join(table[i] for i in ids) == text.encode()


def reference_mask_bytes(chunks: list[bytes]) -> list[bool]:
    text = b"".join(chunks)
    at = text.find(b"<think>")
    stop = text.find(b"</think>", at + 7) if at >= 0 else -1
    if stop < 0:
        return [False] * len(chunks)
    out, pos = [], 0
    for chunk in chunks:
        out.append(any(at + 7 <= pos + k < stop for k in range(len(chunk))))
        pos += len(chunk)
    return out


# ---------------------------------------------------------------- random segmentations

ATOMS = ["<think>", "</think>", "<", ">", "/", "think", "a", " b", "\u00e9", "\n", "[f(x=1)]", "<answer>"]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), starts_inside=st.booleans(), whole_rows=st.booleans())
def test_random_segmentations_match_the_definition(seed, starts_inside, whole_rows):
    """Random texts full of tag fragments, cut at random byte-safe points into tokens, many rows at once.

    ``whole_rows`` runs the path for degenerate rows (many tag-like tokens) on every row.
    """
    rng = random.Random(seed)
    rows = []
    for _ in range(6):
        text = "".join(rng.choice(ATOMS) for _ in range(rng.randint(0, 14)))
        cuts = (
            sorted(rng.sample(range(1, len(text)), k=min(len(text) - 1, rng.randint(0, 12))))
            if len(text) > 1
            else []
        )
        bounds = [0, *cuts, len(text)] if text else []
        rows.append([text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)] or ["a"])
    tokenizer = piece_tokenizer(sorted({p for row in rows for p in row}))
    masker = CotMasker(tokenizer, starts_inside=starts_inside)
    with mock.patch.object(funrl.rl.cot_mask, "_WHOLE_ROW_AFTER", -1 if whole_rows else 32):
        got = masks_for(masker, tokenizer, rows)
    for i, row in enumerate(rows):
        assert got[i, : len(row)].tolist() == reference_mask(row, starts_inside=starts_inside), row
