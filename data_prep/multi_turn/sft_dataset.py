"""verl SFT dataset for the per-assistant-turn rows of ``sft.parquet``: the loss on the last turn only.

FunReason-MT splits each trajectory per assistant turn and trains on the current turn only, with the
conversation so far as context. verl's ``MultiTurnSFTDataset`` puts the loss on every assistant message;
this subclass of FunRL's ``SRMLSFTDataset`` (SRML think / call segment ids) keeps verl's tokenization and
zeroes the loss mask of every assistant message but the row's last one, so the segment ids of earlier
turns are IGNORE as well::

    python -m funrl.train +recipe=sft_srml data.train_files=sft.parquet \\
        data.custom_cls.path=pkg://funrl.data_prep.multi_turn.sft_dataset data.custom_cls.name=CurrentTurnSFTDataset

Imported by verl's trainer only (it needs torch and verl; the rest of data prep does not).
"""

from __future__ import annotations

from typing import Any

from funrl.sft.dataset import SRMLSFTDataset


class CurrentTurnSFTDataset(SRMLSFTDataset):
    """``SRMLSFTDataset`` whose loss mask covers only the last assistant message of each row."""

    def _process_single_message(
        self,
        index: int,
        message: dict[str, Any],
        full_message: list,
        tools: list[dict[str, Any]] | None = None,
        enable_thinking: bool | None = None,
    ):
        input_ids, loss_mask, attention_mask, inputs = super()._process_single_message(
            index, message, full_message, tools=tools, enable_thinking=enable_thinking
        )
        last = max((i for i, m in enumerate(full_message) if m.get("role") == "assistant"), default=-1)
        if message.get("role") == "assistant" and index != last:
            loss_mask = loss_mask * 0  # context: an earlier turn of the trajectory
        return input_ids, loss_mask, attention_mask, inputs
