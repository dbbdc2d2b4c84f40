"""Configuration of ``python -m funrl.data_prep multi_turn --config FILE [key.sub=value ...]``.

Unknown keys and wrongly typed values raise :class:`funrl.data_prep.config.ConfigError` naming the
dotted key. The three roles default to one endpoint (``query_writer``): one vLLM server can play all three.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from funrl.envs.bfcl.env import MAX_CALLS_PER_TURN

from ..config import ConfigError, EndpointConfig
from .states import SUPPORTED_CLASSES
from .walk import WalkConfig


@dataclass
class ContaminationConfig:
    n: int = 8  # word n-grams compared with BFCL's multi-turn questions
    drop_above: float | None = None  # drop a trajectory whose query shares more than this share of n-grams


@dataclass
class GuardConfig:
    max_drop_rate: float = 0.5  # a run fails (exit 4) when request errors drop more than this share of rounds


@dataclass
class MultiTurnConfig:
    work_dir: str = "multi_turn_out"
    trajectories: int = 100
    seed: int = 0
    # involved classes of each trajectory, cycled (trajectory i uses class_sets[i % len])
    class_sets: list[list[str]] = field(default_factory=lambda: [["GorillaFileSystem", "TradingBot"]])
    from_bfcl_states: bool = False  # start from BFCL's multi_turn_base states instead of generated ones
    walk: WalkConfig = field(default_factory=WalkConfig)
    min_rounds: int = 1  # a trajectory keeping fewer passing rounds is dropped
    k_max: int = 3  # tries per round (the first + one per critic hint)
    max_steps: int = 6  # reasoner replies per try
    query_writer: EndpointConfig = field(default_factory=EndpointConfig)
    reasoner: EndpointConfig | None = None  # None: query_writer's
    critic: EndpointConfig | None = None  # None: query_writer's
    contamination: ContaminationConfig = field(default_factory=ContaminationConfig)
    guard: GuardConfig = field(default_factory=GuardConfig)
    progress: bool = True

    def endpoint(self, role: str) -> EndpointConfig:
        return getattr(self, role) or self.query_writer

    def check(self) -> None:
        for i, classes in enumerate(self.class_sets):
            bad = [c for c in classes if c not in SUPPORTED_CLASSES]
            if not classes or bad:
                raise ConfigError(
                    f"class_sets[{i}]: {bad or 'empty'}; supported classes: {SUPPORTED_CLASSES}"
                )
        for key, low in (("trajectories", 1), ("k_max", 1), ("max_steps", 1), ("min_rounds", 1)):
            if getattr(self, key) < low:
                raise ConfigError(f"{key} must be >= {low}, got {getattr(self, key)}")
        if self.walk.rounds < 1 or self.walk.max_calls < 1:
            raise ConfigError("walk.rounds and walk.max_calls must be >= 1")
        if self.walk.rounds * self.walk.max_calls > MAX_CALLS_PER_TURN:  # the walker replays in one turn
            raise ConfigError(
                f"walk.rounds * walk.max_calls must be <= {MAX_CALLS_PER_TURN} (funrl.envs.bfcl's calls per "
                f"turn), got {self.walk.rounds * self.walk.max_calls}"
            )
        if not 0.0 <= self.walk.blocked_share <= 1.0:
            raise ConfigError(f"walk.blocked_share must be within [0, 1], got {self.walk.blocked_share}")
        for role in ("query_writer", "reasoner", "critic"):
            ep = getattr(self, role)
            if ep is not None and ep.concurrency < 1:
                raise ConfigError(f"{role}.concurrency must be >= 1")


def _build(cls: Any, data: Any, where: str) -> Any:
    if typing.get_origin(cls) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(cls) if a is not type(None)][0]
        return None if data is None else _build(inner, data, where)
    if dataclasses.is_dataclass(cls):
        if not isinstance(data, dict):
            raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(data).__name__}")
        hints = typing.get_type_hints(cls)
        unknown = sorted(set(data) - set(hints))
        if unknown:
            raise ConfigError(f"unknown key(s) {[f'{where}.{k}'.lstrip('.') for k in unknown]}")
        return cls(**{k: _build(hints[k], v, f"{where}.{k}".lstrip(".")) for k, v in data.items()})
    if typing.get_origin(cls) is list:
        if not isinstance(data, list):
            raise ConfigError(f"{where}: expected a list, got {type(data).__name__}")
        return [_build(typing.get_args(cls)[0], v, f"{where}[{i}]") for i, v in enumerate(data)]
    if cls is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    if cls in (str, int, float, bool) and (
        not isinstance(data, cls) or (cls is int and isinstance(data, bool))
    ):
        raise ConfigError(f"{where}: expected {cls.__name__}, got {data!r}")
    return data


def load_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> MultiTurnConfig:
    """The YAML file (optional) plus ``dotted.key=value`` overrides (values parsed as YAML)."""
    tree: dict = {}
    if path is not None:
        tree = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(tree, dict):
            raise ConfigError(f"{path}: the config must be a mapping")
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ConfigError(f"override {item!r} must be key=value")
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {key!r}: {part!r} is not a mapping")
        node[parts[-1]] = yaml.safe_load(raw)
    cfg = _build(MultiTurnConfig, tree, "")
    cfg.check()
    return cfg
