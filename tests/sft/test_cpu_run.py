"""Real runs of verl's SFT trainer on CPU (funrl.cpu) with the SRML loss, on a tiny random Qwen2 model
and the bundled CoT + call sample: the loss goes down, the SRML metrics are logged and consistent, and
the result does not depend on the micro-batch split (1 x 8 vs 8 x 1) or on 1 vs 2 gloo ranks; with
alpha=token_share it is verl's own SFT, step for step."""

import pytest

from funrl.samples import write_sft_sample_parquet
from funrl.toy import run_sft_cpu, tiny_qwen2

STEPS = 6


def test_recipe_composes_over_verl_sft_config():
    from funrl.sft.loss import validate_alpha
    from funrl.train import compose_config

    cfg = compose_config(["+recipe=sft_srml", "funrl.srml.alpha=0.4"])
    assert cfg.model.path == "Qwen/Qwen2.5-Coder-7B-Instruct"
    assert cfg.data.train_batch_size == 512 and cfg.trainer.n_gpus_per_node == 8
    assert cfg.engine.strategy == "fsdp2" and cfg.optim.lr == 4e-5 and cfg.optim.lr_warmup_steps_ratio == 0.05
    assert cfg.data.custom_cls.name == "SRMLSFTDataset" and cfg.data.srml.end_of_turn_in_call is True
    assert validate_alpha(cfg.funrl.srml.alpha) == 0.4 and cfg.funrl.srml.enable is True


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("sft_cpu")
    tiny_qwen2(d / "model")
    write_sft_sample_parquet(d / "train.parquet")
    return d


def _run(workdir, name, *extra, nproc=1, steps=2, mbs=8, alpha="0.7"):
    overrides = [
        f"model.path={workdir / 'model'}",
        f"data.train_files={workdir / 'train.parquet'}",
        f"funrl.srml.alpha={alpha}",
        "data.train_batch_size=8",
        "data.use_dynamic_bsz=False",
        f"data.micro_batch_size_per_gpu={mbs}",
        "data.num_workers=0",
        f"trainer.total_training_steps={steps}",
        "trainer.resume_mode=disable",
        "trainer.save_freq=-1",
        "checkpoint.save_contents=[]",
        f"trainer.default_local_dir={workdir / name / 'ckpt'}",
        "optim.lr=1e-3",
        # verl's defaults (the recipe's are FunReason's 7B settings)
        "optim.lr_warmup_steps_ratio=0.0",
        "optim.lr_scheduler_type=constant",
        "data.max_length=1024",
        *extra,
    ]
    (workdir / name).mkdir(exist_ok=True)
    steps_out = run_sft_cpu(overrides, cwd=workdir / name, nproc=nproc)
    assert [s["step"] for s in steps_out] == list(range(1, steps + 1)), steps_out
    return steps_out


@pytest.fixture(scope="module")
def reference(workdir):  # slow tests depend on it
    """micro-batch 8 x 1 accumulation, one rank, alpha 0.7."""
    return _run(workdir, "ref", steps=STEPS)


@pytest.mark.slow
def test_loss_goes_down_and_srml_metrics_are_logged(reference):
    losses = [s["train/loss"] for s in reference]
    print("SRML CPU run, train/loss per step:", [round(x, 4) for x in losses])
    assert losses[-1] < losses[0] - 0.3, losses
    for s in reference:
        assert s["train/w_think"] == 0.7
        assert s["train/n_think_tokens"] > 0 and s["train/n_call_tokens"] > 0
        assert s["train/L_total"] == pytest.approx(
            0.7 * s["train/L_think"] + 0.3 * s["train/L_call"], rel=1e-6
        )
        # verl's own loss bookkeeping (sum over micro-batches, mean over ranks) agrees with ours
        assert s["train/loss"] == pytest.approx(s["train/L_total"], rel=1e-5)
    assert reference[-1]["train/L_think"] < reference[0]["train/L_think"]
    assert reference[-1]["train/L_call"] < reference[0]["train/L_call"]


def _assert_same_run(a, b, rel=2e-5):
    for sa, sb in zip(a, b, strict=False):
        for key in (
            "train/loss",
            "train/L_think",
            "train/L_call",
            "train/n_think_tokens",
            "train/n_call_tokens",
        ):
            assert sa[key] == pytest.approx(sb[key], rel=rel), (key, sa, sb)


@pytest.mark.slow
def test_micro_batch_1_x_accumulation_8_equals_8_x_1(workdir, reference):
    # step 2 compares the losses after one update, so the gradients (hence the updates) must agree too
    _assert_same_run(_run(workdir, "mbs1", mbs=1), reference)


@pytest.mark.slow
def test_two_gloo_ranks_equal_one_rank(workdir, reference):
    # global batch 8 = 2 ranks x 4: DistributedSampler gives the two ranks the same 8 samples per step
    _assert_same_run(_run(workdir, "dp2", mbs=4, nproc=2), reference)


@pytest.mark.slow
def test_token_share_is_verl_sft_step_for_step(workdir):
    ours = _run(workdir, "token_share", alpha="token_share")
    verl = _run(workdir, "verl_sft", "funrl.srml.enable=false")
    assert "train/L_think" not in verl[0]  # verl's stock trainer really ran
    for sa, sb in zip(ours, verl, strict=True):
        assert sa["train/loss"] == pytest.approx(sb["train/loss"], rel=2e-5)
        assert sa["train/w_think"] == pytest.approx(
            sa["train/n_think_tokens"] / (sa["train/n_think_tokens"] + sa["train/n_call_tokens"])
        )


# The shipped recipe itself runs on CPU through `python -m funrl.train +recipe=sft_srml hardware=cpu`
# in tests/train/test_wandb.py.
