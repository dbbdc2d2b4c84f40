"""Batched sampling with a Hugging Face causal LM: verl's sampling parameters in, tokens and log-probs out.

The numerical core of the CPU rollout engine (``funrl.rollout``); torch and transformers only, no verl or
Ray, so it can be read and tested alone. Meant for small models and tests: it runs ``model.generate`` on
whatever device the model is on, with no paged KV cache, continuous batching or CUDA graphs.

What a request means (the vLLM semantics verl's agent loop is written against):

- ``temperature`` 0 is greedy decoding; otherwise sampling from ``softmax(logits / temperature)``
  restricted by ``top_k`` (-1 or 0: off) and ``top_p`` (1.0: off); ``repetition_penalty`` as in HF.
- A response ends at the first stop token (the model's EOS ids unless ``ignore_eos``, plus
  ``stop_token_ids``), which is kept as its last token, or at the token that completes one of the
  ``stop`` strings (also kept: token ids are never cut inside a token), or after ``max_tokens`` tokens.
- ``log_probs[i]`` is the log-probability of ``token_ids[i]`` under ``softmax(logits / T)`` of the raw
  logits, T = temperature (1 when greedy): temperature applied, top-k / top-p / repetition penalty not
  (vLLM's ``processed_logprobs``). That is exactly what verl's actor recomputes as ``old_log_probs``, so
  the two agree up to float error on the same weights (``rollout_corr/*`` metrics measure it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

SUPPORTED_PARAMS = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "repetition_penalty",
        "logprobs",
        "max_tokens",
        "max_new_tokens",
        "stop",
        "stop_token_ids",
        "ignore_eos",
        "n",
    }
)
"""Keys of verl's ``sampling_params`` dict this engine understands; any other key is an error."""

LOGITS_BUDGET_BYTES = 512 << 20
"""Rows of one ``generate`` call are chunked so that the kept raw logits (rows x tokens x vocab, fp32)
stay under this size."""


@dataclass(frozen=True)
class SamplingSpec:
    """How to sample; requests with equal specs can share one batched ``generate`` call.

    temperature: 0 for greedy. top_k: <= 0 for off. top_p: 1.0 for off.
    stop: stop strings. stop_token_ids: token ids that end a response (EOS ids already added).
    """

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    repetition_penalty: float = 1.0
    stop: tuple[str, ...] = ()
    stop_token_ids: tuple[int, ...] = ()

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass(frozen=True)
class Request:
    """One prompt to complete: its spec, its token budget and whether log-probs are wanted."""

    spec: SamplingSpec
    max_tokens: int
    want_log_probs: bool


@dataclass
class Completion:
    """token_ids: (n,) sampled ids; log_probs: (n,) see the module docstring; finish_reason: stop | length."""

    token_ids: list[int]
    log_probs: list[float]
    finish_reason: str


def parse_sampling_params(
    params: Mapping[str, Any],
    *,
    prompt_len: int,
    response_length: int,
    prompt_length: int,
    max_model_len: int | None,
    eos_token_ids: Sequence[int],
    default_stop: Sequence[str] = (),
    default_stop_token_ids: Sequence[int] = (),
    ignore_eos: bool = False,
) -> Request:
    """verl's per-request ``sampling_params`` dict -> a ``Request``; ValueError naming a bad key.

    The token budget is ``max_tokens`` (or ``max_new_tokens``) when given, else vLLM's server default
    ``min(response_length, prompt_length + response_length - prompt_len)``; it is clamped to what
    ``max_model_len`` leaves after the prompt, and to at least 1.
    """
    unknown = sorted(set(params) - SUPPORTED_PARAMS)
    if unknown:
        raise ValueError(
            f"funrl.rollout: unsupported sampling parameter(s) {unknown}; supported: {sorted(SUPPORTED_PARAMS)}"
        )
    if int(params.get("n", 1) or 1) != 1:
        raise ValueError(f"funrl.rollout: sampling parameter n={params['n']}: one completion per request")
    temperature = float(params.get("temperature", 1.0))
    top_p = float(params.get("top_p", 1.0))
    top_k = int(params.get("top_k", -1) if params.get("top_k") is not None else -1)
    repetition_penalty = float(params.get("repetition_penalty", 1.0) or 1.0)
    if temperature < 0:
        raise ValueError(f"funrl.rollout: sampling parameter temperature={temperature} must be >= 0")
    if not 0 < top_p <= 1:
        raise ValueError(f"funrl.rollout: sampling parameter top_p={top_p} must be in (0, 1]")
    if repetition_penalty <= 0:
        raise ValueError(
            f"funrl.rollout: sampling parameter repetition_penalty={repetition_penalty} must be > 0"
        )
    stop = params.get("stop")
    stop = tuple(default_stop) if stop is None else ((stop,) if isinstance(stop, str) else tuple(stop))
    if any(not isinstance(s, str) or not s for s in stop):
        raise ValueError(f"funrl.rollout: sampling parameter stop={stop!r} must be non-empty strings")
    extra_ids = params.get("stop_token_ids")
    extra_ids = tuple(default_stop_token_ids) if extra_ids is None else tuple(int(i) for i in extra_ids)
    ignore_eos = bool(params.get("ignore_eos", ignore_eos))
    stop_ids = tuple(dict.fromkeys((() if ignore_eos else tuple(eos_token_ids)) + extra_ids))

    if "max_tokens" in params or "max_new_tokens" in params:
        key = "max_tokens" if "max_tokens" in params else "max_new_tokens"
        max_tokens = int(params[key])
    else:
        max_tokens = min(response_length, prompt_length + response_length - prompt_len)
    if max_model_len is not None:
        room = max_model_len - prompt_len
        if room < 1:
            raise ValueError(
                f"funrl.rollout: prompt of {prompt_len} tokens leaves no room within max_model_len={max_model_len}"
            )
        max_tokens = min(max_tokens, room)
    spec = SamplingSpec(
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        repetition_penalty=repetition_penalty,
        stop=stop,
        stop_token_ids=stop_ids,
    )
    return Request(
        spec=spec, max_tokens=max(1, max_tokens), want_log_probs=bool(params.get("logprobs", False))
    )


def bare_generation_config(model: Any) -> tuple[int, ...]:
    """Replace ``model.generation_config`` by an empty one; return the EOS ids it named (the default stop ids).

    A hub model's generation config can carry sampling defaults (Qwen2.5: top_k 20, repetition_penalty
    1.05, ...) that HF would silently apply to every ``generate`` call; verl's actor knows nothing of them.
    """
    from transformers import GenerationConfig

    eos = model.generation_config.eos_token_id
    eos_ids = () if eos is None else ((eos,) if isinstance(eos, int) else tuple(eos))
    model.generation_config = GenerationConfig()
    return tuple(int(i) for i in eos_ids)


@torch.no_grad()
def sample(
    model: Any,
    prompts: Sequence[Sequence[int]],
    spec: SamplingSpec,
    max_tokens: Sequence[int],
    *,
    pad_token_id: int,
    tokenizer: Any = None,
    logits_budget_bytes: int = LOGITS_BUDGET_BYTES,
) -> list[Completion]:
    """Complete every prompt with the same ``spec``; ``max_tokens[i]`` caps prompt i's response.

    ``model`` is a Hugging Face causal LM prepared with ``bare_generation_config`` (HF fills every unset
    ``generate`` argument from ``model.generation_config``, e.g. a hub model's top_k or EOS ids). ``tokenizer`` is needed only for ``spec.stop`` strings.
    Prompts are left-padded into batches; rows are chunked to respect ``logits_budget_bytes``.
    """
    if len(prompts) != len(max_tokens):
        raise ValueError(f"{len(prompts)} prompts but {len(max_tokens)} max_tokens")
    if spec.stop and tokenizer is None:
        raise ValueError("stop strings need the tokenizer")
    if model.generation_config.eos_token_id is not None:
        raise ValueError(
            "sample() needs a model whose generation_config names no EOS (use bare_generation_config): "
            "stop ids come from the SamplingSpec only"
        )
    vocab = int(model.get_output_embeddings().weight.shape[0])
    longest = max(max_tokens, default=1)
    rows = max(1, logits_budget_bytes // (4 * vocab * longest))
    out: list[Completion] = []
    for start in range(0, len(prompts), rows):
        chunk = slice(start, start + rows)
        out += _sample_chunk(model, prompts[chunk], spec, max_tokens[chunk], pad_token_id, tokenizer)
    return out


def _sample_chunk(
    model: Any,
    prompts: Sequence[Sequence[int]],
    spec: SamplingSpec,
    max_tokens: Sequence[int],
    pad_token_id: int,
    tokenizer: Any,
) -> list[Completion]:
    device = next(model.parameters()).device
    width = max(len(p) for p in prompts)
    input_ids = torch.full((len(prompts), width), pad_token_id, dtype=torch.long)  # (B, P) left-padded
    attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)  # (B, P)
    for row, prompt in enumerate(prompts):
        if len(prompt) == 0:
            raise ValueError("funrl.rollout: empty prompt")
        input_ids[row, width - len(prompt) :] = torch.as_tensor(list(prompt), dtype=torch.long)
        attention_mask[row, width - len(prompt) :] = 1
    knobs: dict[str, Any] = {"do_sample": False}
    if not spec.greedy:  # HF warns about sampling knobs given with greedy decoding
        knobs = {"do_sample": True, "temperature": spec.temperature, "top_p": spec.top_p}
        knobs["top_k"] = spec.top_k if spec.top_k > 0 else 0  # 0: off (None would mean HF's default 50)
    generation = model.generate(
        input_ids=input_ids.to(device),
        attention_mask=attention_mask.to(device),
        max_new_tokens=max(max_tokens),
        repetition_penalty=spec.repetition_penalty,
        # None: no stop id; only max_new_tokens ends generation (generation_config holds no EOS either)
        eos_token_id=list(spec.stop_token_ids) or None,
        pad_token_id=pad_token_id,
        return_dict_in_generate=True,
        output_logits=True,
        **knobs,
    )
    tokens = generation.sequences[:, width:].cpu()  # (B, L)
    logits = torch.stack(generation.logits, dim=1).float().cpu()  # (B, L, V) raw, before any processor
    temperature = spec.temperature if not spec.greedy else 1.0
    log_probs = torch.log_softmax(logits / temperature, dim=-1)  # (B, L, V)
    token_log_probs = log_probs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)  # (B, L)
    stop_ids = set(spec.stop_token_ids)
    completions = []
    for row in range(len(prompts)):
        ids = tokens[row].tolist()
        end, reason = _response_end(ids, max_tokens[row], stop_ids, spec.stop, tokenizer)
        completions.append(Completion(ids[:end], token_log_probs[row, :end].tolist(), reason))
    return completions


def _response_end(
    ids: list[int], max_tokens: int, stop_ids: set[int], stop: tuple[str, ...], tokenizer: Any
) -> tuple[int, str]:
    """Length of the response within ``ids`` (generated tokens, possibly padded) and why it ended."""
    limit = min(max_tokens, len(ids))
    for i in range(limit):
        if ids[i] in stop_ids:
            return i + 1, "stop"
    if stop:
        text = tokenizer.decode(ids[:limit], skip_special_tokens=False)
        if any(s in text for s in stop):
            for i in range(limit):  # the first token whose prefix contains a stop string
                prefix = tokenizer.decode(ids[: i + 1], skip_special_tokens=False)
                if any(s in prefix for s in stop):
                    return i + 1, "stop"
    return limit, "length"
