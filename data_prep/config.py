"""Pipeline configuration: dataclasses, loaded from a YAML file plus ``dotted.key=value`` overrides.

    cfg = load_config("prep.yaml", ["judge.max_rounds=2", "generate.endpoint.concurrency=32"])

Unknown keys and wrongly typed values raise :class:`ConfigError` naming the full dotted key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from funrl.reward import THINK_FORMATS, check_format

CHECKS = ("is_call", "query_tool_fit", "cot_answer", "call_params", "format")
OUTPUT_FORMATS = THINK_FORMATS  # funrl.reward owns the list
INPUT_FORMATS = ("xlam", "bfcl", "chat")


class ConfigError(ValueError):
    """A configuration key or value is wrong; the message names the dotted key."""


@dataclass
class EndpointConfig:
    """An OpenAI-compatible chat endpoint (a vLLM server in practice)."""

    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "Qwen/QwQ-32B"
    api_key_env: str = "OPENAI_API_KEY"  # environment variable holding the key; "EMPTY" when unset
    concurrency: int = 64  # requests in flight at most
    timeout_s: float = 600.0  # per request attempt
    max_retries: int = 5  # extra attempts on 429 / 5xx / timeouts / malformed replies
    backoff_initial_s: float = 1.0  # doubled after every failed attempt, with jitter
    backoff_max_s: float = 60.0
    temperature: float = 0.1  # FunReason sampled its judge and generator at 0.1
    max_tokens: int = 4096


@dataclass
class InputConfig:
    """One input file; ``format`` says which reader parses it."""

    path: str = ""
    format: str = "xlam"  # xlam | bfcl | chat
    possible_answers: str | None = None  # BFCL only: the possible-answer JSONL matching ``path``
    name: str | None = None  # source name in sample ids and ``data_source``; default: the file stem
    limit: int | None = None  # read at most this many rows


@dataclass
class GenerateConfig:
    """Stage 0: CoT + calls from a teacher (or the model being trained: self-refinement)."""

    endpoint: EndpointConfig = field(default_factory=EndpointConfig)
    samples_per_query: int = 1
    reuse_existing_cot: bool = True  # a sample that already has a CoT and reference calls is not regenerated
    show_reference: bool = (
        False  # put the reference calls in the generation prompt (distillation toward them)
    )


@dataclass
class JudgeConfig:
    """Stage 1: the five FunReason checks, iterated."""

    # Required whenever the judge stage runs (no fallback to the generator: in self-refinement the
    # generator is the model being trained, which must not judge itself).
    endpoint: EndpointConfig | None = None
    checks: list[str] = field(default_factory=lambda: list(CHECKS))
    max_rounds: int = 3  # answers judged per candidate at most (the first one + regenerations)
    parse_retries: int = 1  # extra asks when a verdict cannot be parsed
    structured_output: bool = True  # send a JSON schema as response_format (vLLM guided decoding)
    # What a failed check does: "regenerate" (up to max_rounds) or "discard". "is_call" is special:
    # a non-call answer is kept as is when the sample has no reference calls, else regenerated.
    # FunReason's FCDR discards a sample whose reasoning does not lead to its answer (cot_answer: discard);
    # "regenerate" there is a deviation from the paper (documented in docs/data_prep.md).
    on_fail: dict[str, str] = field(
        default_factory=lambda: {
            "query_tool_fit": "discard",
            "cot_answer": "discard",
            "call_params": "regenerate",
            "format": "regenerate",
        }
    )


@dataclass
class ValidateConfig:
    """Stage 2: AST validation with ``funrl.reward``."""

    match_reference: bool = True  # the answer's calls must also pass against the sample's reference
    require_think: bool = True  # the answer must carry a <think>...</think> CoT
    workers: int = 1  # processes for stage 2 (0: one per core); pays off only with idle cores


@dataclass
class OutputConfig:
    format: str = "think_answer"  # how the assistant turn renders the calls (SFT and RL's reward fmt)
    # The target model's tokenizer (a local directory): token counts for the length report and the SFT
    # length filter. None: the report counts whitespace words and no SFT row is dropped for its length.
    tokenizer: str | None = None
    # The SFT recipe's data.max_length: an SFT conversation longer than this (chat template applied, as
    # verl's MultiTurnSFTDataset counts it) is dropped and listed in overlong.jsonl. None: no limit.
    max_length: int | None = 4096
    data_source_prefix: str = "funrl"


@dataclass
class FinalJudgeConfig:
    """FunRL's final LLM evaluation, after AST validation (optional): one verdict per validated answer;
    a fail drops it."""

    enabled: bool = False
    endpoint: EndpointConfig | None = None  # None: judge.endpoint (never the generator's)
    parse_retries: int = 1  # extra asks when a verdict cannot be parsed
    structured_output: bool = True  # send the verdict JSON schema as response_format


@dataclass
class GuardConfig:
    """When a finished run counts as failed (exit 4): its output is empty, or one cause (unparsable judge
    replies, endpoint errors, schema failures, malformed input rows) dropped more than this fraction."""

    max_drop_rate: float = 0.5  # of the candidates (of the rows read, for malformed input rows)
    examples: int = 3  # example replies / details shown per cause


@dataclass
class Config:
    inputs: list[InputConfig] = field(default_factory=list)
    work_dir: str = "data_prep_out"
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    validate: ValidateConfig = field(default_factory=ValidateConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    final_judge: FinalJudgeConfig = field(default_factory=FinalJudgeConfig)
    guard: GuardConfig = field(default_factory=GuardConfig)
    progress: bool = True

    @property
    def judge_endpoint(self) -> EndpointConfig:
        """The judge's endpoint; raises ConfigError when none is configured (no fallback)."""
        if self.judge.endpoint is None:
            raise ConfigError(
                "judge.endpoint is not set: the judge stage needs its own endpoint "
                "(judge.endpoint.base_url and judge.endpoint.model); it never falls back to the generator's"
            )
        return self.judge.endpoint

    @property
    def final_judge_endpoint(self) -> EndpointConfig:
        """final_judge.endpoint, else judge.endpoint; raises ConfigError when neither is configured."""
        if self.final_judge.endpoint is None and self.judge.endpoint is None:
            raise ConfigError(
                "final_judge.endpoint is not set (nor judge.endpoint, its default): the final evaluation "
                "needs a judge endpoint; it never falls back to the generator's"
            )
        return self.final_judge.endpoint or self.judge.endpoint  # type: ignore[return-value]

    def judges_share_generator(self) -> list[str]:
        """The judge keys (``judge.endpoint``, ``final_judge.endpoint``) whose endpoint is the generator's
        (same base URL and model), among the judges configured."""
        keys = [("judge.endpoint", self.judge.endpoint)]
        if self.final_judge.enabled:
            keys.append(("final_judge.endpoint", self.final_judge.endpoint or self.judge.endpoint))
        return [key for key, ep in keys if ep is not None and same_endpoint(ep, self.generate.endpoint)]

    def check(self) -> None:
        """Cross-field validation; raises ConfigError naming the key."""
        for i, inp in enumerate(self.inputs):
            if inp.format not in INPUT_FORMATS:
                raise ConfigError(f"inputs[{i}].format must be one of {INPUT_FORMATS}, got {inp.format!r}")
            if not inp.path:
                raise ConfigError(f"inputs[{i}].path is empty")
            if inp.format == "bfcl" and not inp.possible_answers:
                raise ConfigError(f"inputs[{i}].possible_answers is required for a BFCL input")
        bad = [c for c in self.judge.checks if c not in CHECKS]
        if bad:
            raise ConfigError(f"judge.checks: unknown check(s) {bad}; known: {CHECKS}")
        for name, action in self.judge.on_fail.items():
            if name not in CHECKS or name == "is_call":
                raise ConfigError(f"judge.on_fail.{name}: not a configurable check")
            if action not in ("regenerate", "discard"):
                raise ConfigError(f"judge.on_fail.{name} must be 'regenerate' or 'discard', got {action!r}")
        if not 0.0 <= self.guard.max_drop_rate <= 1.0:
            raise ConfigError(f"guard.max_drop_rate must be within [0, 1], got {self.guard.max_drop_rate}")
        if self.output.max_length is not None and self.output.max_length < 1:
            raise ConfigError(f"output.max_length must be >= 1 or null, got {self.output.max_length}")
        if self.judge.max_rounds < 1:
            raise ConfigError("judge.max_rounds must be >= 1")
        if self.generate.samples_per_query < 1:
            raise ConfigError("generate.samples_per_query must be >= 1")
        try:
            check_format(self.output.format, OUTPUT_FORMATS, key="output.format")
        except ValueError as err:
            raise ConfigError(str(err)) from None
        for key, ep in (
            ("generate.endpoint", self.generate.endpoint),
            ("judge.endpoint", self.judge.endpoint),
            ("final_judge.endpoint", self.final_judge.endpoint),
        ):
            if ep is not None and ep.concurrency < 1:
                raise ConfigError(f"{key}.concurrency must be >= 1")


def same_endpoint(a: EndpointConfig, b: EndpointConfig) -> bool:
    """True when both name the same model on the same server (base URLs compared without a trailing /)."""
    return a.base_url.rstrip("/") == b.base_url.rstrip("/") and a.model == b.model


def _build(cls: Any, data: Any, where: str) -> Any:
    """Builds dataclass ``cls`` (or a typed container) from plain YAML data, checking every key."""
    origin = typing.get_origin(cls)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(cls) if a is not type(None)]
        if data is None:
            return None
        return _build(args[0], data, where)
    if dataclasses.is_dataclass(cls):
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(data).__name__}")
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown key(s) {[f'{where}.{k}'.lstrip('.') for k in unknown]}")
        kwargs = {k: _build(hints[k], v, f"{where}.{k}".lstrip(".")) for k, v in data.items()}
        return cls(**kwargs)
    if origin is list:
        if not isinstance(data, list):
            raise ConfigError(f"{where}: expected a list, got {type(data).__name__}")
        (item,) = typing.get_args(cls)
        return [_build(item, v, f"{where}[{i}]") for i, v in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
        return {str(k): _build(typing.get_args(cls)[1], v, f"{where}.{k}") for k, v in data.items()}
    if cls is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    if cls in (str, int, float, bool) and not (
        isinstance(data, cls) and not (cls is int and isinstance(data, bool))
    ):
        raise ConfigError(f"{where}: expected {cls.__name__}, got {data!r}")
    return data


def _set_dotted(tree: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"override {dotted!r}: {part!r} is not a mapping")
        node = child
    node[parts[-1]] = value


def read_yaml_tree(path: str | Path | None) -> dict:
    """A YAML config file's top-level mapping ({} for no file); ConfigError when it is not a mapping."""
    if path is None:
        return {}
    loaded = yaml.safe_load(Path(path).read_text())
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return loaded or {}


def build_config(
    cls: type, tree: dict, overrides: list[str] | tuple[str, ...] = (), *, where: str = ""
) -> Any:
    """Dataclass ``cls`` from its defaults, updated by ``tree`` and then by ``key.sub=value`` overrides
    (values parsed as YAML); every key and type is checked (errors name the dotted key, under ``where``)."""
    full = dataclasses.asdict(cls())  # from the defaults: an override of a nested key keeps its siblings
    _merge(full, tree)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} must look like key.sub=value")
        _set_dotted(full, key.strip(), yaml.safe_load(raw))
    return _build(cls, full, where)


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """YAML file (optional) + ``key.sub=value`` overrides (values parsed as YAML) -> a checked Config."""
    cfg = build_config(Config, read_yaml_tree(path), overrides)
    cfg.check()
    return cfg


def _merge(base: dict, update: dict) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
