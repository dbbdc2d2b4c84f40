"""The TRL adapter: exact verdicts on its own, and TRL's real GRPOTrainer training with it on CPU."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from funrl.reward import GroundTruthError, ground_truth_json, score
from funrl.reward.trl import BFCLReward, bfcl_reward, completion_text

from tests.conftest import WEATHER_FUNCTIONS

FUNCTIONS = WEATHER_FUNCTIONS
GT_PARIS = ground_truth_json(FUNCTIONS, [{"get_weather": {"city": ["Paris"], "unit": [""]}}], "simple")
GT_ROME = ground_truth_json(FUNCTIONS, [{"get_weather": {"city": ["Rome"], "unit": [""]}}], "simple")
PARIS = "<think>Paris.</think><answer>[get_weather(city='Paris')]</answer>"
ROME = "<think>Rome.</think><answer>[get_weather(city='Rome')]</answer>"


def test_module_imports_neither_trl_nor_torch():
    code = "import sys, funrl.reward.trl; print(sorted(m for m in ('trl', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_string_completions_with_a_ground_truth_column():
    completions = [PARIS, ROME, "no call", PARIS]
    gts = [GT_PARIS, GT_PARIS, GT_PARIS, json.loads(GT_ROME)]
    assert bfcl_reward(completions=completions, prompts=["p"] * 4, ground_truth=gts) == [1.0, 0.0, 0.0, 0.0]


def test_conversational_completions_and_the_rl_parquet_layout():
    completions = [[{"role": "assistant", "content": PARIS}], [{"role": "assistant", "content": ROME}]]
    reward_model = [{"style": "rule", "ground_truth": GT_PARIS}, {"style": "rule", "ground_truth": GT_ROME}]
    metrics, extra = {}, {}
    rewards = BFCLReward()(
        completions,
        reward_model=reward_model,
        log_metric=lambda k, v: metrics.__setitem__(k, v),
        log_extra=lambda k, v: extra.__setitem__(k, v),
    )
    assert rewards == [1.0, 1.0]
    assert metrics == {"funrl/format_ok": 1.0} and extra == {"funrl_error_type": ["", ""]}


def test_overrides_error_types_and_content_parts():
    parts = [[{"role": "assistant", "content": [{"type": "text", "text": "[get_weather(city='Paris')]"}]}]]
    assert completion_text(parts[0]) == "[get_weather(city='Paris')]"
    assert BFCLReward(fmt="think_answer")(parts, ground_truth=[GT_PARIS]) == [0.0]
    assert BFCLReward(fmt="python")(parts, ground_truth=[GT_PARIS]) == [1.0]
    extra = {}
    BFCLReward()([ROME], ground_truth=[GT_PARIS], log_extra=lambda k, v: extra.__setitem__(k, v))
    assert (
        extra["funrl_error_type"]
        == [score(ROME, **json.loads(GT_PARIS)).error_type]
        == ["value_error:string"]
    )


def test_data_bugs_raise():
    with pytest.raises(KeyError, match="'answer'.*columns: \\['prompts'\\]"):
        BFCLReward(column="answer")([PARIS], prompts=["p"])
    with pytest.raises(GroundTruthError, match="category"):
        bfcl_reward([PARIS], ground_truth=[GT_PARIS.replace('"simple"', '"simplest"')])
    with pytest.raises(ValueError, match="fmt"):
        BFCLReward(fmt="yaml")


TARGET = "[get_weather(city='Paris')]"


def chain_model(src: Path, dst: Path, chain: list[int], logit: float) -> Path:
    """The tiny random Qwen2 rewired into a bigram model that, after token ``chain[k]``, samples
    ``chain[k + 1]`` with logit ``logit`` against 0 for every other token.

    Every layer's output projections are zeroed, so the last hidden state is the RMS-normalised input
    embedding: the chain's tokens get orthonormal embeddings ``u_k`` (normalised: ``sqrt(d) u_k``) and the
    untied head's row for ``chain[k + 1]`` is ``logit / sqrt(d) * u_k``. A random policy that sometimes
    writes the right call, so GRPO sees rewards that differ within a group."""
    import shutil

    import torch
    from transformers import AutoModelForCausalLM, Qwen2ForCausalLM

    base = AutoModelForCausalLM.from_pretrained(src)
    config = base.config
    config.tie_word_embeddings = False
    model = Qwen2ForCausalLM(config)
    model.load_state_dict(base.state_dict(), strict=False)
    d = config.hidden_size
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.lm_head.weight.zero_()
        u = torch.linalg.qr(torch.randn(d, len(chain) - 1, generator=torch.Generator().manual_seed(0)))[0].T
        for k, (a, b) in enumerate(zip(chain[:-1], chain[1:])):
            model.model.embed_tokens.weight[a] = u[k]
            model.lm_head.weight[b] = logit / d**0.5 * u[k]
    model.save_pretrained(dst)
    for f in src.iterdir():
        if "token" in f.name or f.name.endswith(".jinja"):
            shutil.copy(f, dst / f.name)
    return dst


def _weather_dataset(path):
    """Four rows in our RL-parquet layout (Paris, Rome, Paris, Rome), read back by ``datasets``."""
    import datasets

    rows = []
    for city, gt in (("Paris", GT_PARIS), ("Rome", GT_ROME)) * 2:
        rows.append(
            {
                "prompt": [
                    {"role": "system", "content": "Call functions: " + json.dumps(FUNCTIONS)},
                    {"role": "user", "content": f"Weather in {city}?"},
                ],
                "reward_model": {"style": "rule", "ground_truth": gt},
            }
        )
    datasets.Dataset.from_list(rows).to_parquet(path)
    return datasets.load_dataset("parquet", data_files=str(path), split="train")


def test_trl_grpo_trainer_trains_two_steps_with_the_reward(tmp_path):
    """TRL's own GRPOTrainer on CPU, 2 steps, our RL-parquet layout (conversational ``prompt`` +
    ``reward_model.ground_truth``), a tiny Qwen2 built locally that writes the Paris call about half the
    time: the rewards TRL logs are the reward's own verdicts, and the policy moves."""
    pytest.importorskip("trl")
    import torch
    from transformers import AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from funrl.toy import tiny_qwen2

    src = tiny_qwen2(tmp_path / "tiny")
    tok = AutoTokenizer.from_pretrained(src)
    newline = tok.encode("\n")  # a ChatML generation prompt ends "<|im_start|>assistant\n"
    target = tok.encode(TARGET)
    chain = newline + target + [tok.eos_token_id]
    assert len(set(chain[:-1])) == len(chain) - 1, "the chain needs distinct tokens"
    # P(next link) = e^L / (e^L + V - 1); L = 9 gives ~0.94 per token, ~0.5 for the whole call.
    model_dir = chain_model(src, tmp_path / "model", chain, logit=9.0)

    dataset = _weather_dataset(tmp_path / "rl.parquet")

    calls = []

    class Recording(BFCLReward):
        def __call__(self, completions, **kwargs):
            rewards = super().__call__(completions, **kwargs)
            calls.append((completions, kwargs["prompts"], kwargs["reward_model"], rewards))
            return rewards

    args = GRPOConfig(
        output_dir=str(tmp_path / "out"),
        use_cpu=True,
        max_steps=2,
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=len(target) + 2,
        logging_steps=1,
        learning_rate=1e-2,
        report_to="none",
        save_strategy="no",
        seed=0,
        dataloader_num_workers=0,
    )
    trainer = GRPOTrainer(
        model=str(model_dir), reward_funcs=[Recording(name="bfcl")], args=args, train_dataset=dataset
    )
    before = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    trainer.train()

    assert len(calls) == 2  # one reward call per step, 8 completions (2 prompts x 4 generations) each
    rewards_seen = []
    for completions, prompts, reward_model, rewards in calls:
        assert len(completions) == len(rewards) == 8
        for completion, prompt, rm, reward in zip(completions, prompts, reward_model, rewards):
            city = prompt[-1]["content"].split()[-1].rstrip("?")
            assert json.loads(rm["ground_truth"])["possible_answer"][0]["get_weather"]["city"] == [city]
            reference = score(completion_text(completion), **json.loads(rm["ground_truth"]))
            assert reward == float(reference)  # the reward TRL got is the reward's own verdict
            assert reward == (city == "Paris" and completion_text(completion) == TARGET)
            rewards_seen.append(reward)
    assert 0.0 in rewards_seen and 1.0 in rewards_seen
    logged = [h for h in trainer.state.log_history if "rewards/bfcl/mean" in h]
    assert len(logged) == 2
    for entry, (_, _, _, rewards) in zip(logged, calls):
        assert math.isclose(entry["rewards/bfcl/mean"], sum(rewards) / len(rewards), abs_tol=1e-6)
        assert 0.0 <= entry["funrl/format_ok"] <= 1.0
    after = trainer.model.state_dict()
    assert all(torch.isfinite(v).all() for v in after.values())
    assert any(not torch.equal(before[k], after[k]) for k in before)  # a nonzero advantage moved the policy
