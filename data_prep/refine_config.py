"""The self-refinement loop's configuration (``python -m funrl.data_prep refine --config FILE``).

    rounds: 2
    checkpoint: /ckpt/sft_srml/global_step_300/huggingface   # the SRML SFT model round 1 samples with
    work_dir: refine_out
    serve:                      # how each round's checkpoint is served: a command the loop runs ...
      command: [vllm, serve, "{checkpoint}", --port, "{port}"]
    #  endpoint: http://gpu-node:8000/v1     # ... or a server you run (it must serve the round's checkpoint)
    train:
      overrides: [trainer.n_gpus_per_node=8]
    data_prep:                  # a data_prep config (docs/data_prep.md): the training queries + the judge
      inputs: [{path: xlam_function_calling_60k.json, format: xlam}]
      judge: {endpoint: {base_url: http://judge-node:8000/v1, model: Qwen/QwQ-32B}}

The round's generator endpoint (its ``base_url`` and ``model``) and ``data_prep.work_dir`` belong to the
loop; setting them is an error, as is sampling with anything but the training prompt
(``generate.show_reference``) or judging a source CoT instead of the model's (``generate.reuse_existing_cot``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .config import Config, ConfigError, EndpointConfig, build_config, read_yaml_tree

# The SRML SFT recipe; "{python}" is this interpreter.
DEFAULT_TRAIN_COMMAND = ["{python}", "-m", "funrl.train", "+recipe=sft_srml"]
# The Hydra keys the loop sets per round (a train override may not set them).
TRAIN_KEYS = ("model.path", "data.train_files", "trainer.default_local_dir")
PLACEHOLDERS = ("python", "checkpoint", "port", "host", "round_dir")


@dataclass
class ServeConfig:
    """How a round's checkpoint gets served: ``command`` (started and stopped by the loop per round) or
    ``endpoint`` (a server you run; it must list the round's checkpoint path on /v1/models)."""

    # argv template; placeholders {python} {checkpoint} {port} {host} {round_dir}
    command: list[str] | None = None
    endpoint: str | None = None  # base URL, e.g. http://127.0.0.1:8000/v1
    host: str = "127.0.0.1"  # where the served command listens
    port: int = 0  # 0: a free port, chosen per round
    ready_timeout_s: float = 1800.0  # the /v1/models readiness probe gives up after this
    poll_s: float = 1.0


@dataclass
class TrainConfig:
    """The SFT command of a round: ``command`` + the round's model/data/output + ``overrides``."""

    command: list[str] = field(default_factory=lambda: list(DEFAULT_TRAIN_COMMAND))
    overrides: list[str] = field(default_factory=list)  # Hydra overrides, e.g. hardware=h100_80gb


def _prep_defaults() -> Config:
    cfg = Config()
    cfg.generate.reuse_existing_cot = False  # the model's own CoT is what gets judged
    return cfg


@dataclass
class RefineConfig:
    checkpoint: str = ""  # Hugging Face model dir of the SRML SFT model: round 1 samples with it
    rounds: int = 1
    work_dir: str = "refine_out"
    serve: ServeConfig = field(default_factory=ServeConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data_prep: Config = field(default_factory=_prep_defaults)

    def check(self) -> None:
        """Cross-field validation; raises ConfigError naming the key."""
        if not self.checkpoint:
            raise ConfigError("checkpoint is empty: set it to the SRML SFT model directory")
        if not (Path(self.checkpoint) / "config.json").is_file():
            raise ConfigError(f"checkpoint: {self.checkpoint} has no config.json (not a model directory)")
        if self.rounds < 1:
            raise ConfigError(f"rounds must be >= 1, got {self.rounds}")
        if (self.serve.command is None) == (self.serve.endpoint is None):
            raise ConfigError(
                "serve: set exactly one of serve.command (the loop serves each round's checkpoint) "
                "and serve.endpoint (a server you run)"
            )
        if self.serve.command is not None:
            _check_template(self.serve.command, "serve.command")
        _check_template(self.train.command, "train.command")
        for item in self.train.overrides:
            key = item.partition("=")[0].lstrip("+~")
            if key in TRAIN_KEYS:
                raise ConfigError(f"train.overrides: {key} is set by the loop for each round")
        self._check_prep()

    def _check_prep(self) -> None:
        prep, default = self.data_prep, Config()
        if not prep.inputs:
            raise ConfigError("data_prep.inputs: no training queries configured")
        if prep.generate.show_reference:
            raise ConfigError(
                "data_prep.generate.show_reference must be false: self-refinement samples the model "
                "through its training prompt"
            )
        if prep.generate.reuse_existing_cot:
            raise ConfigError(
                "data_prep.generate.reuse_existing_cot must be false: the model's own CoT is judged, "
                "not the source's"
            )
        if prep.work_dir != default.work_dir:
            raise ConfigError("data_prep.work_dir is set by the loop (<work_dir>/round_<r>/prep); remove it")
        gen, base = prep.generate.endpoint, default.generate.endpoint
        for name in ("base_url", "model"):
            if getattr(gen, name) != getattr(base, name):
                raise ConfigError(
                    f"data_prep.generate.endpoint.{name} is the round's server: set serve.command or "
                    "serve.endpoint instead"
                )
        try:
            prep.judge_endpoint  # noqa: B018 - ConfigError when judge.endpoint is not set
            if prep.final_judge.enabled:
                prep.final_judge_endpoint  # noqa: B018
            prep.check()
        except ConfigError as e:  # the data prep keys live under data_prep. here
            raise ConfigError(f"data_prep.{e}") from None
        if self.serve.endpoint is not None:
            check_separate_judge(prep, self.serve.endpoint)
        elif self.serve.port:  # a fixed port: the served URL is known now (port 0: checked when served)
            check_separate_judge(prep, f"http://{self.serve.host}:{self.serve.port}/v1")


def check_separate_judge(prep: Config, generator_url: str) -> None:
    """The judges must not be the server of the model being trained: ConfigError when a judge's base URL
    is the generator's (a server serves the round's checkpoint under its own id, so the URL decides)."""
    judges = [("data_prep.judge.endpoint", prep.judge.endpoint)]
    if prep.final_judge.enabled:
        judges.append(("data_prep.final_judge.endpoint", prep.final_judge.endpoint or prep.judge.endpoint))
    for key, ep in judges:
        if isinstance(ep, EndpointConfig) and ep.base_url.rstrip("/") == generator_url.rstrip("/"):
            raise ConfigError(
                f"{key} is the generator's endpoint ({generator_url}): in self-refinement the generator "
                "is the model being trained, which must not judge itself; point the judge at another server"
            )


def _check_template(argv: list[str], key: str) -> None:
    if not argv:
        raise ConfigError(f"{key} is empty")
    for arg in argv:
        try:
            arg.format(**{name: "" for name in PLACEHOLDERS})
        except (KeyError, IndexError, ValueError) as e:
            raise ConfigError(
                f"{key}: {arg!r} has an unknown placeholder ({e}); known: {PLACEHOLDERS}"
            ) from None


def load_refine_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> RefineConfig:
    """YAML file + ``key.sub=value`` overrides -> a checked RefineConfig (paths in it as written)."""
    cfg = build_config(RefineConfig, read_yaml_tree(path), overrides)
    cfg.check()
    return cfg
