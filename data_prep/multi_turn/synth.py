"""Phases II and III for one trajectory: a query per round, then the guided iterative chain.

For round k of a walked trajectory:

1. the query writer turns the round (as one advanced tool + its call trace) into a user request;
2. the reasoner answers it, in the conversation so far (the accepted turns of rounds < k): each reply is
   ``<think>...</think><tool_call>[...]</tool_call>``, whose calls run in the environment (a fresh one
   replaying the accepted turns), their results coming back as a ``tool`` message, until a reply without
   calls (or ``max_steps`` replies);
3. the turn is checked with ``funrl.envs.bfcl``'s checker against the round's calls as ground truth
   (BFCL's state and response checks for turn k); on failure the critic writes a hint, appended to the
   request, and the reasoner tries again, up to ``k_max`` tries.

A round that never passes (or whose request fails) is dropped with its reason and ends the trajectory
there (later rounds were walked from its state); a trajectory keeping fewer than ``min_rounds`` rounds
is dropped. Every reply goes through the journal, so a rerun replays instead of asking again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from funrl.envs.bfcl import BfclEnv, Checker

from ..client import ChatClient
from .config import MultiTurnConfig
from .params import is_error
from .prompts import (
    PROMPT_VERSION,
    ReplyError,
    critic_messages,
    parse_query,
    parse_reply,
    reasoner_system,
    tool_message,
    with_hints,
    writer_messages,
)

#: BFCL's checker with its ground-truth cache (a hit needs the same initial_config object, so entries of
#: different runs that share an id and calls never mix).
CHECKER = Checker()


@dataclass
class Roles:
    writer: ChatClient
    reasoner: ChatClient
    critic: ChatClient


@dataclass
class Counts:
    """What the report adds up over trajectories."""

    tries: Counter = field(default_factory=Counter)  # tries used by accepted rounds
    hints: int = 0
    failures: Counter = field(default_factory=Counter)  # why tries failed (error type / format)
    tool_calls: int = 0
    tool_errors: int = 0


class RoundDropped(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def _entry(walked: dict, upto: int) -> dict:
    return {
        "id": walked["id"],
        "involved_classes": walked["involved_classes"],
        "initial_config": walked["initial_config"],
        "ground_truth": [r["calls"] for r in walked["rounds"][: upto + 1]],
    }


def _env(walked: dict, accepted: list[dict], k: int) -> BfclEnv:
    """A fresh environment at turn k, after the accepted turns' calls."""
    env = BfclEnv(_entry(walked, k))
    for i, r in enumerate(accepted):
        if i:
            env.start_turn()
        for step in r["steps"]:
            env.execute(step)
    if k:
        env.start_turn(k)
    return env


async def _ask(client: ChatClient, logical_id: str, messages: list[dict], role: str) -> str:
    entry = await client.complete(logical_id, messages)
    if entry.content is None:
        raise RoundDropped(f"{role}:request_error", entry.error or "no reply")
    return entry.content


async def _try(
    roles: Roles,
    cfg: MultiTurnConfig,
    walked: dict,
    accepted: list[dict],
    k: int,
    t: int,
    prompt: list[dict],
    counts: Counts,
) -> tuple[list[dict], list[list[str]], str | None]:
    """One try: (the assistant/tool messages, the steps, why it failed or None)."""
    attempt: list[dict] = []
    steps: list[list[str]] = []
    env = _env(walked, accepted, k)
    try:
        for s in range(cfg.max_steps):
            lid = f"mt/{PROMPT_VERSION}/{walked['id']}/r{k}/t{t}/s{s}"
            reply = await _ask(roles.reasoner, lid, prompt + attempt, "reasoner")
            try:
                calls = parse_reply(reply)
            except ReplyError as e:
                return attempt + [{"role": "assistant", "content": reply}], steps, f"format: {e}"
            attempt.append({"role": "assistant", "content": reply})
            if not calls:
                break
            outputs = env.execute(calls)
            counts.tool_calls += len(calls)
            counts.tool_errors += sum(map(is_error, outputs))
            steps.append(calls)
            attempt.append(tool_message(outputs))
    finally:
        env.close()
    verdict = CHECKER.check_turns(_entry(walked, k), [r["steps"] for r in accepted] + [steps])[k]
    return attempt, steps, None if verdict.passed else f"{verdict.error_type}: {verdict.error_message}"


async def _round(
    roles: Roles, cfg: MultiTurnConfig, walked: dict, accepted: list[dict], k: int, counts: Counts
) -> dict:
    rnd = walked["rounds"][k]
    classes = walked["involved_classes"]
    history = [r["query"] for r in accepted]
    lid = f"mt/{PROMPT_VERSION}/{walked['id']}/r{k}/query"
    try:
        query = parse_query(
            await _ask(
                roles.writer,
                lid,
                writer_messages(rnd["calls"], rnd["outputs"], classes, history),
                "query_writer",
            )
        )
    except ReplyError as e:
        raise RoundDropped("query_writer:empty", str(e)) from None
    context = [{"role": "system", "content": reasoner_system(classes)}]
    for r in accepted:
        context += [{"role": "user", "content": r["query"]}, *r["messages"]]
    hints: list[str] = []
    failures: list[str] = []
    for t in range(cfg.k_max):
        prompt = context + [{"role": "user", "content": with_hints(query, hints)}]
        attempt, steps, failure = await _try(roles, cfg, walked, accepted, k, t, prompt, counts)
        if failure is None:
            counts.tries[str(t + 1)] += 1
            return {
                **rnd,
                "query": query,
                "messages": attempt,
                "steps": steps,
                "tries": t + 1,
                "hints": hints,
                "failures": failures,
            }
        failures.append(failure)
        counts.failures[failure.split(": ")[0]] += 1  # "format" or BFCL's error type
        if t + 1 < cfg.k_max:
            lid = f"mt/{PROMPT_VERSION}/{walked['id']}/r{k}/t{t}/critic"
            hint = (
                await _ask(
                    roles.critic,
                    lid,
                    critic_messages(query, rnd["calls"], rnd["outputs"], attempt, failure),
                    "critic",
                )
            ).strip()
            hints.append(hint or "Compare each step with what the request asks.")
            counts.hints += 1
    raise RoundDropped("reasoner:never_passed", f"{cfg.k_max} tries; last: {failures[-1]}"[:500])


async def synthesize(
    roles: Roles, cfg: MultiTurnConfig, walked: dict, counts: Counts
) -> tuple[dict, list[dict]]:
    """The trajectory (``rounds`` = accepted rounds) and its drop records."""
    accepted: list[dict] = []
    drops: list[dict] = []
    for k in range(len(walked["rounds"])):
        try:
            accepted.append(await _round(roles, cfg, walked, accepted, k, counts))
        except RoundDropped as e:
            drops.append(
                {
                    "trajectory_id": walked["id"],
                    "round": k,
                    "stage": "round",
                    "reason": e.reason,
                    "detail": e.detail,
                }
            )
            break
    out = {key: walked[key] for key in ("id", "involved_classes", "initial_config", "state_source")}
    out["rounds"] = accepted
    if len(accepted) < cfg.min_rounds:
        reason = drops[-1]["reason"] if drops else "walk:no_rounds"
        drops.append(
            {
                "trajectory_id": walked["id"],
                "round": None,
                "stage": "trajectory",
                "reason": f"trajectory:{reason}",
                "detail": f"{len(accepted)} rounds kept, min_rounds={cfg.min_rounds}",
            }
        )
    return out, drops
