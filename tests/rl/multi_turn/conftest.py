"""Shared pieces: the tiny tokenizer, a scripted token server, a loop built as verl builds one."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

from funrl.envs.bfcl import load_entries
from funrl.rl.multi_turn.data import row_for
from funrl.toy.bfcl_multi_turn_responder import keyword_call


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory):
    from funrl.toy import tiny_tokenizer

    return tiny_tokenizer(tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="session")
def entries() -> dict[str, dict]:
    """A few BFCL entries by id (base and miss_func)."""
    out = {e["id"]: e for e in load_entries("base")[:3]}
    out.update({e["id"]: e for e in load_entries("miss_func")[:2]})
    return out


class ScriptedServer:
    """verl's ``server_manager.generate`` stand-in: replies from a script, as token ids ending with
    ``<|im_end|>``; records every request. ``script(prompt_text, n)`` -> reply text or (text, no_end)."""

    def __init__(self, tokenizer: Any, script: Any) -> None:
        self.tokenizer = tokenizer
        self.script = script
        self.requests: list[dict] = []
        self.replies: list[list[int]] = []
        self.end = tokenizer.convert_tokens_to_ids("<|im_end|>")

    async def generate(self, *, request_id: str, prompt_ids: list[int], sampling_params: dict, **kw: Any):
        from verl.workers.rollout.replica import TokenOutput

        self.requests.append({"request_id": request_id, "prompt_ids": list(prompt_ids), **sampling_params})
        text = self.script(self.tokenizer.decode(prompt_ids), len(self.replies))
        cut = isinstance(text, tuple)
        ids = self.tokenizer.encode(text[0] if cut else text, add_special_tokens=False)
        ids = ids[: sampling_params["max_tokens"]] if cut else ids + [self.end]
        ids = ids[: sampling_params["max_tokens"]]
        self.replies.append(ids)
        logprobs = [-0.25] * len(ids)
        await asyncio.sleep(0)  # let concurrent trajectories interleave
        steps = {"min_global_steps": 7, "max_global_steps": 7 + len(self.replies) // 2}  # as verl's client
        return TokenOutput(token_ids=ids, log_probs=logprobs, stop_reason="completed", extra_fields=steps)


def make_loop(tokenizer: Any, server: ScriptedServer, *, response_length: int = 60000, **settings: Any):
    from verl.experimental.agent_loop.agent_loop import DictConfigWrap

    from funrl.rl.multi_turn.loop import BfclMultiTurnAgentLoop

    config = OmegaConf.create(
        {
            "actor_rollout_ref": {"rollout": {"prompt_length": 60000, "response_length": response_length}},
            "data": {"apply_chat_template_kwargs": {}},
            "bfcl_multi_turn": settings,
        }
    )
    return BfclMultiTurnAgentLoop(
        trainer_config=DictConfigWrap(config),
        server_manager=server,
        tokenizer=tokenizer,
        processor=None,
        dataset_cls=None,
        data_config=DictConfigWrap(config.data),
        hf_model_type="qwen2",
    )


def row_kwargs(entry: dict, uid: str = "u", session: int = 0) -> dict:
    """The kwargs verl hands ``run`` for one parquet row."""
    row = row_for(entry, "think_answer", "train", 0)
    return {"raw_prompt": row["prompt"], "extra_info": row["extra_info"], "uid": uid, "session_id": session}


def reply(calls: list[str]) -> str:
    return f"<think>I will call {len(calls)} functions.</think><answer>[{', '.join(calls)}]</answer>"


def ground_truth_script(entry: dict):
    """Per turn: one reply with the turn's ground-truth calls, then an empty call list (end of turn).
    Turn boundaries are found by counting user messages in the prompt the server sees."""
    state = {"turn": -1, "said": False}

    def script(prompt: str, n: int) -> str:
        users = prompt.count("<|im_start|>user\n")
        if users - 1 != state["turn"]:
            state["turn"], state["said"] = users - 1, False
        calls = [keyword_call(c, entry["involved_classes"]) for c in entry["ground_truth"][state["turn"]]]
        if state["said"] or not calls:
            return reply([])
        state["said"] = True
        return reply(calls)

    return script


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())
