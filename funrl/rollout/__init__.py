"""A rollout engine for verl that needs no GPU: Hugging Face ``generate`` on the actor's current weights.

For small models and tests (CI, laptop demos, debugging a recipe end to end); not for speed: no paged KV
cache, no continuous batching, no CUDA graphs. Real runs use vLLM (``rollout.name=vllm``).

verl 0.9.1 ships no rollout engine that runs without a GPU (vLLM, SGLang and TRT-LLM all need one; its
``HFRollout`` class is wired to no rollout name). This package adds one under the name ``funrl_hf``
(``actor_rollout_ref.rollout.name=funrl_hf``) through verl's own extension points:

- ``funrl.rollout.replica.HFRolloutReplica`` in ``RolloutReplicaRegistry`` (driver side),
- ``funrl.rollout.replica.HFServerAdapter`` in ``verl.workers.rollout.base._ROLLOUT_REGISTRY`` (the
  worker side, which forwards the actor's weights after every update),
- ``funrl.rollout.server.HFRolloutServer``, the Ray actor that generates,
- ``funrl.rollout.sampling``, the sampling itself (verl's sampling parameters -> tokens + log-probs).

``register()`` is called from the ``verl.plugins`` entry point ``funrl_rollout`` (``funrl.rollout.plugin``),
so every process of a run (driver, task runner, Ray workers) has the engine without an import in user
code. The CPU recipe profile is ``hardware=cpu`` (``recipes/hardware/rl/cpu.yaml``); ``docs/cpu_demo.md``.

Importing this package is cheap (no torch, no verl); ``register()`` imports verl's registries.
"""

from __future__ import annotations

ROLLOUT_NAME = "funrl_hf"
"""``actor_rollout_ref.rollout.name`` of this engine."""

ADAPTER = "funrl.rollout.replica.HFServerAdapter"
"""The worker-side adapter class, as verl's ``_ROLLOUT_REGISTRY`` stores it (fully qualified name)."""


def _load_replica() -> type:
    from funrl.rollout.replica import HFRolloutReplica

    return HFRolloutReplica


def register() -> None:
    """Register the ``funrl_hf`` rollout engine with verl (idempotent)."""
    from verl.workers.rollout import base as rollout_base
    from verl.workers.rollout.replica import RolloutReplicaRegistry

    RolloutReplicaRegistry.register(ROLLOUT_NAME, _load_replica)
    # verl 0.9.1 has no public writer for its worker-side registry: ``get_rollout_class(name, mode)`` reads
    # this dict and nothing adds to it. The one place FunRL reaches into verl's internals; the CPU rollout
    # tests (tests/rollout) fail if verl moves it.
    registry = rollout_base._ROLLOUT_REGISTRY
    registry[(ROLLOUT_NAME, "async")] = ADAPTER


__all__ = ["ADAPTER", "ROLLOUT_NAME", "register"]
