"""The bfcl_multi_turn agent loop with a scripted token server and the real tiny tokenizer.

Expected values come from independent sources: the ids the server returned, the chat template's own
rendering of the conversation, a replay of the executed calls on a fresh environment, and BFCL's
checker (funrl.envs.bfcl, verified against BFCL's official verdicts) on the executed calls."""

from __future__ import annotations

import asyncio
import json

import pytest

from funrl.envs.bfcl import BfclEnv, check_multi_turn, check_turns
from funrl.rl.multi_turn.data import opening_messages
from funrl.rl.multi_turn.loop import state_digest
from funrl.rl.multi_turn.warm_start import ScriptedServer, ground_truth_script, make_loop, reply, row_kwargs

PARAMS = {"temperature": 1.0, "top_p": 1.0, "top_k": -1, "logprobs": True}


def run(tokenizer, server, entry, *, prompt_length=None, row=None, **settings):
    """One trajectory; the loop is built inside the event loop, as verl builds it."""

    async def go():
        loop = make_loop(tokenizer, server, **settings)
        if prompt_length is not None:
            loop.rollout_config.prompt_length = prompt_length
        return await loop.run(dict(PARAMS), **(row if row is not None else row_kwargs(entry)))

    return asyncio.run(go())


def mask_runs(mask: list[int], ids: list[int], value: int) -> list[list[int]]:
    """The contiguous runs of ``ids`` where ``mask == value``."""
    runs, cur = [], []
    for m, t in zip(mask, ids, strict=True):
        if m == value:
            cur.append(t)
        elif cur:
            runs.append(cur)
            cur = []
    return runs + ([cur] if cur else [])


def replay(entry: dict, turns: list[list[list[str]]]) -> tuple[list[str], str]:
    """Every call's output, in order, and the final state digest, on a fresh environment."""
    env = BfclEnv(entry)
    outputs = []
    for k, steps in enumerate(turns):
        if k:
            env.start_turn(k)
        for step in steps:
            outputs += env.execute(step)
    digest = state_digest(env)
    env.close()
    return outputs, digest


def test_ground_truth_replies_earn_final_reward_with_exact_ids_and_masks(tokenizer, entries):
    entry = entries["multi_turn_base_0"]
    server = ScriptedServer(tokenizer, ground_truth_script(entry))
    out = run(tokenizer, server, entry)
    # the executed calls are the ground truth, one step per turn; BFCL's checker accepts them
    turns = json.loads(out.extra_fields["bfcl_model_turns"])
    assert [[len(s) for s in t] for t in turns] == [[len(gt)] if gt else [] for gt in entry["ground_truth"]]
    assert check_multi_turn(entry, turns).valid
    assert out.reward_score == 1.0
    info = out.extra_fields["reward_extra_info"]
    assert info["final"] == 1.0 and info["turn_mean"] == 1.0
    assert info["turns_passed"] == info["turns_total"] == info["turns_reached"] == len(entry["ground_truth"])
    assert info["replies"] == len(server.replies) == 2 * len(entry["ground_truth"])
    assert info["tool_calls"] == sum(len(t) for t in entry["ground_truth"])
    # mask 1 exactly on the generated ids, each reply one run, in order, with its log-probs
    ids, mask = out.response_ids, out.response_mask
    assert mask_runs(mask, ids, 1) == server.replies
    assert [lp for lp, m in zip(out.response_logprobs, mask, strict=True) if m] == [-0.25] * sum(mask)
    assert all(lp == 0.0 for lp, m in zip(out.response_logprobs, mask, strict=True) if not m)
    # append-only: every request's context is a prefix of the final sequence
    full = out.prompt_ids + ids
    for request in server.requests:
        assert full[: len(request["prompt_ids"])] == request["prompt_ids"]
    assert len({r["request_id"] for r in server.requests}) == 1
    # the context holds, in order, user turns and tool results: decoding the trajectory equals the
    # chat template's rendering of the conversation rebuilt here from the replay
    outputs, digest = replay(entry, turns)
    messages, k, texts = opening_messages(entry, "think_answer"), 0, iter(server.replies)
    for turn, steps in enumerate(turns):
        if turn:
            messages += entry["question"][turn]
        for step in steps:
            messages.append({"role": "assistant", "content": tokenizer.decode(next(texts)[:-1])})
            messages += [{"role": "tool", "content": o} for o in outputs[k : k + len(step)]]
            k += len(step)
        messages.append({"role": "assistant", "content": tokenizer.decode(next(texts)[:-1])})
    rendered = tokenizer.apply_chat_template(messages, tokenize=False)
    assert tokenizer.decode(full) + "\n" == rendered
    assert out.extra_fields["bfcl_state_digest"] == digest
    # the weight versions verl's staleness tags read: the first reply's min, the last reply's max
    n = len(server.replies)
    assert (out.extra_fields["min_global_steps"], out.extra_fields["max_global_steps"]) == (
        7,
        7 + n // 2,
    )


def test_concurrent_trajectories_of_one_entry_share_no_state(tokenizer, entries):
    """Two trajectories of one entry interleave on one event loop, one doing the ground truth and one
    a different mkdir; each final state equals its own replay on a fresh environment."""
    entry = entries["multi_turn_base_0"]
    other = {**entry, "ground_truth": [["mkdir(dir_name='other')"]] + entry["ground_truth"][1:]}
    good = ScriptedServer(tokenizer, ground_truth_script(entry))
    bad = ScriptedServer(tokenizer, ground_truth_script(other))

    async def both():
        return await asyncio.gather(  # built inside the event loop, as verl does
            make_loop(tokenizer, good).run(dict(PARAMS), **row_kwargs(entry, session=0)),
            make_loop(tokenizer, bad).run(dict(PARAMS), **row_kwargs(entry, session=1)),
        )

    a, b = asyncio.run(both())
    for out in (a, b):
        turns = json.loads(out.extra_fields["bfcl_model_turns"])
        assert out.extra_fields["bfcl_state_digest"] == replay(entry, turns)[1]
    assert a.extra_fields["bfcl_state_digest"] != b.extra_fields["bfcl_state_digest"]
    assert a.reward_score == 1.0 and b.reward_score == 0.0


@pytest.mark.parametrize("mode", ["final", "turn_mean"])
def test_rewards_equal_the_checker_recomputed(tokenizer, entries, mode):
    """Turn 1 answered wrongly, the rest right: final 0, turn_mean = the per-turn verdicts' mean."""
    entry = entries["multi_turn_base_1"]
    wrong = {**entry, "ground_truth": list(entry["ground_truth"])}
    wrong["ground_truth"][1] = ["ls()"]
    out = run(tokenizer, ScriptedServer(tokenizer, ground_truth_script(wrong)), entry, reward=mode)
    turns = json.loads(out.extra_fields["bfcl_model_turns"])
    verdicts = [v.passed for v in check_turns(entry, turns)]
    expected = {
        "final": float(check_multi_turn(entry, turns).valid),
        "turn_mean": sum(verdicts) / len(verdicts),
    }
    assert expected["final"] == 0.0 and 0 < expected["turn_mean"] < 1
    assert out.reward_score == pytest.approx(expected[mode])
    assert out.extra_fields["bfcl_error_type"] == check_multi_turn(entry, turns).error_type


def test_format_term_and_decode_errors(tokenizer, entries):
    """A reply that does not decode ends its turn; the format term is the share of decodable replies."""
    entry = entries["multi_turn_base_2"]
    out = run(tokenizer, ScriptedServer(tokenizer, lambda p, n: "no tags at all"), entry, format_weight=0.5)
    info = out.extra_fields["reward_extra_info"]
    assert info["decode_errors"] == info["replies"] == len(entry["ground_truth"])
    assert info["format_share"] == 0.0 and out.reward_score == 0.0
    script = ground_truth_script(entry)
    out = run(tokenizer, ScriptedServer(tokenizer, script), entry, format_weight=0.5)
    assert out.reward_score == 1.5 and out.extra_fields["reward_extra_info"]["format_share"] == 1.0


def test_step_limit_force_terminates(tokenizer, entries):
    entry = entries["multi_turn_base_0"]
    server = ScriptedServer(tokenizer, lambda p, n: reply(["pwd()"]))
    out = run(tokenizer, server, entry, max_steps_per_turn=3)
    info = out.extra_fields["reward_extra_info"]
    assert info["force_terminated"] == 1.0 and info["replies"] == 3 and info["turns_reached"] == 1
    assert out.extra_fields["bfcl_error_type"] == "multi_turn:force_terminated"
    assert out.reward_score == 0.0
    # the last step's results were executed and appended as context (mask 0); no reply follows them
    assert out.response_mask[-1] == 0
    assert tokenizer.decode(out.prompt_ids + out.response_ids).endswith("<|im_end|>\n<|im_start|>assistant\n")


def test_token_budget_truncates_without_overrunning(tokenizer, entries):
    entry = entries["multi_turn_base_0"]
    server = ScriptedServer(tokenizer, ground_truth_script(entry))
    out = run(tokenizer, server, entry, response_length=300)
    assert out.extra_fields["reward_extra_info"]["truncated"] == 1.0
    assert len(out.response_ids) == len(out.response_mask) <= 300
    assert all(r["max_tokens"] <= 300 for r in server.requests)
    assert out.reward_score == 0.0


def test_reply_cut_before_its_end_ends_the_trajectory(tokenizer, entries):
    entry = entries["multi_turn_base_0"]
    server = ScriptedServer(tokenizer, lambda p, n: (reply(["pwd()"]) * 50, True))
    out = run(tokenizer, server, entry, max_step_tokens=40)
    assert len(server.replies) == 1 and len(server.replies[0]) == 40
    assert out.response_mask == [1] * 40 and out.extra_fields["reward_extra_info"]["truncated"] == 1.0


def test_miss_func_functions_are_announced_at_their_turn(tokenizer, entries):
    entry = entries["multi_turn_miss_func_0"]
    ((turn, names),) = ((int(k), v) for k, v in entry["missed_function"].items())
    names = [n if isinstance(n, str) else n["name"] for n in names]
    server = ScriptedServer(tokenizer, ground_truth_script(entry))
    out = run(tokenizer, server, entry)
    first = tokenizer.decode(server.requests[0]["prompt_ids"])
    assert not any(f'"name": "{n}"' in first for n in names)
    full = tokenizer.decode(out.prompt_ids + out.response_ids)
    users = full.split("<|im_start|>user\n")[1:]
    assert all(f'"name": "{n}"' in users[turn] for n in names)
    assert out.reward_score == float(
        check_multi_turn(entry, json.loads(out.extra_fields["bfcl_model_turns"])).valid
    )


def test_bad_rows_and_settings_fail_loudly(tokenizer, entries):
    from funrl.rl.multi_turn.settings import settings_from

    server = ScriptedServer(tokenizer, lambda p, n: reply([]))
    with pytest.raises(ValueError, match="bfcl_entry"):
        run(tokenizer, server, entries["multi_turn_base_0"], row={"raw_prompt": [], "extra_info": {}})
    with pytest.raises(ValueError, match="prompt_length"):
        run(tokenizer, server, entries["multi_turn_base_0"], prompt_length=10)
    with pytest.raises(ValueError, match="bfcl_multi_turn.reward"):
        settings_from({"bfcl_multi_turn": {"reward": "mean"}})
    with pytest.raises(ValueError, match="unknown key"):
        settings_from({"bfcl_multi_turn": {"rewards": "final"}})
    with pytest.raises(ValueError, match="format_weight"):
        settings_from({"bfcl_multi_turn": {"format_weight": 2}})


def test_registered_by_name_through_the_verl_plugin_entry_point():
    from importlib.metadata import entry_points

    import verl  # noqa: F401  (loads the verl.plugins entry points)
    from verl.experimental.agent_loop import agent_loop

    assert "funrl.rl.multi_turn.plugin" in {ep.value for ep in entry_points(group="verl.plugins")}
    target = agent_loop._agent_loop_registry["bfcl_multi_turn"]["_target_"]
    assert target == "funrl.rl.multi_turn.loop.BfclMultiTurnAgentLoop"


LAZY = """
import sys
import verl
assert "funrl.rl.multi_turn.plugin" in sys.modules, "verl did not load the entry point"
assert "funrl.rl.multi_turn.loop" not in sys.modules  # import verl stays cheap
assert "verl.experimental.agent_loop.agent_loop" not in sys.modules
from verl.experimental.agent_loop import agent_loop
print(agent_loop._agent_loop_registry["bfcl_multi_turn"]["_target_"])
"""
LATE = """
import verl
from verl.experimental.agent_loop import agent_loop
assert "bfcl_multi_turn" not in agent_loop._agent_loop_registry  # plugins off
import funrl.rl.multi_turn.plugin
print(agent_loop._agent_loop_registry["bfcl_multi_turn"]["_target_"])
"""


@pytest.mark.parametrize(("code", "plugins"), [(LAZY, None), (LATE, "none")], ids=["lazy", "late"])
def test_the_plugin_registers_the_loop_when_verls_agent_loop_module_is_imported(code, plugins):
    """In a fresh process: ``import verl`` does not import the loop (or verl's agent-loop module, ~1.4 s of
    CPU in every Ray worker); importing verl's agent-loop module registers it. Loaded after that module
    (plugins off at ``import verl``, then the plugin imported), it registers at once."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "VERL_USE_EXTERNAL_PLUGINS"}
    if plugins:
        env["VERL_USE_EXTERNAL_PLUGINS"] = plugins
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "funrl.rl.multi_turn.loop.BfclMultiTurnAgentLoop"


def test_metrics_leave_verls_reward_key_alone(tokenizer, entries):
    """verl's validation collects the score as reward_extra_info["reward"] itself: a second "reward"
    from the loop would be appended twice per trajectory and misalign every column."""
    entry = entries["multi_turn_base_0"]
    out = run(tokenizer, ScriptedServer(tokenizer, ground_truth_script(entry)), entry)
    info = out.extra_fields["reward_extra_info"]
    assert "reward" not in info
    assert all(isinstance(v, float) for v in info.values())  # numeric: verl averages them
