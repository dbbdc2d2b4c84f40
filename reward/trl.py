"""FunRL's reward as a TRL reward function: ``GRPOTrainer(reward_funcs=[BFCLReward()])``.

TRL calls a reward function as ``f(prompts=..., completions=..., completion_ids=..., **columns)`` where
``columns`` holds every other dataset column, one value per completion, and expects one float per
completion back. :class:`BFCLReward` reads each completion's ground truth (the documented JSON, as a
string or an object) from a dataset column:

* ``ground_truth`` (the default ``column``), or
* ``reward_model`` -> ``{"ground_truth": ...}``: the RL parquet that ``funrl.data_prep`` writes for verl
  has it there, and its ``prompt`` column is already TRL's conversational format, so that parquet
  trains in TRL as it is::

    from datasets import load_dataset
    from trl import GRPOConfig, GRPOTrainer
    from funrl.reward.trl import BFCLReward

    dataset = load_dataset("parquet", data_files="out/rl.parquet", split="train")
    trainer = GRPOTrainer(model="Qwen/Qwen2.5-1.5B-Instruct", reward_funcs=[BFCLReward()],
                          args=GRPOConfig(output_dir="grpo-bfcl"), train_dataset=dataset)

Completions may be strings (standard datasets) or message lists (conversational: the assistant
messages' text is scored). The format-ok rate is logged as ``funrl/format_ok`` and each completion's
error type is added to TRL's completions table when the trainer offers ``log_metric`` / ``log_extra``.
A missing column or a malformed ground truth raises (``KeyError`` / ``GroundTruthError``): it is a data
bug, never a zero reward. This module imports neither trl nor torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .api import load_ground_truth, score_prepared
from .decode import check_format


def completion_text(completion: Any) -> str:
    """A TRL completion as text: a string as it is; a list of messages -> its assistant messages' text."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, (list, tuple)):
        parts = []
        for message in completion:
            if not isinstance(message, dict):
                raise TypeError(f"completion message: expected a dict, got {type(message).__name__}")
            if message.get("role", "assistant") != "assistant":
                continue
            content = message.get("content") or ""
            if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            parts.append(content)
        return "".join(parts)
    raise TypeError(f"completion: expected a string or a list of messages, got {type(completion).__name__}")


class BFCLReward:
    """The binary BFCL AST reward for TRL (``(completions, **kwargs) -> list[float]``).

    Args:
        column: the dataset column holding each sample's ground-truth JSON; when the batch has no such
            column, ``reward_model[i]["ground_truth"]`` (the RL parquet's layout) is used.
        fmt, require_think: override every ground truth's own (``None``: keep them).
        name: the name TRL logs the reward under (``rewards/<name>/mean``).
    """

    def __init__(
        self,
        column: str = "ground_truth",
        *,
        fmt: str | None = None,
        require_think: bool | None = None,
        name: str = "funrl_bfcl",
    ) -> None:
        if fmt is not None:
            check_format(fmt)
        self.column = column
        self.fmt = fmt
        self.require_think = require_think
        self.__name__ = name

    def ground_truths(self, n: int, columns: dict) -> Sequence[Any]:
        if self.column in columns:
            values = columns[self.column]
        elif "reward_model" in columns:
            values = [rm["ground_truth"] if isinstance(rm, dict) else None for rm in columns["reward_model"]]
        else:
            have = sorted(k for k in columns if k not in ("trainer_state", "log_extra", "log_metric"))
            raise KeyError(
                f"BFCLReward: the batch has no {self.column!r} column (nor reward_model.ground_truth); "
                f"columns: {have}. Pass BFCLReward(column=...) naming the ground-truth column."
            )
        if len(values) != n:
            raise ValueError(f"BFCLReward: {len(values)} ground truths for {n} completions")
        return values

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float]:
        gts = self.ground_truths(len(completions), kwargs)
        results = []
        for i, (completion, gt) in enumerate(zip(completions, gts)):
            if gt is None:
                raise KeyError(f"BFCLReward: completion {i} has no ground truth ({self.column!r} is null)")
            results.append(
                score_prepared(
                    load_ground_truth(gt),
                    completion_text(completion),
                    fmt=self.fmt,
                    require_think=self.require_think,
                )
            )
        log_metric, log_extra = kwargs.get("log_metric"), kwargs.get("log_extra")
        if callable(log_metric) and results:
            log_metric("funrl/format_ok", sum(r.format_ok for r in results) / len(results))
        if callable(log_extra):
            log_extra("funrl_error_type", [r.error_type or "" for r in results])
        return [float(r) for r in results]


bfcl_reward = BFCLReward()
"""Ready to use: ``GRPOTrainer(reward_funcs=[bfcl_reward])`` with a ``ground_truth`` or ``reward_model`` column."""
