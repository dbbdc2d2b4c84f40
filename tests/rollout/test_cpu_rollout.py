"""The funrl_hf rollout engine (funrl/rollout/): sampling semantics, log-probs, weights, verl registration.

Sampling is checked against independent references on a tiny random Qwen2: a teacher-forced forward pass
of the unpadded sequence (log-probs, greedy argmax, the top-p nucleus) and the softmax itself (empirical
frequencies). The server and the worker-side adapter run as real Ray actors with verl's own config
classes; registration is checked in fresh processes through verl's entry-point loading.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest
import torch

from funrl.rollout.sampling import SamplingSpec, bare_generation_config, parse_sampling_params, sample
from funrl.rollout.server import load_named_tensors
from funrl.toy import tiny_qwen2

PROMPTS = [
    "What's the weather like in Lisbon right now?",
    "hi",
    "Book a table for two at 8pm, then call get_weather(city='Paris').",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tiny_qwen2(tmp_path_factory.mktemp("tiny_qwen2"))


@pytest.fixture(scope="module")
def lm(model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa")
    eos_ids = bare_generation_config(model.eval())
    prompts = [tokenizer(text).input_ids for text in PROMPTS]
    return model, tokenizer, prompts, eos_ids


def teacher_forced_log_probs(model, prompt, response, temperature=1.0):
    """(len(response), V) log_softmax(logits / T) at each response position, from one unpadded forward."""
    ids = torch.tensor([list(prompt) + list(response)])
    with torch.no_grad():
        logits = model(ids).logits[0, len(prompt) - 1 : -1].float()  # (n, V)
    return torch.log_softmax(logits / temperature, dim=-1)


def test_log_probs_are_the_sampled_tokens_under_the_tempered_softmax(lm):
    model, tokenizer, prompts, _ = lm
    spec = SamplingSpec(temperature=0.7, top_p=0.9, top_k=40)
    torch.manual_seed(0)
    out = sample(model, prompts, spec, [24, 17, 30], pad_token_id=tokenizer.pad_token_id)
    for prompt, completion, limit in zip(prompts, out, [24, 17, 30]):
        assert len(completion.token_ids) == limit and completion.finish_reason == "length"
        ref = teacher_forced_log_probs(model, prompt, completion.token_ids, temperature=0.7)
        expected = ref.gather(-1, torch.tensor(completion.token_ids)[:, None]).squeeze(-1)
        torch.testing.assert_close(torch.tensor(completion.log_probs), expected, atol=2e-5, rtol=0)


def test_greedy_is_the_argmax_and_deterministic(lm):
    model, tokenizer, prompts, _ = lm
    first = sample(model, prompts, SamplingSpec(temperature=0), [12] * 3, pad_token_id=tokenizer.pad_token_id)
    again = sample(model, prompts, SamplingSpec(temperature=0), [12] * 3, pad_token_id=tokenizer.pad_token_id)
    for prompt, a, b in zip(prompts, first, again):
        assert a.token_ids == b.token_ids
        ref = teacher_forced_log_probs(model, prompt, a.token_ids)
        assert a.token_ids == ref.argmax(-1).tolist()
        torch.testing.assert_close(torch.tensor(a.log_probs), ref.max(-1).values, atol=2e-5, rtol=0)


def test_top_k_one_samples_the_argmax(lm):
    model, tokenizer, prompts, _ = lm
    greedy = sample(
        model, prompts, SamplingSpec(temperature=0), [10] * 3, pad_token_id=tokenizer.pad_token_id
    )
    top1 = sample(
        model, prompts, SamplingSpec(temperature=1.3, top_k=1), [10] * 3, pad_token_id=tokenizer.pad_token_id
    )
    assert [c.token_ids for c in top1] == [c.token_ids for c in greedy]


def test_top_p_keeps_every_token_inside_the_nucleus(lm):
    model, tokenizer, prompts, _ = lm
    torch.manual_seed(1)
    out = sample(
        model,
        prompts * 4,
        SamplingSpec(temperature=1.0, top_p=0.3),
        [20] * 12,
        pad_token_id=tokenizer.pad_token_id,
    )
    for prompt, completion in zip(prompts * 4, out):
        probs = teacher_forced_log_probs(model, prompt, completion.token_ids).exp()  # (n, V)
        for position, token in enumerate(completion.token_ids):
            p = probs[position]
            # the nucleus: tokens whose more-probable predecessors sum to less than top_p
            ahead = p[p > p[token]].sum().item()
            assert ahead < 0.3 + 1e-5, f"token {token} at {position} is outside the 0.3 nucleus ({ahead:.3f})"


def test_temperature_and_top_k_give_the_renormalised_softmax(lm):
    model, tokenizer, prompts, _ = lm
    prompt = prompts[0]
    rows = 3000
    torch.manual_seed(2)
    out = sample(
        model,
        [prompt] * rows,
        SamplingSpec(temperature=0.5, top_k=4),
        [1] * rows,
        pad_token_id=tokenizer.pad_token_id,
    )
    counts = Counter(c.token_ids[0] for c in out)
    logits = teacher_forced_log_probs(model, prompt, [0])[0]  # (V,) at T=1
    top = torch.topk(logits, 4)
    expected = torch.softmax(top.values / 0.5, dim=-1)
    assert set(counts) <= set(top.indices.tolist())
    for token, p in zip(top.indices.tolist(), expected.tolist()):
        assert abs(counts[token] / rows - p) < 0.035, (token, counts[token] / rows, p)


def test_per_request_token_budgets_in_one_batch(lm):
    model, tokenizer, prompts, _ = lm
    out = sample(
        model, prompts, SamplingSpec(temperature=1.0), [3, 9, 1], pad_token_id=tokenizer.pad_token_id
    )
    assert [len(c.token_ids) for c in out] == [3, 9, 1]
    assert all(c.finish_reason == "length" for c in out)


def test_stop_token_ends_the_response_and_is_kept(lm):
    model, tokenizer, prompts, _ = lm
    free = sample(model, prompts[:1], SamplingSpec(temperature=0), [16], pad_token_id=tokenizer.pad_token_id)[
        0
    ]
    stop_token = free.token_ids[5]
    end = free.token_ids.index(stop_token) + 1  # its first occurrence
    spec = SamplingSpec(temperature=0, stop_token_ids=(stop_token,))
    stopped = sample(model, prompts[:1], spec, [16], pad_token_id=tokenizer.pad_token_id)[0]
    assert stopped.token_ids == free.token_ids[:end]
    assert stopped.finish_reason == "stop"
    assert stopped.log_probs == pytest.approx(free.log_probs[:end], abs=1e-6)


def test_stop_string_ends_at_the_token_that_completes_it(lm):
    model, tokenizer, prompts, _ = lm
    free = sample(model, prompts[2:], SamplingSpec(temperature=0), [20], pad_token_id=tokenizer.pad_token_id)[
        0
    ]
    text = tokenizer.decode(free.token_ids)
    stop = text[len(text) // 2 : len(text) // 2 + 3]
    spec = SamplingSpec(temperature=0, stop=(stop,))
    stopped = sample(
        model, prompts[2:], spec, [20], pad_token_id=tokenizer.pad_token_id, tokenizer=tokenizer
    )[0]
    assert stopped.finish_reason == "stop"
    assert stop in tokenizer.decode(stopped.token_ids)
    assert stop not in tokenizer.decode(stopped.token_ids[:-1])
    assert stopped.token_ids == free.token_ids[: len(stopped.token_ids)]


def test_without_stop_ids_generation_runs_to_the_budget(lm):
    model, tokenizer, prompts, eos_ids = lm
    assert eos_ids == (tokenizer.eos_token_id,)
    assert model.generation_config.eos_token_id is None
    out = sample(model, prompts, SamplingSpec(temperature=1.0), [40] * 3, pad_token_id=tokenizer.pad_token_id)
    assert [len(c.token_ids) for c in out] == [40] * 3


def parse(params, prompt_len=10, **kw):
    defaults = dict(
        prompt_len=prompt_len, response_length=32, prompt_length=20, max_model_len=None, eos_token_ids=(2,)
    )
    return parse_sampling_params(params, **{**defaults, **kw})


def test_sampling_params_as_verl_sends_them():
    # the agent loop's dict: temperature, top_p, top_k, repetition_penalty, logprobs
    request = parse(
        {"temperature": 0.7, "top_p": 0.9, "top_k": -1, "repetition_penalty": 1.0, "logprobs": True}
    )
    assert request.spec == SamplingSpec(temperature=0.7, top_p=0.9, top_k=-1, stop_token_ids=(2,))
    assert request.want_log_probs
    assert request.max_tokens == 32  # vLLM's default: min(32, 20 + 32 - 10)
    assert parse({}, prompt_len=40).max_tokens == 12  # 20 + 32 - 40
    assert parse({"max_tokens": 5}).max_tokens == 5
    assert parse({"max_new_tokens": 7}).max_tokens == 7
    assert parse({}, max_model_len=25).max_tokens == 15  # room left after the prompt
    assert not parse({"logprobs": False}).want_log_probs


def test_stop_settings_and_their_defaults():
    assert parse({"stop": "</answer>"}).spec.stop == ("</answer>",)
    assert parse({}, default_stop=["</answer>"]).spec.stop == ("</answer>",)
    assert parse({"stop": []}, default_stop=["x"]).spec.stop == ()
    assert parse({"stop_token_ids": [7, 2]}).spec.stop_token_ids == (2, 7)
    assert parse({}, default_stop_token_ids=[9]).spec.stop_token_ids == (2, 9)
    assert parse({"ignore_eos": True}).spec.stop_token_ids == ()
    assert parse({}, ignore_eos=True, default_stop_token_ids=[9]).spec.stop_token_ids == (9,)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"min_p": 0.1}, "min_p"),
        ({"n": 2}, "n=2"),
        ({"temperature": -1}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"stop": [""]}, "stop"),
    ],
)
def test_bad_sampling_params_fail_naming_the_key(params, message):
    with pytest.raises(ValueError, match=message):
        parse(params)


def test_prompt_longer_than_the_model_fails():
    with pytest.raises(ValueError, match="max_model_len"):
        parse({}, prompt_len=30, max_model_len=30)


def test_weights_load_with_tied_embeddings_and_fail_loudly(model_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    new = {name: torch.randn_like(p) for name, p in model.named_parameters()}  # lm_head is tied: not listed
    assert "lm_head.weight" not in new
    assert load_named_tensors(model, list(new.items())) == len(new)
    for name, p in model.named_parameters():
        assert torch.equal(p, new[name])
    assert torch.equal(model.lm_head.weight, new["model.embed_tokens.weight"])
    with pytest.raises(ValueError, match="does not have"):
        load_named_tensors(model, [("model.nope", torch.zeros(1)), *new.items()])
    with pytest.raises(ValueError, match="shape"):
        load_named_tensors(model, [("model.norm.weight", torch.zeros(3))])
    with pytest.raises(ValueError, match="no value"):
        load_named_tensors(model, list(new.items())[1:])


def run_python(code, **env):
    full_env = {**os.environ, **env}
    full_env.pop("CUDA_VISIBLE_DEVICES", None)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout


def test_entry_point_registers_the_engine_with_verl_in_a_fresh_process():
    out = run_python(
        "import verl\n"
        "from verl.workers.rollout.replica import RolloutReplicaRegistry\n"
        "from verl.workers.rollout.base import get_rollout_class\n"
        "print(RolloutReplicaRegistry.get('funrl_hf').__qualname__, get_rollout_class('funrl_hf').__qualname__)\n"
    )
    assert out.split() == ["HFRolloutReplica", "HFServerAdapter"]


@pytest.mark.slow
def test_cpu_mode_process_gets_verls_cpu_platform_and_a_gloo_group():
    code = (
        "import os, verl, torch.distributed as dist\n"
        "from verl.utils.device import get_device_name, get_nccl_backend\n"
        "from verl.utils.distributed import initialize_global_process_group_ray\n"
        "from verl.workers.engine.fsdp import transformer_impl\n"
        "os.environ.update(RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1', MASTER_PORT='29517')\n"
        "initialize_global_process_group_ray()  # verl's own call: backend cpu:gloo,cpu:gloo\n"
        "print(get_device_name(), get_nccl_backend(), dist.get_backend(),\n"
        "      transformer_impl.CPUOffloadPolicy(pin_memory=True).pin_memory)\n"
    )
    assert run_python(code, VERL_PLATFORM="cpu").split() == ["cpu", "gloo", "gloo", "False"]


@pytest.fixture(scope="module")
def ray_local():
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_server_and_adapter_as_ray_actors_sync_weights(ray_local, model_dir, lm):
    """The real server actor answers verl's generate call; the adapter (as verl calls it after an actor
    update) makes it sample from the new weights, found by the server's Ray name."""
    import asyncio

    ray = ray_local
    from omegaconf import OmegaConf
    from transformers import AutoModelForCausalLM
    from verl.workers.config import HFModelConfig, RolloutConfig

    from funrl.rollout.replica import HFServerAdapter, server_name
    from funrl.rollout.server import HFRolloutServer

    config = RolloutConfig(name="funrl_hf", tensor_model_parallel_size=1, dtype="float32", response_length=8)
    model_config = OmegaConf.create({"path": str(model_dir)})
    server = (
        ray.remote(HFRolloutServer)
        .options(name=server_name(0), num_cpus=0)
        .remote(config=config, model_config=model_config, replica_rank=0)
    )
    _, tokenizer, prompts, _ = lm
    greedy = {"temperature": 0, "top_p": 1.0, "top_k": -1, "repetition_penalty": 1.0, "logprobs": True}
    before = ray.get(server.generate.remote(prompt_ids=prompts[0], sampling_params=greedy, request_id="a"))
    assert len(before.token_ids) == 8 and len(before.log_probs) == 8
    assert before.stop_reason == "completed" and before.extra_fields == {"global_steps": None}

    actor = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    torch.manual_seed(3)
    with torch.no_grad():
        for p in actor.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    adapter = HFServerAdapter(
        config=config, model_config=HFModelConfig(path=str(model_dir)), device_mesh=None
    )
    drained = []

    def weights():  # a generator, as verl hands it over; every item must be consumed
        for name, tensor in actor.state_dict().items():
            drained.append(name)
            yield name, tensor

    asyncio.run(adapter.update_weights(weights(), peft_config=None, base_sync_done=True, global_steps=7))
    assert drained == list(actor.state_dict())
    assert ray.get(server.weight_version.remote()) == {"global_steps": 7, "weight_updates": 1}
    served = ray.get(server.named_parameters.remote())
    for name, p in actor.named_parameters():
        assert torch.equal(served[name], p), name

    after = ray.get(server.generate.remote(prompt_ids=prompts[0], sampling_params=greedy, request_id="b"))
    ref = teacher_forced_log_probs(actor, prompts[0], after.token_ids)
    assert after.token_ids == ref.argmax(-1).tolist()
    assert after.token_ids != before.token_ids
    assert after.extra_fields["global_steps"] == 7

    # concurrent requests are batched and each still gets its own answer
    many = ray.get(
        [
            server.generate.remote(
                prompt_ids=p, sampling_params={**greedy, "max_tokens": k}, request_id=str(k)
            )
            for k, p in zip((2, 5, 3), prompts)
        ]
    )
    assert [len(o.token_ids) for o in many] == [2, 5, 3]
    assert many[0].token_ids == after.token_ids[:2]
    with pytest.raises(Exception, match="unsupported sampling parameter"):
        ray.get(server.generate.remote(prompt_ids=prompts[0], sampling_params={"min_p": 0.1}, request_id="c"))
