"""Every recipe composes over verl's config and passes verl's own validation (plus FunRL's); overrides,
hardware profiles and the node count change exactly what they should; derived batch knobs follow."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from funrl.train import available_hardware, available_recipes, compose_config, stage_of
from funrl.train.checks import check_config

GPU_PROFILES = ["a100_80gb", "h100_80gb"]
RL_DATA = ("data.train_files=/data/rl/train.parquet", "data.val_files=/data/rl/val.parquet")
SFT_DATA = ("data.train_files=/data/sft/train.parquet",)


def resolved(*overrides: str, data: bool = True):
    """The resolved config of ``python -m funrl.train <overrides>`` (+ data paths for the recipe's stage)."""
    if data and any(o.startswith("+recipe=") for o in overrides):
        overrides += SFT_DATA if any(o.startswith("+recipe=sft_") for o in overrides) else RL_DATA
    cfg = compose_config(overrides)
    OmegaConf.resolve(cfg)
    return cfg


def flat(cfg, prefix: str = "") -> dict:
    """{dotted.key: leaf value} of a resolved config."""
    out = {}
    container = OmegaConf.to_container(cfg, resolve=True) if prefix == "" else cfg
    for key, value in container.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flat(value, name + "."))
        else:
            out[name] = value
    return out


def diff(a, b) -> set[str]:
    fa, fb = flat(a), flat(b)
    return {k for k in fa.keys() | fb.keys() if fa.get(k, "<absent>") != fb.get(k, "<absent>")}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from funrl.toy import tiny_qwen2

    return tiny_qwen2(tmp_path_factory.mktemp("tiny") / "model")


def test_the_shipped_recipes_and_profiles():
    assert {"grpo", "grpo_entropy", "sft_srml"} <= set(available_recipes())
    assert set(GPU_PROFILES) <= set(available_hardware())


@pytest.mark.parametrize("hardware", GPU_PROFILES)
@pytest.mark.parametrize("recipe", ["grpo", "grpo_entropy"])
def test_rl_recipes_pass_verl_validation(recipe, hardware):
    cfg = resolved(f"+recipe={recipe}", f"hardware={hardware}")
    assert stage_of(cfg) == "rl"
    summary = check_config(cfg)  # verl's validate_config + dataclass checks + estimator + funrl block
    assert "2 node(s) x 8 GPU(s) = 16" in summary[0]
    assert "512 prompts x 8 = 4096 responses (256 per data-parallel rank)" in summary[1]
    assert summary[-1].startswith(f"advantage estimator {recipe}")


@pytest.mark.parametrize("hardware", GPU_PROFILES + ["cpu"])
def test_sft_recipe_passes_verl_validation(hardware, tiny_model):
    cfg = resolved("+recipe=sft_srml", f"hardware={hardware}", f"model.path={tiny_model}")
    assert stage_of(cfg) == "sft"
    summary = check_config(cfg, load_model_config=True)  # verl's dataclasses, incl. the HF model config
    assert "loss: SRML, funrl.srml.alpha=0.7" in summary


def test_grpo_entropy_has_the_published_settings():
    cfg = resolved("+recipe=grpo_entropy")
    arr = cfg.actor_rollout_ref
    assert arr.model.path == "Qwen/Qwen2.5-Coder-7B-Instruct"
    assert cfg.reward.custom_reward_function.path == "pkg://funrl.reward"
    assert cfg.reward.custom_reward_function.name == "compute_score"
    assert cfg.algorithm.adv_estimator == "grpo_entropy"
    assert dict(cfg.funrl.entropy) == {"alpha": 0.4, "kappa": 2.0, "form": "sequence"}
    assert arr.rollout.n == 8 and arr.rollout.temperature == 0.7 and arr.rollout.name == "vllm"
    assert arr.actor.optim.lr == 1e-6
    assert arr.actor.use_kl_loss is True and arr.actor.kl_loss_coef == 1e-3
    assert arr.actor.entropy_coeff == 0
    assert cfg.trainer.nnodes == 2 and cfg.trainer.n_gpus_per_node == 8
    assert cfg.trainer.v1.trainer_mode == "sync" and cfg.trainer.use_v1 is True
    # W&B naming and checkpoints
    assert cfg.trainer.logger == ["console", "wandb"] and cfg.trainer.project_name == "funrl"
    assert cfg.trainer.experiment_name == "grpo_entropy_qwen2.5-coder-7b"
    assert cfg.trainer.save_freq == 20 and cfg.trainer.resume_mode == "auto"
    assert cfg.trainer.default_local_dir == "checkpoints/funrl/grpo_entropy_qwen2.5-coder-7b"
    assert cfg.data.train_files == RL_DATA[0].split("=")[1]


@pytest.mark.parametrize("recipe", ["grpo_entropy", "sft_srml"])
def test_data_files_are_required_not_verls_gsm8k_placeholders(recipe):
    cfg = resolved(f"+recipe={recipe}", data=False)
    assert cfg.data.train_files is None
    with pytest.raises(ValueError, match=r"data.train_files is required"):
        check_config(cfg)


def test_grpo_differs_from_grpo_entropy_only_in_the_entropy_term():
    changed = diff(resolved("+recipe=grpo"), resolved("+recipe=grpo_entropy"))
    assert {k for k in changed if not k.startswith("funrl.")} == {
        "algorithm.adv_estimator",
        "trainer.experiment_name",
        "trainer.default_local_dir",  # checkpoints/<project>/<experiment>
        "actor_rollout_ref.rollout.trace.experiment_name",  # verl copies the experiment name
    }
    assert {k for k in changed if k.startswith("funrl.")} == {
        "funrl.entropy.alpha",
        "funrl.entropy.kappa",
        "funrl.entropy.form",
    }


def test_h100_profile_changes_only_vllm_tensor_parallelism():
    changed = diff(resolved("+recipe=grpo_entropy"), resolved("+recipe=grpo_entropy", "hardware=h100_80gb"))
    assert changed == {"actor_rollout_ref.rollout.tensor_model_parallel_size"}
    cfg = resolved("+recipe=grpo_entropy", "hardware=h100_80gb")
    assert check_config(cfg)[3] == "rollout: vllm, tensor parallel 1 -> 16 replica(s)"


def test_node_count_is_one_override():
    base, four = resolved("+recipe=grpo_entropy"), resolved("+recipe=grpo_entropy", "trainer.nnodes=4")
    assert diff(base, four) == {"trainer.nnodes"}
    summary = check_config(four)
    assert "4 node(s) x 8 GPU(s) = 32" in summary[0]
    assert "(128 per data-parallel rank)" in summary[1] and "(32 per rank)" in summary[2]
    sft = resolved("+recipe=sft_srml", "trainer.nnodes=2")
    assert diff(resolved("+recipe=sft_srml"), sft) == {"trainer.nnodes"}


def test_a_node_count_that_does_not_divide_the_batch_fails_before_anything_starts():
    with pytest.raises(ValueError, match=r"4096 responses is not divisible by the 24 data-parallel ranks"):
        check_config(resolved("+recipe=grpo_entropy", "trainer.nnodes=3"))
    with pytest.raises(
        ValueError, match=r"data.train_batch_size=512 samples is not divisible by the 24 GPUs"
    ):
        check_config(resolved("+recipe=sft_srml", "trainer.nnodes=3"))
    with pytest.raises(
        ValueError, match=r"tensor_model_parallel_size=4 must divide trainer.n_gpus_per_node=6"
    ):
        check_config(
            resolved(
                "+recipe=grpo",
                "trainer.n_gpus_per_node=6",
                "actor_rollout_ref.rollout.tensor_model_parallel_size=4",
                "data.train_batch_size=384",
            )
        )


def test_batch_and_token_knobs_are_derived():
    cfg = resolved("+recipe=grpo_entropy")
    arr = cfg.actor_rollout_ref
    assert arr.actor.ppo_mini_batch_size == 512 // 4
    assert arr.actor.ppo_max_token_len_per_gpu == 2 * (4096 + 8192)
    assert arr.ref.log_prob_max_token_len_per_gpu == 3 * (4096 + 8192)
    assert arr.rollout.log_prob_max_token_len_per_gpu == 3 * (4096 + 8192)
    assert arr.ref.log_prob_use_dynamic_bsz is True and arr.rollout.log_prob_use_dynamic_bsz is True
    assert arr.rollout.prompt_length == 4096 and arr.rollout.response_length == 8192
    cfg = resolved("+recipe=grpo_entropy", "data.train_batch_size=256", "data.max_response_length=2048")
    arr = cfg.actor_rollout_ref
    assert arr.actor.ppo_mini_batch_size == 64
    assert arr.actor.ppo_max_token_len_per_gpu == 2 * (4096 + 2048)
    assert arr.rollout.log_prob_max_token_len_per_gpu == 3 * (4096 + 2048)
    assert resolved("+recipe=sft_srml", "data.max_length=2048").data.max_token_len_per_gpu == 4 * 2048
    with pytest.raises(Exception, match=r"130 is not a whole multiple of 4"):
        resolved("+recipe=grpo", "data.train_batch_size=130")  # the key: tests/train/test_checks.py


# What verl's SFT trainer needs on CPU (funrl.cpu's module docstring says why each one).
CPU_SFT_SETTINGS = {
    "trainer.device": "cpu",
    "engine.strategy": "fsdp2",
    "engine.use_torch_compile": False,
    "engine.model_dtype": "fp32",
    "engine.mixed_precision.param_dtype": "fp32",
    "engine.mixed_precision.reduce_dtype": "fp32",
    "engine.mixed_precision.buffer_dtype": "fp32",
    "model.use_remove_padding": False,
    "model.enable_gradient_checkpointing": False,
    "model.override_config.attn_implementation": "sdpa",
}


def test_cpu_sft_profile_holds_the_cpu_settings():
    cfg = resolved("+recipe=sft_srml", "hardware=cpu")
    for key, expected in CPU_SFT_SETTINGS.items():
        assert OmegaConf.select(cfg, key) == expected, key
    assert cfg.trainer.n_gpus_per_node == 1


def test_cpu_grpo_recipe_takes_one_optimizer_step_per_training_step():
    """grpo_entropy_cpu: 4 prompts x 4 samples at temperature 1, lr 1e-4, and one Adam step on all of them
    per training step (grpo's batch / 4 would be 4 steps on one prompt's group each; docs/cpu_demo.md)."""
    cfg = resolved("+recipe=grpo_entropy_cpu")
    arr = cfg.actor_rollout_ref
    assert (cfg.data.train_batch_size, arr.rollout.n, arr.rollout.temperature) == (4, 4, 1.0)
    assert arr.actor.optim.lr == 1e-4
    assert arr.actor.ppo_mini_batch_size == 4
    assert arr.actor.ppo_epochs == 1
    assert cfg.algorithm.adv_estimator == "grpo_entropy"
    assert (
        resolved(
            "+recipe=grpo_entropy_cpu", "data.train_batch_size=8"
        ).actor_rollout_ref.actor.ppo_mini_batch_size
        == 8
    )


def test_funrl_block_errors_name_the_key():
    with pytest.raises(ValueError, match=r"funrl.entropy.apha"):
        check_config(resolved("+recipe=grpo_entropy", "+funrl.entropy.apha=0.3"))
    with pytest.raises(ValueError, match=r"funrl.srml.alpha"):
        check_config(resolved("+recipe=sft_srml", "funrl.srml.alpha=1.5"))


def test_missing_or_unknown_recipe():
    with pytest.raises(
        ValueError, match=r"no recipe selected: add \+recipe=<name> \(one of: grpo, grpo_entropy"
    ):
        stage_of(resolved())
    with pytest.raises(Exception, match=r"Could not find 'recipe/nope'"):
        compose_config(["+recipe=nope"])


@pytest.fixture(scope="module")
def full_batch_data(tmp_path_factory) -> dict[str, tuple[str, ...]]:
    """512-row RL and SFT parquet files: one full batch of every shipped recipe (the largest is 512)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from funrl.samples import sft_sample_rows
    from tests.train.conftest import write_rl_parquet

    d = tmp_path_factory.mktemp("full_batch")
    rl = write_rl_parquet(d / "rl.parquet", rows=512)
    rows = sft_sample_rows()
    pq.write_table(pa.Table.from_pylist((rows * (512 // len(rows) + 1))[:512]), d / "sft.parquet")
    return {
        "rl": (f"data.train_files={rl}", f"data.val_files={rl}"),
        "sft": (f"data.train_files={d / 'sft.parquet'}",),
    }


@pytest.mark.parametrize("recipe", available_recipes())
def test_every_shipped_recipe_composes_and_passes_validation(recipe, tiny_model, full_batch_data):
    """Discovered, not listed: a recipe added to recipes/recipe/ is covered as soon as it exists: it composes,
    and passes what ``--check`` runs (config, batch arithmetic, data files, model path, chat template)."""
    from funrl.train.inputs import check_inputs

    stage = stage_of(compose_config([f"+recipe={recipe}"]))
    model = "model.path" if stage == "sft" else "actor_rollout_ref.model.path"
    cfg = resolved(f"+recipe={recipe}", *full_batch_data[stage], f"{model}={tiny_model}", data=False)
    summary = check_config(cfg)
    assert any(line.startswith("per step: ") for line in summary)  # the batch arithmetic was checked
    assert f"model: {tiny_model}" in check_inputs(cfg)
