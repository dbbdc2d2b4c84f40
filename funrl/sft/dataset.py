"""verl SFT dataset that adds per-token SRML segment ids (``data.custom_cls``).

Use with verl's SFT trainer::

    data.custom_cls.path=pkg://funrl.sft.dataset data.custom_cls.name=SRMLSFTDataset

It is verl's ``MultiTurnSFTDataset`` (same parquet ``messages`` format, same tokenization and loss mask)
plus one tensor per sample, ``segment_ids`` (L,) with ``funrl.sft.loss.THINK`` / ``CALL`` / ``IGNORE``
(``funrl.sft.segments`` says how they are found). Options, under ``data.srml`` (all optional):

- ``end_of_turn_in_call`` (default true): the template's end-of-turn tokens after the call (e.g.
  ``<|im_end|>``), which verl's SFT loss covers, count as call tokens, so the model learns to stop after
  the call; false gives them no loss.
- ``open_tag`` / ``close_tag`` (default ``funrl.reward``'s ``<think>`` / ``</think>``): the CoT tags; set
  them with ``funrl.cot``'s when a model uses other tags.

At construction it counts, from the message text, assistant turns with and without a complete
``<think>...</think>`` span (turns without one are trained as all call) and prints the counts; they are
in ``dataset.segment_report``.
"""

from __future__ import annotations

from typing import Any

import torch
from verl.utils.dataset.dataset_utils import DatasetPadMode
from verl.utils.dataset.multiturn_sft_dataset import MultiTurnSFTDataset

from funrl.sft.loss import CALL, IGNORE
from funrl.sft.segments import THINK_TAGS, end_of_turn_text, has_think_span, sequence_segment_ids


class SRMLSFTDataset(MultiTurnSFTDataset):
    """``MultiTurnSFTDataset`` whose samples also carry ``segment_ids`` (L,) for the SRML loss."""

    def __init__(self, parquet_files, tokenizer, config, processor=None, max_samples: int = -1):
        config = config or {}
        pad_mode = config.get("pad_mode", "right")
        if pad_mode != DatasetPadMode.NO_PADDING:
            raise ValueError(
                f"SRMLSFTDataset needs data.pad_mode=no_padding (verl's SFT trainer default), got {pad_mode!r}"
            )
        srml_cfg = config.get("srml", None) or {}
        end_of_turn_in_call = srml_cfg.get("end_of_turn_in_call", True)
        if not isinstance(end_of_turn_in_call, bool):
            raise ValueError(
                f"data.srml.end_of_turn_in_call must be true or false, got {end_of_turn_in_call!r}"
            )
        self.end_of_turn_label = CALL if end_of_turn_in_call else IGNORE
        self.tags = (srml_cfg.get("open_tag", THINK_TAGS[0]), srml_cfg.get("close_tag", THINK_TAGS[1]))
        if not all(isinstance(t, str) and t for t in self.tags):
            raise ValueError(f"data.srml.open_tag / close_tag must be non-empty strings, got {self.tags!r}")
        super().__init__(parquet_files, tokenizer, config, processor=processor, max_samples=max_samples)
        self.end_of_turn_text = end_of_turn_text(self.tokenizer, **self.apply_chat_template_kwargs)
        self.segment_report = self._segment_report()
        print(f"SRMLSFTDataset segment report: {self.segment_report}")

    def _segment_report(self) -> dict[str, int]:
        turns = without_think = rows_without_think = 0
        for index, messages in enumerate(self.messages):
            row_missing = False
            for message in messages:
                if message.get("role") != "assistant":
                    continue
                content = message.get("content")
                if not isinstance(content, str):
                    raise ValueError(
                        f"row {index}: assistant message 'content' must be a string, got {type(content)}"
                    )
                turns += 1
                if not has_think_span(content, self.tags):
                    without_think += 1
                    row_missing = True
            rows_without_think += row_missing
        return {
            "rows": len(self.messages),
            "assistant_turns": turns,
            "turns_without_think_span_all_call": without_think,
            "rows_with_a_turn_without_think_span": rows_without_think,
        }

    def __getitem__(self, item: int) -> dict[str, Any]:
        res = super().__getitem__(item)
        segment_ids = sequence_segment_ids(
            self.tokenizer,
            res["input_ids"],
            res["loss_mask"],
            end_of_turn_text=self.end_of_turn_text,
            end_of_turn_label=self.end_of_turn_label,
            tags=self.tags,
        )  # (L,)
        res["segment_ids"] = segment_ids.to(torch.long)
        return res
