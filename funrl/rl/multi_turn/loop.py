"""The ``bfcl_multi_turn`` agent loop: one BFCL multi-turn entry, one environment, one trajectory.

verl 0.9.1 instantiates a registered agent loop per trajectory (``@register`` in
``verl.experimental.agent_loop``); this one is registered from FunRL's ``verl.plugins`` entry point
(``funrl.rl.multi_turn.plugin``) and selected per row by the parquet column ``agent_name``. Per
trajectory:

* a fresh :class:`funrl.envs.bfcl.BfclEnv` for the row's entry (``extra_info["bfcl_entry"]``), closed at
  the end: trajectories never share instances, also those of one GRPO group;
* turn 0 is the row's ``prompt`` (system prompt with the first turn's tools + the first user message, as
  ``funrl.rl.multi_turn.data`` writes it); each later turn appends the entry's user message, or, at a
  miss_func turn, the announcement of the held-out functions (``funrl.eval``'s ``training`` prompt style,
  so training and evaluation talk to the model alike);
* per step the model replies; the reply is read in the trained format (``funrl.reward.parse``): calls
  are executed in the environment and each result is appended as a ``tool`` message; a reply with no
  call, or that does not decode, ends the turn (as BFCL's driver does); ``max_steps_per_turn`` replies in
  one turn force-terminate the trajectory (no later turn is asked, as in BFCL);
* tokens: append-only. The model's ids are appended exactly as generated (mask 1, with their rollout
  log-probs); each appended user/tool group is the chat template's *delta* for those messages (verl's
  Continuous Token builder, which also restores the separator a chat template writes after an end of
  turn the generation stopped at), mask 0. The history is never re-tokenised, so the ids trained on
  are the ids generated, in the context the model saw. The response budget is
  ``rollout.response_length`` tokens: a reply gets at most what is left of it, a context append that
  does not fit ends the trajectory (``truncated``);
* reward: :func:`funrl.rl.multi_turn.rewards.trajectory_reward` on the executed calls, set as the
  trajectory's score (verl's reward function is not called); per-trajectory metrics go to
  ``extra_fields["reward_extra_info"]`` (the trainer hook logs their means as ``funrl/multi_turn/*``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from verl.experimental.agent_loop.agent_loop import AgentLoopBase, AgentLoopOutput, register

from funrl.envs.bfcl import BfclEnv
from funrl.eval.multi_turn_prompts import DecodeError, make_style

from . import AGENT_NAME
from .data import entry_of
from .rewards import Counts, trajectory_reward
from .settings import settings_from

TOOL_ERROR_PREFIX = "Error during execution"
DUMP_ENV = "FUNRL_MULTI_TURN_DUMP_DIR"


def state_digest(env: BfclEnv) -> str:
    """A digest of the environment's public state (to check that trajectories shared nothing)."""
    text = json.dumps(env.state(), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class _Rollout:
    """The token stream of one trajectory and what it holds."""

    messages: list[dict]
    prompt_ids: list[int]
    ids: list[int] = field(default_factory=list)  # prompt + response so far
    mask: list[int] = field(default_factory=list)  # per response token: 1 generated, 0 context
    logprobs: list[float] = field(default_factory=list)
    generated: list[list[int]] = field(default_factory=list)  # the ids of each reply, as returned
    counts: Counts = field(default_factory=Counts)
    server_fields: dict = field(default_factory=dict)  # the server's extra_fields (weight versions)
    request_id: str = ""  # one per trajectory: verl routes a request id to one server (prefix cache)


@register(AGENT_NAME)
class BfclMultiTurnAgentLoop(AgentLoopBase):
    """verl agent loop over one BFCL multi-turn entry (see the module docstring)."""

    def __init__(self, *args: Any, tools: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings_from(self.config)
        self.style = make_style("training", self.settings.fmt)
        self.response_length = int(self.rollout_config.response_length)

    async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> AgentLoopOutput:
        entry = entry_of(kwargs.get("extra_info"))
        messages = [dict(m) for m in kwargs["raw_prompt"]]
        if not messages or messages[-1].get("role") != "user":
            raise ValueError(f"{AGENT_NAME}: the row's prompt must end with the first turn's user message")
        settings = self.settings
        env = BfclEnv(entry, strict=settings.strict, max_output_chars=settings.max_tool_output_chars)
        try:
            prompt_ids = await self._initial_ids(messages)
            ro = _Rollout(
                messages=messages, prompt_ids=prompt_ids, ids=list(prompt_ids), request_id=_request_id()
            )
            await self._play(env, ro, sampling_params)
            digest = state_digest(env)
        finally:
            env.close()
        reward, metrics, error_type = trajectory_reward(entry, env.trajectory, ro.counts, settings)
        extra = {
            **ro.server_fields,  # min/max_global_steps: verl's staleness tags need them
            "reward_extra_info": metrics,
            "bfcl_id": entry.get("id"),
            "bfcl_error_type": error_type or "",
            "bfcl_model_turns": json.dumps(env.trajectory),
            "bfcl_state_digest": digest,
        }
        output = AgentLoopOutput(
            prompt_ids=ro.prompt_ids,
            response_ids=ro.ids[len(ro.prompt_ids) :],
            response_mask=ro.mask,
            response_logprobs=ro.logprobs if sampling_params.get("logprobs") else None,
            reward_score=reward,
            num_turns=len(ro.messages),
            metrics={},
            extra_fields=extra,
        )
        self._dump(kwargs, ro, output, entry, env.trajectory)
        return output

    async def _initial_ids(self, messages: list[dict]) -> list[int]:
        """The chat template's rendering of the turn-0 messages, with the generation prompt. A prompt
        longer than ``rollout.prompt_length`` is an error (verl would cut its beginning: the tools)."""
        builder = self.continuous_token_builder
        ids = await self.loop.run_in_executor(None, lambda: builder.build_initial_tokens(messages))
        limit = int(self.rollout_config.prompt_length)
        if len(ids) > limit:
            raise ValueError(
                f"{AGENT_NAME}: the first prompt has {len(ids)} tokens > rollout.prompt_length={limit} "
                "(data.max_prompt_length); raise it or drop the entry"
            )
        return list(ids)

    async def _play(self, env: BfclEnv, ro: _Rollout, sampling_params: dict[str, Any]) -> None:
        """All turns of the entry, until the end, a force termination or the token budget."""
        for turn in range(env.num_turns):
            if turn > 0:
                env.start_turn(turn)
                new = env.new_tools(turn)
                if not await self._append_context(
                    ro, [self.style.reveal(new)] if new else env.question(turn)
                ):
                    return
            ro.counts.turns_reached = turn + 1
            for _ in range(self.settings.max_steps_per_turn):
                reply = await self._reply(ro, sampling_params)
                if reply is None:
                    return
                try:
                    calls = self.style.decode(reply)
                    ro.counts.well_formed += 1
                except DecodeError:
                    ro.counts.decode_errors += 1
                    break
                if not calls:
                    break
                results = env.execute(calls)
                ro.counts.steps += 1
                ro.counts.tool_calls += len(calls)
                ro.counts.tool_errors += sum(r.startswith(TOOL_ERROR_PREFIX) for r in results)
                if not await self._append_context(ro, self.style.results(calls, results, reply)):
                    return
            else:  # BFCL: past the step limit the entry is force-terminated, no later turn is asked
                ro.counts.force_terminated = True
                return

    async def _reply(self, ro: _Rollout, sampling_params: dict[str, Any]) -> str | None:
        """One model reply appended (ids as generated, mask 1); its text, or None when the trajectory
        ends here (no budget left, or the reply was cut by the budget before its end-of-turn token)."""
        budget = self.response_length - len(ro.mask)
        if self.settings.max_step_tokens is not None:
            budget = min(budget, self.settings.max_step_tokens)
        if budget <= 0:
            ro.counts.truncated = True
            return None
        params = {**sampling_params, "max_tokens": budget}
        out = await self.server_manager.generate(
            request_id=ro.request_id, prompt_ids=list(ro.ids), sampling_params=params
        )
        token_ids = list(out.token_ids)
        if not ro.server_fields:  # as verl's ToolAgentLoop: the first reply's, then the latest weights
            ro.server_fields.update(out.extra_fields or {})
        elif (out.extra_fields or {}).get("max_global_steps") is not None:
            ro.server_fields["max_global_steps"] = out.extra_fields["max_global_steps"]
        merge, mask, logprobs = await self.ct_merge_assistant_token(
            ro.ids,
            token_ids,
            ro.mask,
            ro.logprobs if sampling_params.get("logprobs") else None,
            assistant_logprobs=list(out.log_probs) if sampling_params.get("logprobs") else None,
        )
        ro.ids, ro.mask = merge.token_ids, mask
        if logprobs is not None:
            ro.logprobs = logprobs
        ro.generated.append(token_ids)
        ro.counts.replies += 1
        ended = bool(token_ids) and token_ids[-1] in self._end_ids()
        text = self.tokenizer.decode(token_ids[:-1] if ended else token_ids, skip_special_tokens=False)
        ro.messages.append(self.style.assistant(text))
        if not ended:
            ro.counts.truncated = True
            return None
        return text

    def _end_ids(self) -> set[int]:
        """Token ids that end a reply: the tokenizer's EOS and the chat template's end of turn."""
        ids = {self.tokenizer.eos_token_id}
        end = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        if isinstance(end, int) and end != self.tokenizer.unk_token_id:
            ids.add(end)
        return {i for i in ids if i is not None}

    async def _append_context(self, ro: _Rollout, new: list[dict]) -> bool:
        """Append user/tool messages as the chat template's delta (mask 0); False if they do not fit."""
        before = list(ro.messages)
        after = before + new
        merge, mask, logprobs = await self.ct_merge_context_msg(
            before, after, ro.ids, ro.mask, ro.logprobs if ro.logprobs else None
        )
        if len(mask) >= self.response_length:  # no room left for a reply
            ro.counts.truncated = True
            return False
        ro.messages = after
        ro.ids, ro.mask = merge.token_ids, mask
        if logprobs is not None:
            ro.logprobs = logprobs
        return True

    def _dump(self, kwargs: dict, ro: _Rollout, output: AgentLoopOutput, entry: dict, turns: list) -> None:
        """With ``FUNRL_MULTI_TURN_DUMP_DIR`` set: one JSON file per trajectory (tests, debugging)."""
        directory = os.environ.get(DUMP_ENV)
        if not directory:
            return
        os.makedirs(directory, exist_ok=True)
        key = f"{kwargs.get('uid', 'nouid')}_{kwargs.get('session_id', 0)}_0"
        record = {
            "key": key,
            "entry_id": entry.get("id"),
            "prompt_ids": output.prompt_ids,
            "response_ids": output.response_ids,
            "response_mask": output.response_mask,
            "generated": ro.generated,
            "messages": ro.messages,
            "model_turns": turns,
            "reward": output.reward_score,
            "extra_fields": output.extra_fields,
            "global_steps": kwargs.get("global_steps"),
        }
        with open(os.path.join(directory, f"{key}.json"), "w", encoding="utf-8") as f:
            json.dump(record, f)


def _request_id() -> str:
    """A fresh request id for one trajectory."""
    return os.urandom(8).hex()
