"""verl's two sides of a rollout engine, for ``funrl.rollout``'s Hugging Face server.

- ``HFRolloutReplica`` (driver side, a ``verl.workers.rollout.replica.RolloutReplica``): verl's
  ``LLMServerManager`` builds one per replica and calls ``init_hybrid(worker_group)``; ``launch_servers``
  starts the ``HFRolloutServer`` Ray actor on the node of the replica's first training worker.
- ``HFServerAdapter`` (worker side, a ``verl.workers.rollout.base.BaseRollout``): built inside every
  training worker (``ActorRolloutRefWorker.init_model``); after every actor update verl calls its
  ``update_weights(generator)`` on every rank. Every rank drains the generator (under FSDP each item is a
  collective ``full_tensor()``); the first rank of each replica sends the tensors to its server.

Servers are named Ray actors (``server_name(replica_rank)``), which is how an adapter finds its server.
Only verl's hybrid mode (trainer and rollout colocated: the sync trainer) is supported.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

import ray
from verl.workers.rollout.base import BaseRollout
from verl.workers.rollout.replica import RolloutMode, RolloutReplica

from funrl.rollout.server import HFRolloutServer

logger = logging.getLogger(__name__)


def server_name(replica_rank: int) -> str:
    """The Ray actor name of replica ``replica_rank``'s server."""
    return f"funrl_hf_rollout_server_{replica_rank}"


def _replica_world_size(config: Any) -> int:
    return (
        int(config.tensor_model_parallel_size)
        * int(config.data_parallel_size)
        * int(config.pipeline_model_parallel_size)
    )


class HFRolloutReplica(RolloutReplica):
    """A replica served by one ``HFRolloutServer`` actor (no GPU resources of its own)."""

    def rollout_worker_use_gpu(self) -> bool:
        return False

    async def launch_servers(self) -> None:
        if self.rollout_mode != RolloutMode.HYBRID:
            raise NotImplementedError(
                f"funrl.rollout supports verl's hybrid rollout mode (the sync trainer), not {self.rollout_mode}"
            )
        if self.is_reward_model or self.is_teacher_model:
            raise NotImplementedError("funrl.rollout serves the actor only, not reward or teacher models")
        if _replica_world_size(self.config) != 1:
            raise ValueError(
                "funrl.rollout: a replica is one process; set actor_rollout_ref.rollout.tensor_model_parallel_size=1 "
                "(data_parallel_size and pipeline_model_parallel_size 1)"
            )
        node_id = await self.workers[0].__ray_call__.remote(lambda _: ray.get_runtime_context().get_node_id())
        name = server_name(self.replica_rank)
        server = (
            ray.remote(HFRolloutServer)
            .options(
                name=name,
                num_cpus=0,  # alternates with training (sync trainer); must not hold a CPU slot
                max_concurrency=self.max_concurrency,
                scheduling_strategy=ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
                    node_id=node_id, soft=False
                ),
            )
            .remote(config=self.config, model_config=self.model_config, replica_rank=self.replica_rank)
        )
        await server.ready.remote()
        self.servers = [server]
        self._server_handle = server
        self._server_address = name


class HFServerAdapter(BaseRollout):
    """Worker-side handle of a replica's server: forwards the actor's weights after every update.

    ``resume`` / ``release`` move GPU memory on real engines; here there is none to move.
    """

    def __init__(
        self, config: Any, model_config: Any, device_mesh: Any, replica_rank: int = -1, **kwargs: Any
    ) -> None:
        super().__init__(config, model_config, device_mesh)
        rank = int(os.environ.get("RANK", "0"))
        world = _replica_world_size(self.config)
        self.replica_rank = rank // world if replica_rank == -1 else replica_rank
        self.sends_weights = rank % world == 0
        self._server: Any = None

    @property
    def server(self) -> Any:
        """The replica's server actor, looked up by name on first use (servers start after workers)."""
        if self._server is None:
            self._server = ray.get_actor(server_name(self.replica_rank))
        return self._server

    async def resume(self, tags: list[str]) -> None:
        return None

    async def release(self) -> None:
        return None

    async def update_weights(
        self,
        weights: Iterable[tuple[str, Any]],
        wire_format: str = "named_tensors",
        peft_config: Any = None,
        global_steps: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Drain ``weights`` (name, tensor) on every rank; the replica's first rank sends them to its server."""
        if wire_format != "named_tensors":
            raise NotImplementedError(
                f"funrl.rollout receives full named tensors, not wire_format={wire_format!r}: keep "
                "actor_rollout_ref.rollout.checkpoint_engine.backend at its default"
            )
        if peft_config is not None:
            raise NotImplementedError(
                "funrl.rollout loads full weights: with LoRA set actor_rollout_ref.model.lora.merge=true"
            )
        named = []
        for name, tensor in weights:  # every rank: each item may be a collective
            if self.sends_weights:
                named.append((name, tensor.detach().to("cpu", copy=True)))
        if self.sends_weights:
            await self.server.update_weights.remote(named, global_steps)
