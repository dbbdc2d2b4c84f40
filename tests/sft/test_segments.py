"""Think / call segment ids: hand-labelled token pieces (tags split across tokens, straddling tokens),
a loop reference on a real byte-level BPE tokenizer, and verl's dataset class end to end."""

import pytest
import torch

from funrl.sft.loss import CALL, IGNORE, THINK
from funrl.sft.segments import end_of_turn_text, sequence_segment_ids, turn_segment_ids


class PieceTokenizer:
    """Token id i decodes to PIECES[i]; enough for funrl.sft.segments, and every split is explicit."""

    def __init__(self, pieces):
        self.pieces = pieces

    def decode(self, ids, **kwargs):
        return "".join(self.pieces[i] for i in ids)


EOT = "<|im_end|>\n"


def _labels(pieces, **kw):
    tok = PieceTokenizer(pieces)
    return turn_segment_ids(tok, list(range(len(pieces))), **kw).tolist()


def test_tags_split_across_tokens_and_a_straddling_token():
    pieces = [
        "<th",
        "ink",
        ">",
        "Let",
        " me",
        " see",
        ".</",
        "think",
        ">[",
        "f(a",
        "=1)]",
        "<|im_end|>",
        "\n",
    ]
    T, C = THINK, CALL
    assert _labels(pieces, end_of_turn_text=EOT) == [T, T, T, T, T, T, T, T, C, C, C, C, C]
    assert _labels(pieces, end_of_turn_text=EOT, end_of_turn_label=IGNORE) == [T] * 8 + [
        C,
        C,
        C,
        IGNORE,
        IGNORE,
    ]


def test_token_ending_exactly_at_the_close_tag_is_think():
    pieces = ["<think>", "ok", "</think>", "\n", "[f()]", "<|im_end|>", "\n"]
    expected = [THINK, THINK, THINK, CALL, CALL, IGNORE, IGNORE]
    assert _labels(pieces, end_of_turn_text=EOT, end_of_turn_label=IGNORE) == expected


def test_call_merged_with_end_of_turn_text_goes_to_end_of_turn():
    pieces = ["<think>a</think>", "[f()]\n"]  # template suffix "\n" here, merged with the call's last char
    assert _labels(pieces, end_of_turn_text="\n", end_of_turn_label=IGNORE) == [THINK, IGNORE]


def test_no_think_span_is_all_call():
    assert _labels(["[f(", "a=1)]", "<|im_end|>", "\n"], end_of_turn_text=EOT) == [CALL] * 4
    # an unclosed <think> is not a think span either
    assert _labels(["<think>", "hmm", "[f()]"], end_of_turn_text=EOT) == [CALL] * 3
    # a </think> inside the end-of-turn text does not count
    assert _labels(["[f()]", "</think>"], end_of_turn_text="</think>", end_of_turn_label=IGNORE) == [
        CALL,
        IGNORE,
    ]


def test_truncated_turn_without_end_of_turn_text_is_all_content():
    assert _labels(["<think>", "a", "</think>", "[f("], end_of_turn_text=EOT) == [THINK, THINK, THINK, CALL]


def test_bad_end_of_turn_label():
    with pytest.raises(ValueError, match="end_of_turn_label"):
        _labels(["x"], end_of_turn_label=THINK)


def test_sequence_segments_follow_loss_mask_runs():
    pieces = ["sys", "user", "<think>", "a", "</think>", "[f()]", "\n", "user2", "[g()]", "\n"]
    ids = torch.arange(len(pieces))
    mask = torch.tensor([0, 0, 1, 1, 1, 1, 1, 0, 1, 1])  # two assistant turns
    seg = sequence_segment_ids(PieceTokenizer(pieces), ids, mask, end_of_turn_text="\n")
    assert seg.tolist() == [IGNORE, IGNORE, THINK, THINK, THINK, CALL, CALL, IGNORE, CALL, CALL]
    seg = sequence_segment_ids(
        PieceTokenizer(pieces), ids, mask, end_of_turn_text="\n", end_of_turn_label=IGNORE
    )
    assert seg.tolist() == [IGNORE, IGNORE, THINK, THINK, THINK, CALL, IGNORE, IGNORE, CALL, IGNORE]


@pytest.fixture(scope="module")
def tiny_tok(tmp_path_factory):
    from funrl.toy import tiny_tokenizer

    return tiny_tokenizer(tmp_path_factory.mktemp("tok"))


def _reference_labels(tok, ids, eot):
    """Loop reference: decode every prefix, label each token by the character class of its last char."""
    text = tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
    content_end = len(text) - len(eot) if text.endswith(eot) else len(text)
    open_at, close_at = text.find("<think>"), text.find("</think>")
    think_end = close_at + len("</think>") if 0 <= open_at < close_at and close_at < content_end else 0
    labels, prev = [], 0
    for k in range(1, len(ids) + 1):
        end = len(tok.decode(ids[:k], skip_special_tokens=False, clean_up_tokenization_spaces=False))
        last = end - 1 if end > prev else prev  # a token adding no character belongs with the next one
        labels.append(THINK if last < think_end else CALL if last < content_end else IGNORE)
        prev = end
    return labels


def test_real_bpe_tokenizer_matches_loop_reference(tiny_tok):
    from funrl.samples import sft_sample_rows

    eot = end_of_turn_text(tiny_tok)
    assert eot == "<|im_end|>\n"
    split_tags = straddles = 0
    for row in sft_sample_rows():
        content = row["messages"][-1]["content"]
        ids = tiny_tok(content + eot, add_special_tokens=False)["input_ids"]
        got = turn_segment_ids(tiny_tok, ids, end_of_turn_text=eot, end_of_turn_label=IGNORE).tolist()
        assert got == _reference_labels(tiny_tok, ids, eot)
        pieces = [tiny_tok.decode([i]) for i in ids]
        split_tags += "</think>" in content and "</think>" not in pieces
        straddles += any(p.startswith(">") and len(p) > 1 for p in pieces)
        if "<think>" not in content:
            assert set(got[: len(got) - 2]) == {CALL}
    assert split_tags == 30  # every think row has its close tag split over tokens by this tokenizer
    assert straddles > 0  # and some token merges the end of </think> with the call


def test_dataset_adds_segment_ids_aligned_with_verl_loss_mask(tmp_path, tiny_tok):
    from omegaconf import OmegaConf

    from funrl.samples import write_sft_sample_parquet
    from funrl.sft.dataset import SRMLSFTDataset

    path = str(write_sft_sample_parquet(tmp_path / "train.parquet"))
    cfg = OmegaConf.create({"pad_mode": "no_padding", "max_length": 1024, "truncation": "error"})
    ds = SRMLSFTDataset([path], tiny_tok, cfg)
    assert ds.segment_report == {
        "rows": 32,
        "assistant_turns": 32,
        "turns_without_think_span_all_call": 2,
        "rows_with_a_turn_without_think_span": 2,
    }
    for i in (0, 7):
        item = ds[i]
        seg, mask, ids = item["segment_ids"], item["loss_mask"], item["input_ids"]
        assert seg.shape == ids.shape == mask.shape
        assert torch.equal(seg != IGNORE, mask.bool())  # end-of-turn in call: the same tokens as verl's SFT
        think_text = tiny_tok.decode(ids[seg == THINK].tolist())
        call_text = tiny_tok.decode(ids[seg == CALL].tolist())
        content = ds.messages[i][-1]["content"]
        if i == 0:
            assert think_text.startswith("<think>") and think_text.endswith(
                "</think"
            )  # ">[" went to the call
            assert call_text.startswith(">[get_weather(") and call_text.endswith(")]<|im_end|>\n")
            assert think_text + call_text == content + "<|im_end|>\n"
        else:
            assert (seg == THINK).sum() == 0
            assert call_text == content + "<|im_end|>\n"

    cfg_ignore = OmegaConf.create({"pad_mode": "no_padding", "srml": {"end_of_turn_in_call": False}})
    seg = SRMLSFTDataset([path], tiny_tok, cfg_ignore)[0]["segment_ids"]
    assert tiny_tok.decode(ds[0]["input_ids"][seg == CALL].tolist()).endswith(")]")


def test_dataset_rejects_right_padding(tmp_path, tiny_tok):
    from omegaconf import OmegaConf

    from funrl.samples import write_sft_sample_parquet
    from funrl.sft.dataset import SRMLSFTDataset

    path = str(write_sft_sample_parquet(tmp_path / "train.parquet"))
    with pytest.raises(ValueError, match="pad_mode=no_padding"):
        SRMLSFTDataset([path], tiny_tok, OmegaConf.create({"pad_mode": "right"}))
