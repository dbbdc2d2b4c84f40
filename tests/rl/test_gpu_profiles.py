"""The GPU hardware profiles compute the old-log-prob pass's entropy with verl's chunked function, eagerly."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from funrl.train import compose_config

RL_DATA = ("data.train_files=/data/rl/train.parquet", "data.val_files=/data/rl/val.parquet")


def actor(*overrides: str):
    cfg = compose_config(("+recipe=grpo_entropy", *RL_DATA, *overrides))
    OmegaConf.resolve(cfg)
    return cfg.actor_rollout_ref.actor


@pytest.mark.parametrize("hardware", ["a100_80gb", "h100_80gb", "single_gpu_24gb"])
def test_gpu_profiles_chunk_the_entropy_in_float32_without_compile(hardware):
    got = actor(f"hardware={hardware}")
    # the engine config verl's FSDP engine reads (its ${oc.select:...} of the actor keys, resolved)
    assert got.fsdp_config.entropy_from_logits_with_chunking is True
    assert got.fsdp_config.entropy_from_logits_chunk_size == 2048
    assert got.fsdp_config.use_torch_compile is False


def test_cpu_profile_keeps_verls_unchunked_default():
    got = actor("hardware=cpu")  # the CPU profile leaves the chunking at verl's default
    assert got.fsdp_config.entropy_from_logits_with_chunking is False
