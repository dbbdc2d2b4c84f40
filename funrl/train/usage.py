"""``python -m funrl.train --help``: the recipes and hardware profiles that exist (each with the first line
of its file's description), the common overrides, ``--check`` and examples. Standard library only: it
works on the light install too. Hydra's own help stays at ``--hydra-help``."""

from __future__ import annotations

from importlib import resources

from funrl.train import CONFIG_MODULE, HARDWARE_GROUP, RECIPE_GROUP, available_hardware, available_recipes

HELP_FLAGS = ("--help", "-h")

COMMON_OVERRIDES = [
    ("+recipe=<name>", "the recipe (required)"),
    ("hardware=<profile>", "per-GPU memory knobs (default a100_80gb)"),
    ("data.train_files=<parquet> data.val_files=<parquet>", "RL: rl.parquet; SFT: sft.parquet (required)"),
    ("actor_rollout_ref.model.path=<dir|hub id>", "RL: the policy (an SFT checkpoint's huggingface/ folder)"),
    ("model.path=<dir|hub id>", "SFT: the model to fine-tune"),
    ("trainer.nnodes=<N> trainer.n_gpus_per_node=<G>", "nodes and GPUs per node"),
    ("data.train_batch_size=<n>", "RL: prompts per step; SFT: samples per step (global)"),
    ("trainer.default_local_dir=<dir>", "checkpoints (absolute shared path on a cluster)"),
    ("trainer.experiment_name=<name>", "the W&B run name"),
    ("funrl.entropy.alpha=<a> funrl.srml.alpha=<a>", "FunRL's entropy bonus / SRML weight"),
]

FLAGS = [
    (
        "--check",
        "compose, resolve and check the config, data files, model path and chat template; start nothing",
    ),
    ("--cfg job [--resolve]", "print the composed config (Hydra); start nothing"),
    ("--info defaults", "which files the config came from (Hydra)"),
    ("--hydra-help", "Hydra's own help"),
]

EXAMPLES = """\
  python -m funrl.train --check +recipe=sft_srml_small data.train_files=/data/sft.parquet
  python -m funrl.train +recipe=sft_srml_small data.train_files=/data/sft.parquet
  python -m funrl.train +recipe=grpo_entropy_small data.train_files=/data/rl/train.parquet \\
      data.val_files=/data/rl/val.parquet actor_rollout_ref.model.path=<SFT checkpoint>/huggingface
  python -m funrl.train +recipe=grpo_entropy hardware=h100_80gb trainer.nnodes=4 data.train_files=... \\
      data.val_files=...
  python -m funrl.train +recipe=grpo_entropy --cfg job --resolve"""


def description(*parts: str, width: int = 100) -> str:
    """The first sentence of a YAML file's header comment (after ``# @package``), at most ``width`` chars."""
    text = resources.files(CONFIG_MODULE).joinpath(*parts).read_text(encoding="utf-8")
    words: list[str] = []
    for line in text.splitlines():
        line = line.lstrip("#").strip() if line.startswith("#") else None
        if line is None or (not line and words):
            break
        if line and not line.startswith("@package"):
            words.append(line)
    sentence = " ".join(words).split(". ")[0].rstrip(".")
    return sentence if len(sentence) <= width else sentence[: width - 3].rsplit(" ", 1)[0] + "..."


def _stages(profile: str) -> str:
    root = resources.files(CONFIG_MODULE).joinpath(HARDWARE_GROUP)
    stages = [s for s in ("rl", "sft") if root.joinpath(s, f"{profile}.yaml").is_file()]
    return "/".join(s.upper() for s in stages)


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(a) for a, _ in rows)
    return "\n".join(f"  {a.ljust(width)}  {b}" for a, b in rows)


def help_text() -> str:
    recipes = [(name, description(RECIPE_GROUP, f"{name}.yaml")) for name in available_recipes()]
    hardware = [
        (name, f"[{_stages(name)}] {description(HARDWARE_GROUP, f'{name}.yaml')}")
        for name in available_hardware()
    ]
    return "\n\n".join(
        [
            "usage: python -m funrl.train [--check] +recipe=<name> [hardware=<profile>] [key=value ...]\n"
            "       (funrl-train is the same command)",
            f"Recipes (+recipe=<name>):\n{_table(recipes)}",
            f"Hardware profiles (hardware=<profile>):\n{_table(hardware)}",
            f"Common overrides (any key of verl's config works: key=value):\n{_table(COMMON_OVERRIDES)}",
            f"Flags:\n{_table(FLAGS)}",
            f"Examples:\n{EXAMPLES}",
            "Docs: docs/recipes.md (recipes, batch arithmetic, multi-node launch, W&B, checkpoints)",
        ]
    )
