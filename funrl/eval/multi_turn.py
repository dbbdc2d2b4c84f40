"""BFCL's multi-turn categories on a served model: each entry driven turn by turn, scored by BFCL's checker.

What BFCL's ``BaseHandler.inference_multi_turn_prompting`` does with a prompt-mode (OSS) model, done
over an OpenAI-compatible chat endpoint (the server applies the chat template):

* per turn, the entry's user message is appended; at a miss_func turn the held-out functions are
  announced in a user message instead (they are absent from the system prompt until then);
* the model is asked, its reply appended as an ``assistant`` message and decoded; a reply that does
  not decode or decodes to no call ends the turn; otherwise the calls run in the entry's own
  :class:`funrl.envs.bfcl.BfclEnv` (state carried across turns, BFCL's long-context data for
  long_context entries) and each result is appended as a ``tool`` message;
* after ``MAXIMUM_STEP_LIMIT`` + 1 executed steps in one turn (BFCL's constant, imported) the entry is
  force-terminated: no later turn is asked, so the checker answers ``multi_turn:force_terminated``
  (unless it was the last turn, as in BFCL);
* the decoded calls, turns -> steps, are scored with :func:`funrl.envs.bfcl.check_multi_turn`
  (BFCL's ``multi_turn_checker`` and ``eval_runner`` rules reproduced exactly).

Prompts and decoding: :mod:`.multi_turn_prompts`. Entries run concurrently, each with its own
environment; the client bounds the requests in flight and journals every reply under a key made of
``bfcl_mt/<id>/<turn>/<step>`` and the whole request body (the conversation so far), so a rerun replays
the same conversations from the journal without asking again. A request the server refuses for good
scores 0 with ``request_error:<kind>``; an unexpected failure of one entry scores it 0 with
``eval_error:<exception>`` and the run goes on; a server that keeps failing stops the run
(:class:`funrl.data_prep.client.EndpointError`; rerun to resume).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any

from tqdm import tqdm

from funrl.data_prep import EndpointError
from funrl.envs.bfcl import CATEGORIES, BfclEnv, check_multi_turn, load_entries, validate_entry

from .multi_turn_fc import FcStyle
from .multi_turn_prompts import MAXIMUM_STEP_LIMIT, DecodeError, PromptStyle, make_style

log = logging.getLogger(__name__)
MODES = ("prompt", "fc")


def category_name(category: str) -> str:
    """``base`` or ``multi_turn_base`` -> ``multi_turn_base``; ValueError for anything else."""
    name = category if category.startswith("multi_turn_") else f"multi_turn_{category}"
    if name not in CATEGORIES:
        raise ValueError(f"unknown multi-turn category {category!r}; expected one of {CATEGORIES}")
    return name


def _read_jsonl(path: str) -> list[dict]:
    """One JSON object a line; ValueError naming the file and line of one that is not."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not a JSON object ({e})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{n}: not a JSON object")
            rows.append(row)
    return rows


def read_entries(category: str, data_dir: str | None, limit: int | None) -> list[dict]:
    """The category's entries with ground truth attached (the installed bfcl-eval's data, or
    ``data_dir/BFCL_v4_<category>.json`` + ``data_dir/possible_answer/``), the first ``limit`` only."""
    name = category_name(category)
    if data_dir is None:
        entries = load_entries(name)
    else:
        file = f"BFCL_v4_{name}.json"
        entries = _read_jsonl(os.path.join(data_dir, file))
        answers = {
            a.get("id"): a.get("ground_truth")
            for a in _read_jsonl(os.path.join(data_dir, "possible_answer", file))
        }
        for entry in entries:
            if entry.get("id") not in answers:
                raise ValueError(f"{file}: entry {entry.get('id')!r} has no ground truth in possible_answer/")
            entry["ground_truth"] = answers[entry["id"]]
            validate_entry(entry)
    return entries[:limit] if limit is not None else entries


def _row(entry: dict, output: list, steps: int) -> dict[str, Any]:
    return {
        "id": entry["id"],
        "category": entry["id"].rsplit("_", 1)[0],
        "valid": False,
        "error_type": None,
        "errors": [],
        "output": output,
        "steps": steps,
    }


async def run_entry(entry: dict, client: Any, style: PromptStyle | FcStyle) -> dict[str, Any]:
    """Drive one entry through all its turns; return its result row (see :func:`run_multi_turn`)."""
    env = BfclEnv(entry)
    first = env.tools(0)
    revealed: list[dict] = []
    messages = style.opening(first)
    output: list[list[dict]] = []  # turns -> steps -> {"reply", "calls", "results" | "decode_error"}
    model_turns: list[list[list[str]]] = []  # turns -> steps -> executed calls (the checker's input)
    row = _row(entry, output, 0)
    try:
        for turn in range(env.num_turns):
            env.start_turn(turn)
            new = env.new_tools(turn)
            revealed += new
            question = [style.reveal(new)] if new else env.question(turn)
            if turn == 0 and question and question[0].get("role") == "system":  # BFCL prepends its own
                if messages and messages[0]["role"] == "system":
                    messages[0]["content"] += "\n\n" + question.pop(0)["content"]
            messages.extend(question)
            tools = style.request_tools(first, revealed)
            steps: list[dict] = []
            output.append(steps)
            model_turns.append([])
            for step in range(MAXIMUM_STEP_LIMIT + 1):
                key = f"bfcl_mt/{entry['id']}/{turn}/{step}"
                if tools is None:
                    reply = await client.complete(key, messages)
                else:
                    reply = await client.complete(key, messages, tools=tools)
                row["steps"] += 1
                if reply.content is None:
                    kind = (reply.error or "unknown").split(":", 1)[0]
                    row.update(error_type=f"request_error:{kind}", errors=[reply.error or "no reply"])
                    return row
                messages.append(style.assistant(reply.content))
                try:
                    calls = style.decode(reply.content)
                except DecodeError as e:
                    steps.append({"reply": reply.content, "calls": [], "decode_error": str(e)})
                    break
                if not calls:
                    steps.append({"reply": reply.content, "calls": []})
                    break
                results = env.execute(calls)
                steps.append({"reply": reply.content, "calls": calls, "results": results})
                model_turns[-1].append(calls)
                messages.extend(style.results(calls, results, reply.content))
            else:  # BFCL: count > MAXIMUM_STEP_LIMIT -> force quit, no later turn is asked
                row["force_terminated"] = True
                break
    finally:
        env.close()
    verdict = check_multi_turn(entry, model_turns)
    row.update(valid=verdict.valid, error_type=verdict.error_type)
    if not verdict.valid:
        row["errors"] = [verdict.error_message or verdict.error_type or "invalid"]
        detail = _detail(verdict.details)
        if detail:
            row["errors"].append(detail)
    return row


#: Characters of a failing verdict's details kept in a result row.
MAX_DETAIL_CHARS = 2000


def _detail(details: dict) -> str | None:
    """What the checker found (the state attributes that differ, or the missing results), as one bounded
    line: ``differences: {...}``."""
    for key in ("differences", "missing_items"):
        if details.get(key):
            text = f"{key}: {details[key]!r}"
            return text if len(text) <= MAX_DETAIL_CHARS else text[:MAX_DETAIL_CHARS] + "...[truncated]"
    return None


async def _guarded(entry: dict, client: Any, style: PromptStyle | FcStyle, bar: tqdm) -> dict[str, Any]:
    """One entry; an unexpected exception scores it 0 (``eval_error:<class>``) instead of ending the run.
    The client's EndpointError (the server keeps failing) and cancellation propagate."""
    try:
        return await run_entry(entry, client, style)
    except (EndpointError, asyncio.CancelledError):
        raise
    except Exception as e:  # noqa: BLE001 - one entry's failure is its own row, said loudly
        log.warning("multi-turn entry %s failed: %s: %s", entry.get("id"), type(e).__name__, e)
        row = _row(entry, [], 0)
        row.update(error_type=f"eval_error:{type(e).__name__}", errors=[f"{type(e).__name__}: {e}"])
        return row
    finally:
        bar.update()


async def run_multi_turn(
    categories: list[str],
    client: Any,
    *,
    prompt_style: str,
    fmt: str,
    mode: str,
    limit: int | None,
    data_dir: str | None,
    progress: bool,
) -> list[dict]:
    """Evaluate the multi-turn ``categories`` (``multi_turn_base`` or ``base``, ...) on the model behind
    ``client`` (data preparation's ``ChatClient``: ``await client.complete(key, messages)``).

    Returns one row per entry, in category then file order: ``{"id", "category", "valid",
    "error_type", "errors", "output", "steps"}`` (``errors``: the checker's message, then what differed --
    state attributes or missing results -- in at most :data:`MAX_DETAIL_CHARS` characters; ``output``:
    turns -> steps -> ``{"reply", "calls", "results"}`` or ``{"reply", "calls": [], "decode_error"}``; ``force_terminated`` when BFCL's step
    limit was hit). ``limit``: the first N entries of each category. Raises ValueError for a bad
    argument; EndpointError when the server keeps failing (rerun to resume from the journal).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    style: PromptStyle | FcStyle = make_style(prompt_style, fmt)  # checked in FC mode too
    if mode == "fc":
        style = FcStyle()
    entries = [e for c in categories for e in read_entries(c, data_dir, limit)]
    bar = tqdm(total=len(entries), desc="bfcl multi-turn", unit="entry", disable=not progress)
    tasks = [asyncio.ensure_future(_guarded(e, client, style, bar)) for e in entries]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        bar.close()
