"""The reward of one BFCL multi-turn trajectory, from what its environment executed.

* ``final``: 1.0 if BFCL's multi-turn checker (``funrl.envs.bfcl.check_multi_turn``, BFCL's verdicts
  reproduced exactly) accepts the whole trajectory, else 0.0: the binary criterion of BFCL and of
  FunReason-MT. A trajectory that stopped before its last turn (step limit, token budget) has fewer turns
  than the entry and is ``multi_turn:force_terminated``, as in BFCL.
* ``turn_mean``: the mean over the entry's turns of the per-turn verdicts
  (``funrl.envs.bfcl.check_turns``: what BFCL would conclude for that turn given the turns before),
  turns never reached counting 0: EnvTuning's dense reward.
* plus ``format_weight`` x the share of the trajectory's replies that decode in the trained output format
  (an empty call list, the trained way to end a turn, decodes).

Both checks re-execute the calls on fresh instances (the checker's own), never on the rollout's
environment, so the reward depends only on the executed call strings.
"""

from __future__ import annotations

from dataclasses import dataclass

from funrl.envs.bfcl import check_multi_turn, check_turns

from .settings import MultiTurnSettings


@dataclass
class Counts:
    """What happened in one trajectory (the loop fills it; part of the logged metrics)."""

    replies: int = 0
    well_formed: int = 0
    decode_errors: int = 0
    steps: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    turns_reached: int = 0
    force_terminated: bool = False
    truncated: bool = False


def trajectory_reward(
    entry: dict, model_turns: list[list[list[str]]], counts: Counts, settings: MultiTurnSettings
) -> tuple[float, dict[str, float], str | None]:
    """(reward, numeric per-trajectory metrics, BFCL's error type or None) for ``model_turns``
    (turns -> steps -> executed call strings) of ``entry``."""
    verdict = check_multi_turn(entry, model_turns)
    num_turns = len(entry["ground_truth"])
    passed = [v.passed for v in check_turns(entry, model_turns)]
    final = 1.0 if verdict.valid else 0.0
    turn_mean = sum(passed) / num_turns
    task = final if settings.reward == "final" else turn_mean
    format_share = counts.well_formed / counts.replies if counts.replies else 0.0
    reward = task + settings.format_weight * format_share
    # no "reward" key: verl's validation adds the score under that name and would count it twice
    metrics = {
        "final": final,
        "turn_mean": turn_mean,
        "format_share": format_share,
        "turns_passed": float(sum(passed)),
        "turns_total": float(num_turns),
        "turns_reached": float(counts.turns_reached),
        "steps": float(counts.steps),
        "replies": float(counts.replies),
        "tool_calls": float(counts.tool_calls),
        "tool_errors": float(counts.tool_errors),
        "decode_errors": float(counts.decode_errors),
        "force_terminated": float(counts.force_terminated),
        "truncated": float(counts.truncated),
    }
    return reward, metrics, verdict.error_type
