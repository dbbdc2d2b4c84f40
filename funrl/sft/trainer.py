"""verl's SFT trainer with the SRML loss (``funrl.sft.loss``): one overridden method, no copy of verl's loop.

Run through the one training entry point (it starts torchrun for a one-node multi-GPU run, prepares the
device and the process group, then calls ``run_srml_sft`` in every process)::

    python -m funrl.train +recipe=sft_srml data.train_files=... [hardware=cpu|a100_80gb|h100_80gb]

What the subclass changes (``SRMLSFTTrainer._build_engine``):

- the loss is ``srml_sft_loss`` (alpha from ``funrl.srml.alpha``: a float in [0, 1] or ``token_share`` for
  plain SFT);
- the training client is wrapped by ``SegmentCountingClient``, which, before each ``train_batch`` /
  ``infer_batch``, counts the THINK and CALL tokens of the rank's batch, all-reduces the counts over the
  data-parallel group (one collective of two integers) and hands them to the loss, so both segment means
  are normalised over the whole global batch; after the step it turns the loss's per-micro-batch parts
  into per-step metrics.

``funrl.srml.enable=false`` runs verl's stock ``SFTTrainer`` instead, through the same entry point.

Metrics logged per step (besides verl's ``train/loss``, which equals ``train/L_total``): ``train/L_think``,
``train/L_call``, ``train/L_total``, ``train/n_think_tokens``, ``train/n_call_tokens`` (global counts),
``train/w_think`` (the effective weight of ``L_think``).
"""

from __future__ import annotations

import gc
from functools import partial
from typing import Any

import torch
import torch.distributed
from tensordict import TensorDict
from verl.trainer.sft_trainer import SFTTrainer
from verl.utils import tensordict_utils as tu
from verl.utils.dataset.dataset_utils import DatasetPadMode
from verl.utils.device import get_device_id

from funrl.config import funrl_config_from
from funrl.sft.loss import CALL, THINK, segment_weights, srml_loss

NUM_THINK_KEY = "srml_num_think_tokens"
NUM_CALL_KEY = "srml_num_call_tokens"
_THINK_PART = "srml/think_part"
_CALL_PART = "srml/call_part"


def srml_sft_loss(
    config: Any, model_output: dict, data: TensorDict, dp_group: Any = None, *, alpha: float | str
) -> tuple[torch.Tensor, dict[str, float]]:
    """verl loss-function adapter (signature of ``verl.workers.utils.losses.sft_loss``) for SRML.

    ``model_output["log_probs"]`` is nested (bsz, j): at position t, the log-probability of token t + 1;
    ``data["segment_ids"]`` is nested (bsz, j) per input token, so it is shifted left by one to align
    with the predictions, exactly as verl shifts ``loss_mask``.
    """
    pad_mode = tu.get_non_tensor_data(data=data, key="pad_mode", default=DatasetPadMode.NO_PADDING)
    if pad_mode != DatasetPadMode.NO_PADDING:
        raise ValueError(f"the SRML loss needs data.pad_mode=no_padding, got {pad_mode!r}")
    if "segment_ids" not in data.keys():
        raise KeyError(
            "the SRML loss needs per-token 'segment_ids' in the batch: set "
            "data.custom_cls.path=pkg://funrl.sft.dataset data.custom_cls.name=SRMLSFTDataset"
        )
    num_think = tu.get_non_tensor_data(data=data, key=NUM_THINK_KEY, default=None)
    num_call = tu.get_non_tensor_data(data=data, key=NUM_CALL_KEY, default=None)
    if num_think is None or num_call is None:
        raise KeyError("global segment counts missing: the SRML loss must run through SegmentCountingClient")
    log_probs = model_output["log_probs"].values()  # (T,) T = tokens in the micro-batch
    segment_ids = torch.roll(data["segment_ids"].values(), shifts=-1, dims=0)  # (T,) aligned with log_probs
    loss, parts = srml_loss(
        log_probs, segment_ids, alpha=alpha, num_think=num_think, num_call=num_call, dp_size=data["dp_size"]
    )
    return loss, {_THINK_PART: parts.think, _CALL_PART: parts.call}


def _flat_sum(value: Any) -> float:
    if isinstance(value, list | tuple):
        return float(sum(_flat_sum(v) for v in value))
    return float(value)


class SegmentCountingClient:
    """Wraps verl's ``TrainingWorker``: adds global segment counts before a batch, SRML metrics after.

    Every other attribute is the wrapped worker's.
    """

    def __init__(self, worker: Any, alpha: float | str) -> None:
        self._worker = worker
        self._alpha = alpha

    def __getattr__(self, name: str) -> Any:
        return getattr(self._worker, name)

    def _add_global_counts(self, data: TensorDict) -> tuple[int, int]:
        segment_ids = data["segment_ids"]
        flat = segment_ids.values() if segment_ids.is_nested else segment_ids.reshape(-1)  # (T_rank,)
        counts = torch.stack([(flat == THINK).sum(), (flat == CALL).sum()]).to(get_device_id())  # (2,)
        engine = self._worker.engine
        if engine.get_data_parallel_size() > 1:
            torch.distributed.all_reduce(counts, group=engine.get_data_parallel_group())
        num_think, num_call = (int(c) for c in counts.tolist())
        tu.assign_non_tensor(data, **{NUM_THINK_KEY: num_think, NUM_CALL_KEY: num_call})
        return num_think, num_call

    def _finish_metrics(self, output: TensorDict | None, num_think: int, num_call: int) -> TensorDict | None:
        if output is None:
            return output
        metrics = tu.get(output, "metrics")
        if _THINK_PART in metrics:
            l_think = _flat_sum(metrics.pop(_THINK_PART))
            l_call = _flat_sum(metrics.pop(_CALL_PART))
            w_think, w_call = segment_weights(self._alpha, num_think, num_call)
            metrics.update(
                {
                    "train/L_think": l_think,
                    "train/L_call": l_call,
                    "train/L_total": w_think * l_think + w_call * l_call,
                    "train/n_think_tokens": num_think,
                    "train/n_call_tokens": num_call,
                    "train/w_think": w_think,
                }
            )
            tu.assign_non_tensor(output, metrics=metrics)
        return output

    def train_batch(self, data: TensorDict) -> TensorDict | None:
        counts = self._add_global_counts(data)
        return self._finish_metrics(self._worker.train_batch(data), *counts)

    def infer_batch(self, data: TensorDict) -> TensorDict | None:
        counts = self._add_global_counts(data)
        output = self._finish_metrics(self._worker.infer_batch(data), *counts)
        if output is not None:  # verl's validation loop reads only "loss"; keep the val metrics clean
            metrics = tu.get(output, "metrics")
            tu.assign_non_tensor(
                output, metrics={k: v for k, v in metrics.items() if not k.startswith("train/")}
            )
        return output


class SRMLSFTTrainer(SFTTrainer):
    """verl ``SFTTrainer`` training with SRML; config key ``funrl.srml.alpha`` (float in [0, 1] or token_share)."""

    def _build_engine(self) -> None:
        alpha = funrl_config_from(self.config).srml.alpha
        super()._build_engine()
        self.loss_fn = partial(srml_sft_loss, None, alpha=alpha)
        self.training_client.set_loss_fn(loss_fn=self.loss_fn)
        self.training_client = SegmentCountingClient(self.training_client, alpha)


def run_srml_sft(config: Any) -> None:
    """Run SFT under an already composed ``sft_trainer_engine`` config, in a process whose device and
    process group are ready (``funrl.train.runners`` does both: ``python -m funrl.train +recipe=sft_srml``).

    ``funrl.srml.enable=false`` runs verl's own ``SFTTrainer`` and ``sft_loss`` instead of SRML (A/B runs and
    the benchmark baseline; the segment ids are then unused).
    """
    trainer_cls = SRMLSFTTrainer if funrl_config_from(config).srml.enable else SFTTrainer
    trainer = trainer_cls(config=config)
    # verl runs a full gc.collect() at the start of every epoch (``aggressive_empty_cache``). With torch,
    # transformers and verl loaded that scans millions of long-lived objects (~0.5 s on a laptop CPU, every
    # epoch: most of a short-epoch CPU run). Everything alive now lives for the whole run, so move it out
    # of the collector's reach; objects made during training are collected as before.
    gc.freeze()
    trainer.fit()
