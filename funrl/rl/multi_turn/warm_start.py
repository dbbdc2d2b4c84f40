"""A warm start for a tiny model on BFCL multi-turn entries (the CPU test's and the demo's).

A randomly initialised model never ends a reply within the budget, so every trajectory earns 0 and GRPO
has nothing to act on. :func:`warm_start` teaches it the ground-truth conversations of a few entries:
plain cross-entropy on the assistant tokens of each conversation as the ``bfcl_multi_turn`` agent loop
itself renders it, driven by a scripted token server that replies, per user turn, the turn's
ground-truth calls in the trained format and then an empty call list (the end of the turn). Sampled at
temperature 1 afterwards, the model writes some well-formed replies and calls and gets some turns right
and others wrong: mixed rewards within a GRPO group, so the entropy bonus acts.

Also here, because the tests drive the loop the same way: :class:`ScriptedServer` (verl's
``server_manager.generate`` stand-in), :func:`make_loop` (a loop built as verl builds one),
:func:`row_kwargs` (what verl hands ``run`` for a row), :func:`ground_truth_script` and :func:`reply`.
Imports verl, transformers and torch (the train extra).

``python -m funrl.rl.multi_turn.warm_start --out DIR`` (the demo's multi-turn preparation) writes
``DIR/train.parquet`` (the RL rows of a few BFCL base entries), ``DIR/model`` (a tiny Qwen2 whose
tokenizer is trained on those rows' prompts, warm-started on the entries) and ``DIR/warm_start.json``
(the loss per step).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from funrl.rl.multi_turn.data import row_for, write_parquet
from funrl.toy.bfcl_multi_turn_responder import keyword_call
from funrl.train.extras import require_train_extra

# two GorillaFileSystem entries (4 and 2 turns, first prompts of ~3,400 tokens with the tiny tokenizer)
ENTRY_IDS = ("multi_turn_base_1", "multi_turn_base_3")
Script = Callable[[str, int], "str | tuple[str, bool]"]


class ScriptedServer:
    """verl's ``server_manager.generate`` stand-in: replies from a script, as token ids ending with
    ``<|im_end|>``; records every request. ``script(prompt_text, n)`` -> reply text, or (text, True) for
    a reply cut at ``max_tokens`` without an end of turn."""

    def __init__(self, tokenizer: Any, script: Script) -> None:
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
        ids = ids if cut else ids + [self.end]
        ids = ids[: sampling_params["max_tokens"]]
        self.replies.append(ids)
        await asyncio.sleep(0)  # let concurrent trajectories interleave
        steps = {"min_global_steps": 7, "max_global_steps": 7 + len(self.replies) // 2}  # as verl's client
        return TokenOutput(
            token_ids=ids, log_probs=[-0.25] * len(ids), stop_reason="completed", extra_fields=steps
        )


def make_loop(tokenizer: Any, server: Any, *, response_length: int = 60000, **settings: Any):
    """A ``bfcl_multi_turn`` loop as verl builds one; ``settings``: the ``bfcl_multi_turn:`` block."""
    from omegaconf import OmegaConf
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


def reply(calls: Sequence[str]) -> str:
    """A reply in the trained ``think_answer`` format."""
    return f"<think>I will call {len(calls)} functions.</think><answer>[{', '.join(calls)}]</answer>"


def ground_truth_script(entry: dict) -> Script:
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


def ground_truth_conversation(tokenizer: Any, entry: dict, *, max_tool_output_chars: int) -> tuple:
    """(prompt ids, response ids, response mask) of ``entry``'s ground-truth conversation, rendered by
    the agent loop (so the tokens are the ones a rollout produces); it must earn reward 1."""

    async def conversation():
        loop = make_loop(
            tokenizer,
            ScriptedServer(tokenizer, ground_truth_script(entry)),
            max_tool_output_chars=max_tool_output_chars,
        )
        return await loop.run({"logprobs": False}, **row_kwargs(entry))

    out = asyncio.run(conversation())
    if out.reward_score != 1.0:
        raise RuntimeError(f"{entry['id']}: the ground-truth conversation earned {out.reward_score}, not 1")
    return out.prompt_ids, out.response_ids, out.response_mask


def warm_start(
    model_dir: str | Path,
    entries: Sequence[dict],
    *,
    steps: int = 100,
    lr: float = 3e-3,
    max_tool_output_chars: int = 2000,
    seed: int = 0,
) -> list[float]:
    """Teach the model in ``model_dir`` the ground-truth conversations of ``entries`` (cross-entropy on
    the assistant tokens only; one full-batch AdamW step per step), saved in place. ``max_tool_output_chars``
    must be the RL run's (the tool results in the context). Returns the loss of each step."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    seqs = []
    for entry in entries:
        prompt, response, mask = ground_truth_conversation(
            tok, entry, max_tool_output_chars=max_tool_output_chars
        )
        labels = [-100] * len(prompt) + [t if m else -100 for t, m in zip(response, mask, strict=True)]
        seqs.append((torch.tensor([prompt + response]), torch.tensor([labels])))
    torch.manual_seed(seed)
    optim = torch.optim.AdamW(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        total = 0.0
        for ids, labels in seqs:
            loss = model(input_ids=ids, labels=labels).loss
            loss.backward()
            total += loss.item()
        optim.step()
        optim.zero_grad()
        losses.append(total / len(seqs))
    model.save_pretrained(model_dir)
    return losses


def check_settings(ids: Sequence[str], *, steps: int, lr: float, max_tool_output_chars: int) -> None:
    """ValueError naming the setting when one is out of range (before any work)."""
    if not ids:
        raise ValueError("ids: no BFCL base entry id given")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    chars = max_tool_output_chars
    if isinstance(chars, bool) or not isinstance(chars, int) or chars < 1:
        raise ValueError(f"max_tool_output_chars must be an integer >= 1, got {chars!r}")


def prepare(
    out: str | Path,
    ids: Sequence[str] = ENTRY_IDS,
    *,
    steps: int = 100,
    lr: float = 3e-3,
    vocab_size: int = 4096,
    max_tool_output_chars: int = 2000,
) -> dict:
    """``out/train.parquet`` (the rows of the BFCL base entries ``ids``), ``out/model`` (a tiny Qwen2 with
    a tokenizer trained on the rows' prompts, warm-started on the entries) and ``out/warm_start.json``;
    returns what the JSON holds (ids, steps, lr, the loss per step, seconds)."""
    check_settings(ids, steps=steps, lr=lr, max_tool_output_chars=max_tool_output_chars)
    from funrl.envs.bfcl import load_entries
    from funrl.toy import tiny_qwen2

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    by_id = {e["id"]: e for e in load_entries("base")}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ValueError(f"ids: not BFCL base entries: {missing}")
    entries = [by_id[i] for i in ids]
    rows = [row_for(e, "think_answer", "train", i) for i, e in enumerate(entries)]
    write_parquet(rows, str(out / "train.parquet"))
    texts = [m["content"] for r in rows for m in r["prompt"]]
    model = tiny_qwen2(out / "model", vocab_size=vocab_size, extra_texts=texts)
    start = time.perf_counter()
    losses = warm_start(model, entries, steps=steps, lr=lr, max_tool_output_chars=max_tool_output_chars)
    if not math.isfinite(losses[-1]):
        raise FloatingPointError(
            f"the warm start's loss is {losses[-1]} after {steps} steps at lr={lr}: the model in "
            f"{out / 'model'} is not usable; lower --lr"
        )
    report = {
        "ids": list(ids),
        "steps": steps,
        "lr": lr,
        "loss": losses,
        "seconds": round(time.perf_counter() - start, 1),
    }
    (out / "warm_start.json").write_text(json.dumps(report, indent=1))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m funrl.rl.multi_turn.warm_start", description=prepare.__doc__.split(";")[0]
    )
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--ids", default=",".join(ENTRY_IDS), help="comma-separated BFCL base entry ids")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--max_tool_output_chars", type=int, default=2000, help="the RL run's")
    args = parser.parse_args(argv)
    ids = [i.strip() for i in args.ids.split(",") if i.strip()]
    require_train_extra(parser.prog, ("torch", "transformers", "pandas"))
    try:  # prepare checks its settings before any work
        report = prepare(
            args.out, ids, steps=args.steps, lr=args.lr, max_tool_output_chars=args.max_tool_output_chars
        )
    except ValueError as err:  # a setting out of range, or an id that is not a BFCL base entry
        parser.error(f"--{err}")  # exit 2, naming the option
    except FloatingPointError as err:
        print(f"{parser.prog}: {err}", file=sys.stderr)
        return 1
    losses = report["loss"]
    print(f"warm start on {', '.join(ids)}: {args.steps} steps in {report['seconds']} s")
    for step in range(0, len(losses), max(1, len(losses) // 10)):
        print(f"step {step + 1}: loss {losses[step]:.4f}")
    if losses:
        print(f"step {len(losses)}: loss {losses[-1]:.4f}")
    print(f"model in {Path(args.out) / 'model'}, rows in {Path(args.out) / 'train.parquet'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
