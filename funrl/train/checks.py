"""Checks run before anything starts: verl's own config validation, FunRL's, and the batch arithmetic.

verl checks some batch sizes only once its workers are up (after minutes of Ray and model start-up on a
cluster), and with dynamic batching ``validate_config`` skips them. The checks here fail at once, with the
numbers in their units: prompts (rows of the dataset), responses (prompts x ``rollout.n``), GPUs.
Every check takes a *resolved* config and raises ValueError naming the key.
"""

from __future__ import annotations

import copy
import re
from importlib.util import find_spec

from omegaconf import DictConfig, OmegaConf, open_dict

from funrl.config import funrl_config_from
from funrl.train import RL, stage_of, world_size


def check_config(cfg: DictConfig, *, load_model_config: bool = False) -> list[str]:
    """Validate a resolved training config for its stage; return a human-readable summary (lines).

    ``load_model_config``: also build verl's model config (reads ``config.json`` at the model path: a local
    directory, or the Hugging Face Hub).
    """
    if stage_of(cfg) == RL:
        return check_rl(cfg)
    return check_sft(cfg, load_model_config=load_model_config)


INTERPOLATION = re.compile(r"\$\{([A-Za-z_][\w.]*)\}")


def resolve_config(cfg: DictConfig) -> None:
    """``OmegaConf.resolve(cfg)`` in place; a failing interpolation raises ValueError naming the key it is
    derived from and that key's value (``data.train_batch_size=130 ...``), not only the arithmetic."""
    raw = OmegaConf.to_container(cfg, resolve=False)
    try:
        OmegaConf.resolve(cfg)
    except Exception as err:
        raise ValueError(_failing_interpolation(cfg, raw) or f"the config does not resolve: {err}") from err


def _interpolations(node, prefix: str = ""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _interpolations(value, f"{prefix}{key}.")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _interpolations(value, f"{prefix}{i}.")
    elif isinstance(node, str) and "${" in node:
        yield prefix[:-1], node


def _failing_interpolation(cfg: DictConfig, raw: dict) -> str | None:
    """One line for the first interpolation that fails: its source keys with their values, the error and
    the derived key (the innermost failing one: a key whose sources all resolve)."""
    for key, expression in _interpolations(raw):
        try:
            OmegaConf.select(cfg, key, throw_on_resolution_failure=True)
        except Exception as err:
            sources = INTERPOLATION.findall(expression)
            if any(_fails(cfg, s) for s in sources):
                continue
            given = ", ".join(f"{s}={OmegaConf.select(cfg, s)}" for s in sources)
            reason = str(err).split("\n")[0].split("resolving interpolation: ", 1)[-1]
            reason = re.sub(r"^\$\{funrl\.\w+:[^}]*\}: ", "", reason)
            return f"{given or key}: {reason} ({key} = {expression})"
    return None


def _fails(cfg: DictConfig, key: str) -> bool:
    try:
        OmegaConf.select(cfg, key, throw_on_resolution_failure=True)
    except Exception:
        return True
    return False


def _require_data(cfg: DictConfig, *keys: str) -> None:
    for key in keys:
        if not cfg.data.get(key):
            raise ValueError(
                f"data.{key} is required (a parquet path or a list of them), e.g. data.{key}=/path.parquet"
            )


def _gpus_line(cfg: DictConfig) -> str:
    return (
        f"{cfg.trainer.nnodes} node(s) x {cfg.trainer.n_gpus_per_node} GPU(s) = {world_size(cfg)} "
        f"(trainer.nnodes x trainer.n_gpus_per_node), device {cfg.trainer.device}"
    )


def check_rl(cfg: DictConfig) -> list[str]:
    """verl's ``validate_config`` (actor, reference, critic, rollout sampling), verl's dataclass checks of
    the rollout and algorithm blocks, the estimator registry, FunRL's ``funrl`` block and the batch sizes."""
    from verl.trainer.ppo.core_algos import get_adv_estimator_fn
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import omega_conf_to_dataclass, validate_config

    from funrl.rl.trainer_hook import validate_funrl_config

    _require_data(cfg, "train_files", "val_files")
    _validate_with_verl(cfg, validate_config, need_reference_policy(cfg), need_critic(cfg))
    omega_conf_to_dataclass(cfg.actor_rollout_ref.rollout)
    omega_conf_to_dataclass(cfg.algorithm)
    estimator = cfg.algorithm.adv_estimator
    try:
        fn = get_adv_estimator_fn(estimator)
    except ValueError as err:
        raise ValueError(f"algorithm.adv_estimator={estimator!r} is not registered with verl: {err}") from err
    validate_funrl_config(cfg)
    lines = [_gpus_line(cfg), *rl_batch_summary(cfg), f"advantage estimator {estimator} ({fn.__module__})"]
    if lora_rank(cfg):
        model = cfg.actor_rollout_ref.model
        lines.append(f"LoRA: rank {lora_rank(cfg)}, alpha {model.lora_alpha}, modules {model.target_modules}")
    return lines


VLLM_MAX_LORA_RANK = 512
"""The largest ``max_lora_rank`` vLLM accepts (verl's fallback list when vLLM is not installed)."""


def lora_rank(cfg: DictConfig) -> int:
    """The actor's LoRA rank as verl reads it (``model.lora.rank``, else ``model.lora_rank``); 0: no LoRA."""
    model = cfg.actor_rollout_ref.model
    rank = int((model.get("lora") or {}).get("rank", 0) or 0)
    return rank if rank > 0 else int(model.get("lora_rank", 0) or 0)


def _validate_with_verl(cfg: DictConfig, validate_config, use_reference: bool, use_critic: bool) -> None:
    """verl's ``validate_config``. With LoRA and vLLM it imports vLLM (for its largest LoRA rank), which a
    CPU machine lacks: there the LoRA rank is checked here and the rest by verl, so ``--check`` runs
    anywhere."""
    rank = lora_rank(cfg)
    if rank > 0 and cfg.actor_rollout_ref.rollout.name == "vllm" and find_spec("vllm") is None:
        if rank > VLLM_MAX_LORA_RANK:
            raise ValueError(
                f"actor_rollout_ref.model.lora_rank={rank} exceeds vLLM's largest LoRA rank {VLLM_MAX_LORA_RANK}"
            )
        cfg = copy.deepcopy(cfg)
        with open_dict(cfg):
            cfg.actor_rollout_ref.model.lora_rank = 0
            cfg.actor_rollout_ref.model.lora = {}
    validate_config(cfg, use_reference_policy=use_reference, use_critic=use_critic)


def rl_batch_summary(cfg: DictConfig) -> list[str]:
    """Check the RL batch arithmetic; return it in words.

    Per step ``data.train_batch_size`` prompts give ``x rollout.n`` responses, split evenly over the
    data-parallel ranks; the actor then updates once per ``actor.ppo_mini_batch_size`` prompts.
    """
    actor = cfg.actor_rollout_ref.actor
    rollout = cfg.actor_rollout_ref.rollout
    n = int(rollout.n)
    gpus = world_size(cfg)
    sp = int(actor.get("ulysses_sequence_parallel_size", 1) or 1)
    if gpus % sp:
        raise ValueError(
            f"actor_rollout_ref.actor.ulysses_sequence_parallel_size={sp} does not divide the {gpus} GPUs"
        )
    dp = gpus // sp
    prompts = int(cfg.data.train_batch_size)
    mini = int(actor.ppo_mini_batch_size)
    _require(
        prompts * n % dp == 0, f"data.train_batch_size={prompts} prompts x rollout.n={n}", prompts * n, dp
    )
    _require(
        mini * n % dp == 0,
        f"actor_rollout_ref.actor.ppo_mini_batch_size={mini} prompts x n={n}",
        mini * n,
        dp,
    )
    if prompts % mini:
        raise ValueError(
            f"data.train_batch_size={prompts} prompts is not a whole number of "
            f"actor_rollout_ref.actor.ppo_mini_batch_size={mini} prompts (actor updates per step)"
        )
    tp = int(rollout.tensor_model_parallel_size)
    per_node = int(cfg.trainer.n_gpus_per_node)
    if per_node % tp:
        raise ValueError(
            f"actor_rollout_ref.rollout.tensor_model_parallel_size={tp} must divide "
            f"trainer.n_gpus_per_node={per_node} (a vLLM replica stays within one node)"
        )
    if actor.use_dynamic_bsz:
        micro = f"micro-batches packed up to {actor.ppo_max_token_len_per_gpu} tokens per GPU (dynamic)"
    else:
        micro = f"micro-batches of {actor.ppo_micro_batch_size_per_gpu} responses per GPU"
    return [
        f"per step: {prompts} prompts x {n} = {prompts * n} responses ({prompts * n // dp} per data-parallel rank)",
        f"per actor update: {mini} prompts = {mini * n} responses ({mini * n // dp} per rank), "
        f"{prompts // mini} update(s) per step; {micro}",
        f"rollout: {rollout.name}, tensor parallel {tp} -> {gpus // tp} replica(s)",
    ]


def _require(ok: bool, what: str, responses: int, dp: int) -> None:
    if not ok:
        raise ValueError(
            f"{what} = {responses} responses is not divisible by the {dp} data-parallel ranks "
            "(trainer.nnodes x trainer.n_gpus_per_node / ulysses_sequence_parallel_size); change the batch "
            "size or the node count"
        )


def check_sft(cfg: DictConfig, *, load_model_config: bool = False) -> list[str]:
    """verl's dataclass checks of the blocks ``SFTTrainer._build_config`` converts, its profiler-interval
    rule, the SRML settings and the batch split over ranks."""
    from verl.utils.config import omega_conf_to_dataclass

    _require_data(cfg, "train_files")
    blocks = ["engine", "optim", "checkpoint", "profiler"] + (["model"] if load_model_config else [])
    for block in blocks:
        omega_conf_to_dataclass(cfg[block])
    start, end = (int(x) for x in cfg.trainer.profile_interval)
    if end < start or (start < 0 and end >= 0):
        raise ValueError(f"trainer.profile_interval={[start, end]} must be [start, end] with end >= start")
    lines = [_gpus_line(cfg)]
    srml = funrl_config_from(cfg).srml
    if srml.enable:
        lines.append(f"loss: SRML, funrl.srml.alpha={srml.alpha}")
    else:
        lines.append("loss: verl's sft_loss (funrl.srml.enable=false)")
    batch = int(cfg.data.train_batch_size)
    gpus = world_size(cfg)
    if batch % gpus:
        raise ValueError(
            f"data.train_batch_size={batch} samples is not divisible by the {gpus} GPUs "
            "(trainer.nnodes x trainer.n_gpus_per_node); verl would silently drop the remainder"
        )
    if cfg.data.use_dynamic_bsz:
        micro = f"micro-batches packed up to {cfg.data.max_token_len_per_gpu} tokens per GPU (dynamic)"
    else:
        micro = f"micro-batches of {cfg.data.micro_batch_size_per_gpu} samples per GPU"
    lines.append(f"per step: {batch} samples ({batch // gpus} per GPU); {micro}")
    return lines
