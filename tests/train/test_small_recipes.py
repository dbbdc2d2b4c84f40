"""The single-GPU profile and the small-model recipes (``sft_srml_small``, ``grpo_entropy_small``,
``grpo_entropy_small_lora``): what each sets, their batch arithmetic on one GPU, and that they pass what
``--check`` runs (config, data files, model path, chat template). That every recipe composes and passes is
also covered by ``test_recipes.test_every_shipped_recipe_composes_and_passes_validation`` (discovered)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from funrl.train import available_hardware, available_recipes, compose_config
from funrl.train.checks import check_config
from funrl.train.runners import prepare
from tests.train.test_recipes import diff, resolved

SMALL = ["sft_srml_small", "grpo_entropy_small", "grpo_entropy_small_lora"]


@pytest.fixture(scope="module")
def rl_512(tmp_path_factory):
    from tests.train.conftest import write_rl_parquet

    return write_rl_parquet(tmp_path_factory.mktemp("rl512") / "rl.parquet", rows=512)


def rl_args(recipe: str, inputs, rl_512, *extra: str) -> list[str]:
    return [
        f"+recipe={recipe}",
        f"data.train_files={rl_512}",
        f"data.val_files={inputs['rl']}",
        f"actor_rollout_ref.model.path={inputs['model']}",
        *extra,
    ]


def test_they_are_shipped():
    assert set(SMALL) <= set(available_recipes())
    assert "single_gpu_24gb" in available_hardware()


def test_grpo_entropy_small_on_one_gpu():
    cfg = resolved("+recipe=grpo_entropy_small")
    arr = cfg.actor_rollout_ref
    assert arr.model.path == "Qwen/Qwen2.5-1.5B-Instruct"
    assert cfg.trainer.nnodes == 1 and cfg.trainer.n_gpus_per_node == 1
    assert arr.actor.fsdp_config.param_offload and arr.actor.fsdp_config.optimizer_offload
    assert arr.ref.fsdp_config.param_offload and arr.rollout.tensor_model_parallel_size == 1
    assert arr.rollout.gpu_memory_utilization == 0.5
    assert arr.actor.ppo_max_token_len_per_gpu == 2048 + 2048  # one full-length sequence
    assert arr.ref.log_prob_max_token_len_per_gpu == 2 * (2048 + 2048)
    assert cfg.algorithm.adv_estimator == "grpo_entropy" and cfg.funrl.entropy.alpha == 0.4
    assert cfg.trainer.experiment_name == "grpo_entropy_qwen2.5-1.5b"
    summary = check_config(cfg)
    assert summary[0].startswith("1 node(s) x 1 GPU(s) = 1")
    assert summary[1] == "per step: 32 prompts x 8 = 256 responses (256 per data-parallel rank)"
    assert summary[2].startswith(
        "per actor update: 8 prompts = 64 responses (64 per rank), 4 update(s) per step"
    )
    assert summary[3] == "rollout: vllm, tensor parallel 1 -> 1 replica(s)"


def test_lora_variant_differs_only_in_lora():
    base, lora = resolved("+recipe=grpo_entropy_small"), resolved("+recipe=grpo_entropy_small_lora")
    assert {
        k for k in diff(base, lora) if "experiment_name" not in k and k != "trainer.default_local_dir"
    } == {
        "actor_rollout_ref.model.lora_rank",
        "actor_rollout_ref.model.lora_alpha",
        "actor_rollout_ref.actor.optim.lr",
        "actor_rollout_ref.rollout.load_format",
        "actor_rollout_ref.rollout.layered_summon",
    }
    arr = lora.actor_rollout_ref
    assert (arr.model.lora_rank, arr.model.lora_alpha, arr.model.target_modules) == (64, 32, "all-linear")
    assert arr.actor.optim.lr == 1e-5 and arr.rollout.load_format == "safetensors"
    assert check_config(lora)[-1] == "LoRA: rank 64, alpha 32, modules all-linear"


def test_lora_rank_above_vllms_largest_is_refused_without_vllm():
    cfg = resolved("+recipe=grpo_entropy_small_lora", "actor_rollout_ref.model.lora_rank=1024")
    with pytest.raises(ValueError, match=r"^actor_rollout_ref.model.lora_rank=1024 exceeds vLLM's largest"):
        check_config(cfg)


def test_sft_srml_small_on_one_gpu(inputs):
    cfg = resolved("+recipe=sft_srml_small", f"model.path={inputs['model']}")
    assert compose_config(["+recipe=sft_srml_small"]).model.path == "Qwen/Qwen2.5-1.5B-Instruct"
    assert cfg.trainer.nnodes == 1 and cfg.trainer.n_gpus_per_node == 1
    assert cfg.engine.param_offload and cfg.engine.optimizer_offload
    assert cfg.data.max_token_len_per_gpu == 2 * 4096
    assert cfg.data.train_batch_size == 64 and cfg.optim.lr == 1e-5 and cfg.funrl.srml.alpha == 0.7
    summary = check_config(cfg, load_model_config=True)
    assert (
        "per step: 64 samples (64 per GPU); micro-batches packed up to 8192 tokens per GPU (dynamic)"
        in summary
    )


@pytest.mark.parametrize("recipe", ["grpo_entropy_small", "grpo_entropy_small_lora"])
def test_small_rl_recipes_pass_the_check(recipe, inputs, rl_512):
    summary = prepare(compose_config(rl_args(recipe, inputs, rl_512)))
    assert "per step: 32 prompts x 8 = 256 responses (256 per data-parallel rank)" in summary
    assert f"data.train_files: {rl_512} (512 rows)" in summary
    # 16 rows cannot hold a batch of 32 prompts
    with pytest.raises(ValueError, match=r"^data.train_batch_size=32 prompts does not fit the 16 rows"):
        prepare(compose_config(rl_args(recipe, inputs, rl_512, f"data.train_files={inputs['rl']}")))


def test_sft_srml_small_batch_must_fit_the_data(inputs):
    args = ["+recipe=sft_srml_small", f"data.train_files={inputs['sft']}", f"model.path={inputs['model']}"]
    with pytest.raises(ValueError, match=r"^data.train_batch_size=64 samples does not fit the 32 rows"):
        prepare(compose_config(args))
    assert "data.train_files: " + str(inputs["sft"]) + " (32 rows)" in prepare(
        compose_config([*args, "data.train_batch_size=32"])
    )


@pytest.mark.slow
def test_lora_recipe_check_from_the_command_line(inputs, rl_512, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "funrl.train", "--check", *rl_args("grpo_entropy_small_lora", inputs, rl_512)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[funrl.train] LoRA: rank 64, alpha 32, modules all-linear" in proc.stdout
    assert "[funrl.train] config OK (--check: nothing started)" in proc.stdout
