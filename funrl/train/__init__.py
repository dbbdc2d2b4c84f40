"""``python -m funrl.train +recipe=<name>``: one entry point for every training stage.

    python -m funrl.train +recipe=grpo_entropy data.train_files=... data.val_files=...
    python -m funrl.train +recipe=sft_srml data.train_files=...
    python -m funrl.train +recipe=grpo_entropy --cfg job            # print the composed config, run nothing
    python -m funrl.train --check +recipe=grpo_entropy trainer.nnodes=4   # validate + batch summary, run nothing

A Hydra app whose config root is ``funrl.recipes`` (the ``recipes/`` folder, shipped inside the package)
with verl's own config folder on the search path. Each recipe names the verl config it builds on in its
defaults list (``/ppo_trainer`` for RL, ``/sft_trainer_engine`` for SFT), so composing a recipe gives
verl's full config plus the recipe's differences; the stage is read off the composed config
(``stage_of``). ``hardware=<gpu>`` picks ``hardware/rl/<gpu>.yaml`` or ``hardware/sft/<gpu>.yaml``.

Running (``funrl.train.runners``): the config is resolved in the driver, checked with verl's own validation
plus FunRL's (``funrl.train.checks``), then RL goes to ``verl.trainer.main_ppo.run_ppo`` with FunRL's task
runner (the ``grpo_entropy`` trainer hook), SFT to ``funrl.sft.trainer.run_srml_sft`` in every torchrun
process. This module imports only Hydra/OmegaConf, so ``--cfg job`` is quick.

Config arithmetic: recipes derive knobs from one another with three resolvers, ``${funrl.add:a,b}``,
``${funrl.mul:a,b}`` and ``${funrl.div:a,b}`` (exact integer division, an error otherwise). They exist in
the process that composes the config; the runners resolve the config there before anything else sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:
    from omegaconf import OmegaConf
except ImportError:  # the light install: `python -m funrl.train` says which extra (funrl.train.extras)
    OmegaConf = None

if TYPE_CHECKING:
    from omegaconf import DictConfig

CONFIG_MODULE = "funrl.recipes"
PRIMARY_CONFIG = "train"
RECIPE_GROUP = "recipe"
HARDWARE_GROUP = "hardware"

RL = "rl"
SFT = "sft"


def _number(value: Any, name: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"${{funrl.{name}:...}} takes numbers, got {value!r}")
    return value


def _add(a: Any, b: Any) -> int | float:
    return _number(a, "add") + _number(b, "add")


def _mul(a: Any, b: Any) -> int | float:
    return _number(a, "mul") * _number(b, "mul")


def _div(a: Any, b: Any) -> int:
    a, b = _number(a, "div"), _number(b, "div")
    if not (isinstance(a, int) and isinstance(b, int)) or b <= 0 or a % b:
        raise ValueError(f"${{funrl.div:{a},{b}}}: {a} is not a whole multiple of {b}")
    return a // b


def verl_config_dir() -> str:
    """verl's config folder (``verl/trainer/config``), found without importing verl: ``import verl`` takes
    seconds (torch, tensordict, its plugins), and composing a config -- or failing on a missing data file
    before anything starts -- needs none of it. Resolver ``funrl.verl_config_dir`` (the search path of
    ``train.yaml``)."""
    spec = find_spec("verl")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("verl is not installed: install FunRL's train extra (pip install -e '.[train]')")
    return str(Path(spec.submodule_search_locations[0]) / "trainer" / "config")


def register_resolvers() -> None:
    """Register ``funrl.add`` / ``funrl.mul`` / ``funrl.div`` and ``funrl.verl_config_dir`` with OmegaConf
    (idempotent)."""
    resolvers = (("funrl.add", _add), ("funrl.mul", _mul), ("funrl.div", _div))
    for name, fn in (*resolvers, ("funrl.verl_config_dir", verl_config_dir)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


if OmegaConf is not None:
    register_resolvers()


def _yaml_names(*parts: str) -> list[str]:
    folder = resources.files(CONFIG_MODULE).joinpath(*parts)
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def available_recipes() -> list[str]:
    """Names accepted by ``+recipe=<name>``."""
    return _yaml_names(RECIPE_GROUP)


def available_hardware() -> list[str]:
    """Names accepted by ``hardware=<name>``."""
    return _yaml_names(HARDWARE_GROUP)


def stage_of(cfg: DictConfig) -> str:
    """``"rl"`` for a config over verl's ppo_trainer, ``"sft"`` for one over sft_trainer_engine.

    Raises ValueError (listing the recipes) when the config holds neither, i.e. no recipe was selected.
    """
    if "actor_rollout_ref" in cfg and "algorithm" in cfg:
        return RL
    if "engine" in cfg and "optim" in cfg and "data" in cfg:
        return SFT
    raise ValueError(
        "no recipe selected: add +recipe=<name> (one of: "
        f"{', '.join(available_recipes())}), e.g. python -m funrl.train +recipe=grpo_entropy"
    )


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """Compose the config ``python -m funrl.train <overrides>`` would run (unresolved, as Hydra gives it)."""
    from hydra import compose, initialize_config_module

    with initialize_config_module(config_module=CONFIG_MODULE, version_base=None):
        return compose(config_name=PRIMARY_CONFIG, overrides=list(overrides))


def world_size(cfg: DictConfig) -> int:
    """GPUs (or CPU processes) of the whole run: ``trainer.nnodes * trainer.n_gpus_per_node``."""
    return int(cfg.trainer.nnodes) * int(cfg.trainer.n_gpus_per_node)


__all__ = [
    "RL",
    "SFT",
    "available_hardware",
    "available_recipes",
    "compose_config",
    "register_resolvers",
    "stage_of",
    "world_size",
]
