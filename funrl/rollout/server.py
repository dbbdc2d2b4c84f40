"""The rollout server: a Ray actor that holds a Hugging Face model and answers verl's ``generate`` calls.

verl's agent-loop workers call ``server.generate.remote(request_id=..., prompt_ids=..., sampling_params=...)``
once per response (a prompt's n samples are n calls) and expect a ``TokenOutput``. Concurrent calls are
gathered into batches (one batched ``generate`` per group of equal sampling settings) and run in a
thread, so the actor keeps accepting requests meanwhile. ``update_weights`` (from the worker-side
adapter, after every actor update) loads the actor's parameters; it waits for a running batch and
batches wait for it, so no response mixes two versions of the weights.

The remaining methods are the control calls verl makes on every rollout server (``wake_up``,
``sleep``, KV-cache and abort calls, profiling): there is no GPU memory to free or cache to reset, so
they do nothing. For small models and tests only (see ``funrl.rollout``).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import defaultdict
from typing import Any

import torch

from funrl.rollout.sampling import Completion, Request, bare_generation_config, parse_sampling_params, sample

logger = logging.getLogger(__name__)

BATCH_WAIT_S = 0.02
"""How long the first request of a batch waits for the others that verl sends at the same moment."""


def torch_dtype(name: str) -> torch.dtype:
    """verl's dtype names (``bfloat16``, ``bf16``, ``float32``, ``fp32``, ...) -> torch dtype."""
    from verl.utils.torch_dtypes import PrecisionType

    return PrecisionType.to_dtype(name)


class HFRolloutServer:
    """One rollout replica: a causal LM on this process's CPU (or device of ``custom.device``).

    Args:
        config: verl's ``RolloutConfig`` (``actor_rollout_ref.rollout``). Read: ``dtype``,
            ``prompt_length``, ``response_length``, ``max_model_len``, ``ignore_eos``, ``seed``,
            ``custom.stop`` / ``custom.stop_token_ids`` (default stop strings / ids for every request),
            ``custom.num_threads`` (torch threads; default all cores).
        model_config: ``actor_rollout_ref.model`` (a DictConfig or verl's ``HFModelConfig``).
        replica_rank: this replica's index.
    """

    def __init__(self, config: Any, model_config: Any, replica_rank: int = 0) -> None:
        from transformers import AutoModelForCausalLM
        from verl.utils.config import omega_conf_to_dataclass
        from verl.workers.config import HFModelConfig

        self.config = config
        self.replica_rank = replica_rank
        if not isinstance(model_config, HFModelConfig):
            model_config = omega_conf_to_dataclass(model_config, dataclass_type=HFModelConfig)
        self.model_config = model_config
        custom = dict(config.custom or {})
        threads = int(custom.get("num_threads") or os.cpu_count() or 1)
        torch.set_num_threads(threads)  # Ray pins actors started with num_cpus=0 to 1 thread
        torch.manual_seed(int(config.seed) + replica_rank)
        self.tokenizer = model_config.tokenizer
        self.model = AutoModelForCausalLM.from_pretrained(
            model_config.local_path,
            dtype=torch_dtype(config.dtype),
            attn_implementation="sdpa",
            trust_remote_code=model_config.trust_remote_code,
        ).eval()
        eos_ids = set(bare_generation_config(self.model))
        if self.tokenizer.eos_token_id is not None:
            eos_ids.add(int(self.tokenizer.eos_token_id))
        self.eos_token_ids = tuple(sorted(eos_ids))
        pad = self.tokenizer.pad_token_id
        self.pad_token_id = int(pad if pad is not None else self.eos_token_ids[0])
        self.default_stop = tuple(custom.get("stop") or ())
        self.default_stop_token_ids = tuple(int(i) for i in custom.get("stop_token_ids") or ())
        self.global_steps: int | None = None
        self.weight_updates = 0
        self._lock = asyncio.Lock()  # a batch or a weight update at a time
        self._pending: list[tuple[list[int], Request, asyncio.Future]] = []
        self._drainer: asyncio.Task | None = None
        logger.info(
            "funrl.rollout replica %d: %s (%s, %d threads), stop ids %s",
            replica_rank,
            model_config.local_path,
            config.dtype,
            threads,
            self.eos_token_ids,
        )

    async def ready(self) -> bool:
        """Returns once the model is loaded (the constructor has run)."""
        return True

    # ---- generation -------------------------------------------------------------------------------

    async def generate(
        self,
        prompt_ids: list[int],
        sampling_params: dict[str, Any],
        request_id: str,
        image_data: Any = None,
        video_data: Any = None,
        audio_data: Any = None,
        mm_processor_kwargs: Any = None,
        priority: int = 0,
        **kwargs: Any,
    ) -> Any:
        """verl's token-in-token-out call: one completion of ``prompt_ids`` -> ``TokenOutput``."""
        from verl.utils import normalize_token_ids
        from verl.workers.rollout.replica import TokenOutput

        if image_data is not None or video_data is not None or audio_data is not None or mm_processor_kwargs:
            raise NotImplementedError("funrl.rollout generates from text prompts only (no multimodal inputs)")
        given = sorted(k for k, v in kwargs.items() if v is not None)
        if given:
            raise NotImplementedError(f"funrl.rollout: generate() does not support {given}")
        prompt_ids = list(normalize_token_ids(prompt_ids))
        request = parse_sampling_params(
            sampling_params,
            prompt_len=len(prompt_ids),
            response_length=int(self.config.response_length),
            prompt_length=int(self.config.prompt_length),
            max_model_len=self.config.max_model_len,
            eos_token_ids=self.eos_token_ids,
            default_stop=self.default_stop,
            default_stop_token_ids=self.default_stop_token_ids,
            ignore_eos=bool(self.config.ignore_eos),
        )
        completion = await self._submit(prompt_ids, request)
        return TokenOutput(
            token_ids=completion.token_ids,
            log_probs=completion.log_probs if request.want_log_probs else None,
            stop_reason="completed",  # vLLM's word for both a stop and the length limit
            extra_fields={"global_steps": self.global_steps},
        )

    async def _submit(self, prompt_ids: list[int], request: Request) -> Completion:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((prompt_ids, request, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        await asyncio.sleep(BATCH_WAIT_S)
        while self._pending:
            pending, self._pending = self._pending, []
            groups: dict[Any, list[tuple[list[int], Request, asyncio.Future]]] = defaultdict(list)
            for item in pending:
                groups[item[1].spec].append(item)
            for spec, items in groups.items():
                async with self._lock:
                    try:
                        completions = await asyncio.to_thread(
                            sample,
                            self.model,
                            [prompt for prompt, _, _ in items],
                            spec,
                            [request.max_tokens for _, request, _ in items],
                            pad_token_id=self.pad_token_id,
                            tokenizer=self.tokenizer,
                        )
                    except Exception as err:  # hand the failure to every waiting request
                        for _, _, future in items:
                            if not future.done():
                                future.set_exception(err)
                        continue
                for (_, _, future), completion in zip(items, completions, strict=True):
                    if not future.done():
                        future.set_result(completion)

    # ---- weights ----------------------------------------------------------------------------------

    async def update_weights(
        self, named_tensors: list[tuple[str, torch.Tensor]], global_steps: int | None
    ) -> int:
        """Load the actor's parameters (Hugging Face names); return how many tensors were loaded.

        Raises ValueError on a name the model does not have, a shape mismatch, or a model tensor left
        without a value (tied weights count as given when their twin is).
        """
        async with self._lock:
            loaded = load_named_tensors(self.model, named_tensors)
            self.global_steps = global_steps
            self.weight_updates += 1
        return loaded

    async def weight_version(self) -> dict[str, Any]:
        """``{"global_steps": ..., "weight_updates": ...}``: which weights the server samples from."""
        return {"global_steps": self.global_steps, "weight_updates": self.weight_updates}

    async def named_parameters(self) -> dict[str, torch.Tensor]:
        """A copy of the current parameters (for tests)."""
        async with self._lock:
            return {name: p.detach().clone() for name, p in self.model.named_parameters()}

    # ---- verl's control calls: nothing to free or reset on CPU -----------------------------------

    async def wake_up(self) -> None:
        return None

    async def sleep(self) -> None:
        return None

    async def clear_kv_cache(self) -> None:
        return None

    async def release_kv_cache(self) -> None:
        return None

    async def resume_kv_cache(self) -> None:
        return None

    async def abort_all_requests(self, reject_request: bool = False) -> None:
        return None

    async def resume_generation(self) -> None:
        return None

    async def start_profile(self, **kwargs: Any) -> None:
        return None

    async def stop_profile(self) -> None:
        return None


@torch.no_grad()
def load_named_tensors(model: torch.nn.Module, named_tensors: list[tuple[str, torch.Tensor]]) -> int:
    """Copy ``(name, tensor)`` pairs into ``model``'s state (cast to its dtype); see ``update_weights``."""
    state = model.state_dict()
    given: set[str] = set()
    for name, tensor in named_tensors:
        if name not in state:
            raise ValueError(
                f"funrl.rollout: the actor sent weight {name!r}, which the rollout model does not have"
            )
        target = state[name]
        if tuple(target.shape) != tuple(tensor.shape):
            raise ValueError(
                f"funrl.rollout: weight {name!r} has shape {tuple(tensor.shape)} from the actor but "
                f"{tuple(target.shape)} in the rollout model"
            )
        target.copy_(tensor.to(dtype=target.dtype, device=target.device))
        given.add(name)
    given_storage = {state[name].data_ptr() for name in given}
    missing = [name for name, t in state.items() if name not in given and t.data_ptr() not in given_storage]
    if missing:
        raise ValueError(f"funrl.rollout: the actor sent no value for {missing[:5]} ({len(missing)} tensors)")
    return len(given)
