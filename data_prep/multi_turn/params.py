"""Argument sampling from the live environment state (Phase I).

FunReason-MT samples a tool's parameters but does not say how. FunRL reads the live state of the
environment (the files and folders of the current folder, the stocks, orders and watch list), the
outputs of the calls made so far in the round (parameter dependencies: ``place_order`` returns the
``order_id`` that ``cancel_order`` takes), and fresh values for what a call creates (a new file name).
A value that cannot be found in the state (no file to ``cat``) is replaced by a fresh one, so the call
can be tried and fail -- which is how the graph builder sees a prerequisite.

:class:`Live` (what a sampler sees), :func:`observe`, :func:`is_error`, :func:`pick` (a value from the
round's outputs or the state), :func:`call_string`; the per-class rules are in ``rules``.
"""

from __future__ import annotations

import ast
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from funrl.envs.bfcl import BfclEnv

#: Response fields that feed a parameter of another name (same-name fields feed it too).
ALIASES: dict[str, tuple[str, ...]] = {
    "stocks": ("stock_list", "watchlist", "filtered_stocks"),
    "order_id": ("id",),
    "stock": ("symbol",),
    "ticket_id": ("id",),
    "tweet_id": ("id",),
    "receiver_id": ("user_id",),
    "cityA": ("zipcode",),
    "cityB": ("zipcode",),
    "travel_from": ("nearest_airport",),
    "travel_to": ("nearest_airport",),
}


@dataclass
class Live:
    """What a sampler sees: the state (class -> public attributes), the current folder (GorillaFileSystem),
    the parsed outputs of this round's calls so far, and the random stream."""

    state: dict[str, dict[str, Any]]
    rng: random.Random
    cwd: Any = None
    cwd_is_root: bool = True
    outputs: list[dict] = field(default_factory=list)

    def files(self) -> list[str]:
        return sorted(n for n, x in self.cwd.contents.items() if hasattr(x, "content")) if self.cwd else []

    def dirs(self) -> list[str]:
        return sorted(n for n, x in self.cwd.contents.items() if hasattr(x, "contents")) if self.cwd else []

    def produced(self, param: str) -> list[Any]:
        """Values of ``param`` (or an alias) that earlier calls of the round returned."""
        names = (param, *ALIASES.get(param, ()))
        return [o[n] for o in self.outputs for n in names if n in o and o[n] not in (None, [], "")]


def observe(env: BfclEnv, rng: random.Random, outputs: list[str]) -> Live:
    """The live view of ``env`` (its current folder found with ``pwd``, run on this scratch env)."""
    state = env.state()
    live = Live(state, rng, outputs=[o for o in map(parse_output, outputs) if isinstance(o, dict)])
    fs = state.get("GorillaFileSystem")
    if fs is not None:
        path = json.loads(env.execute(["pwd()"])[0])["current_working_directory"].strip("/").split("/")
        node = fs["root"]
        for part in path[1:]:
            node = node.contents[part]
        live.cwd, live.cwd_is_root = node, len(path) <= 1
    return live


def parse_output(text: str) -> Any:
    """An execution result as data: BFCL writes dicts as JSON and other values with ``str``."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def is_error(text: str) -> bool:
    """Whether an execution result reports a failure (BFCL's ``Error during execution``, an ``error``
    key, or a list of ``Error: ...`` lines)."""
    if text.startswith("Error during execution"):
        return True
    value = parse_output(text)
    if isinstance(value, dict):
        return "error" in value
    if isinstance(value, list):
        return any(isinstance(v, str) and v.startswith("Error") for v in value) or any(
            isinstance(v, dict) and "error" in v for v in value
        )
    return False


def pick(live: Live, param: str, pool: list, fresh: Callable[[], Any]) -> Any:
    """A value returned earlier in the round for ``param`` (80% when there is one), else one of ``pool``
    (taken from the state), else ``fresh()``."""
    produced = [v for v in live.produced(param) if not isinstance(v, list)]
    if produced and live.rng.random() < 0.8:
        return live.rng.choice(produced)
    return live.rng.choice(pool) if pool else fresh()


def call_string(name: str, args: dict) -> str:
    """``name(k=repr(v), ...)``: the call as BFCL's ground truth writes it."""
    return f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in args.items()) + ")"
