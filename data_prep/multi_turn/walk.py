"""Phase I: the directed sampler. A walk toward a target tool T_a executes, in the environment, T_a when
it is legal, else the legal tool nearest to T_a in the graph; the (call, feedback) pairs form a round.

Choices where the paper is silent:

* *legal* = the call succeeds when tried on a scratch copy of the environment (a fresh environment that
  replays every call executed so far in the trajectory), with arguments sampled from the live state;
  each tool gets ``arg_tries`` argument samples;
* *nearest* = the shortest directed path to T_a in R u P (``ApiGraph.distances_to``); tools that cannot
  reach T_a are never called; ties are broken by the seeded random stream;
* a call string is not repeated within a round; a round has at most ``max_calls`` calls; a walk that
  finds no legal tool, or hits the limit before T_a, yields no round (another target is drawn);
* targets: with probability ``blocked_share`` a tool that is not legal right now but has a tool leading
  to it (so its prerequisites become implicit steps of the round), else any tool; a target that could
  not be reached is not drawn again in the same round.

:func:`walk_trajectory` draws N rounds over one environment; every call is executed in the
environment, whose state carries over from round to round.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from funrl.envs.bfcl import BfclEnv, check_turns
from funrl.envs.bfcl.env import MAX_CALLS_PER_STEP

from .graph import ApiGraph
from .params import Live, call_string, is_error, observe
from .rules import sample_args


def _execute(env: BfclEnv, calls: list[str]) -> list[str]:
    """Execute calls in steps of at most the environment's calls per step."""
    return [
        o
        for i in range(0, len(calls), MAX_CALLS_PER_STEP)
        for o in env.execute(calls[i : i + MAX_CALLS_PER_STEP])
    ]


@dataclass
class Round:
    """One round: the target, the calls executed in order, and their outputs (the feedback)."""

    target: str
    calls: list[str]
    outputs: list[str]


@dataclass
class WalkConfig:
    rounds: int = 3  # N: rounds (user turns) per trajectory
    max_calls: int = 5  # calls per round at most
    arg_tries: int = 2  # argument samples tried per tool and step
    target_tries: int = 6  # targets drawn per round before the trajectory ends early
    blocked_share: float = 0.7  # share of targets drawn among tools that are not legal yet


class Walker:
    """Walks one trajectory: an environment for ``entry`` (id, involved_classes, initial_config)."""

    def __init__(self, graph: ApiGraph, entry: dict, rng: random.Random, cfg: WalkConfig) -> None:
        self.graph, self.rng, self.cfg = graph, rng, cfg
        self.entry = {**entry, "ground_truth": [[]]}
        self.env = BfclEnv(self.entry)
        self.history: list[str] = []  # every call executed in the trajectory so far
        self._blocked: tuple[int, list[str]] = (-1, [])  # (len(history), tools not legal then)

    def scratch(self) -> BfclEnv:
        """A fresh environment that has replayed every call so far."""
        env = BfclEnv(self.entry)
        _execute(env, self.history)
        return env

    def observe(self, outputs: list[str]) -> Live:
        """The live state after every call so far (read on a scratch replay)."""
        view = self.scratch()
        try:
            return observe(view, self.rng, outputs)
        finally:
            view.close()

    def try_call(self, tool: str, live: Live, seen: set[str], tries: int) -> tuple[str, str] | None:
        """A legal call of ``tool`` (arguments sampled from ``live``, tried on a scratch environment)."""
        class_name, doc = self.graph.tools[tool]
        for _ in range(tries):
            call = call_string(tool, sample_args(class_name, doc, live))
            if call in seen:
                continue
            trial = self.scratch()
            out = trial.execute([call])[0]
            trial.close()
            if not is_error(out):
                return call, out
        return None

    def step(self, dist: dict[str, int], outputs: list[str], seen: set[str]) -> tuple | None:
        by_distance: dict[int, list[str]] = {}
        for tool, d in dist.items():
            by_distance.setdefault(d, []).append(tool)
        live = self.observe(outputs)
        for d in sorted(by_distance):
            tools = sorted(by_distance[d])
            self.rng.shuffle(tools)
            for tool in tools:
                found = self.try_call(tool, live, seen, self.cfg.arg_tries)
                if found is not None:
                    return tool, *found
        return None

    def walk(self, target: str) -> Round | None:
        """Walk toward ``target``; the round, or None (nothing executed) when T_a is not reached."""
        dist = self.graph.distances_to(target)
        calls: list[str] = []
        outputs: list[str] = []
        for _ in range(self.cfg.max_calls):
            found = self.step(dist, outputs, set(calls))
            if found is None:
                return None
            tool, call, out = found
            calls.append(call)
            outputs.append(out)
            self.history.append(call)
            if tool == target:
                break
        else:
            del self.history[len(self.history) - len(calls) :]
            return None
        if not calls or not calls[-1].startswith(f"{target}("):
            del self.history[len(self.history) - len(calls) :]
            return None
        executed = _execute(self.env, calls)
        if executed != outputs:  # the scratch replay and the live environment must agree
            raise RuntimeError(f"non-deterministic environment: {calls} gave {executed}, expected {outputs}")
        return Round(target, calls, outputs)

    def draw_target(self, exclude: set[str]) -> str | None:
        """A target not in ``exclude`` (targets that failed this round); blocked ones need a tool that
        leads to them."""
        tools = [t for t in sorted(self.graph.tools) if t not in exclude]
        if not tools:
            return None
        if self.rng.random() < self.cfg.blocked_share:
            if self._blocked[0] != len(self.history):  # the state changes only when a round is kept
                live = self.observe([])
                blocked = [
                    t
                    for t in sorted(self.graph.tools)
                    if len(self.graph.distances_to(t)) > 1 and self.try_call(t, live, set(), 1) is None
                ]
                self._blocked = (len(self.history), blocked)
            blocked = [t for t in self._blocked[1] if t not in exclude]
            if blocked:
                return self.rng.choice(blocked)
        return self.rng.choice(tools)

    def close(self) -> None:
        self.env.close()


def walk_trajectory(graph: ApiGraph, entry: dict, seed: int | str, cfg: WalkConfig) -> list[Round]:
    """Up to ``cfg.rounds`` rounds over one environment (fewer when no target can be reached), cut
    before the first round whose ground truth fails BFCL's check against itself (BFCL shares
    ``post_tweet``'s default ``mentions`` list between the model's and the ground truth's tweets, so
    ``post_tweet`` without mentions followed by ``mention`` cannot pass)."""
    walker = Walker(graph, entry, random.Random(f"walk:{seed}"), cfg)
    rounds: list[Round] = []
    try:
        for _ in range(cfg.rounds):
            failed: set[str] = set()
            for _ in range(cfg.target_tries):
                target = walker.draw_target(failed)
                found = None if target is None else walker.walk(target)
                if found is not None:
                    rounds.append(found)
                    break
                failed.add(target)
            else:
                break
    finally:
        walker.close()
    if rounds:
        gt = ground_truth_entry(entry, rounds)
        verdicts = check_turns(gt, [[r.calls] for r in rounds])
        passed = next((k for k, v in enumerate(verdicts) if not v.passed), len(rounds))
        rounds = rounds[:passed]
    return rounds


def ground_truth_entry(entry: dict, rounds: list[Round]) -> dict:
    """A BFCL multi-turn entry whose ground truth is the rounds' calls, one turn per round."""
    return {**entry, "ground_truth": [list(r.calls) for r in rounds]}
