"""RL parquet rows for BFCL multi-turn entries, and a train / held-out split of BFCL's own entries.

A row (verl's RLHFDataset schema plus ``agent_name``) for any entry in BFCL's multi-turn format -- BFCL's
own, or one synthesized the same way (FunReason-MT's data synthesis) -- with its ground truth attached::

    data_source   "bfcl/<category>"                 e.g. bfcl/multi_turn_base
    agent_name    "bfcl_multi_turn"                 verl runs the row through funrl.rl.multi_turn.loop
    prompt        [system, user...]                 turn 0: the training system prompt with the first
                                                    turn's tools, then the first turn's user message(s)
    ability       "multi_turn_function_calling"
    reward_model  {style: "rule", ground_truth: <JSON of the per-turn ground-truth calls>}
    extra_info    {split, index, id, category, bfcl_entry: <JSON of the whole entry>}

The prompt is ``funrl.eval``'s ``training`` style (the trained output format's instruction, the tools as
JSON, BFCL's multi-turn paragraph), so a model is trained and evaluated on the same conversation.

Split (``python -m funrl.rl.multi_turn.data --out DIR``): BFCL's multi-turn entries of the chosen
categories, in file order; within each category, every ``held_out_every``-th entry (index 0, k, 2k, ...)
is held out for evaluation, the others are for training; ``split.json`` lists the ids of both sides.

CONTAMINATION: BFCL's multi-turn entries are BFCL's *test set*. Training on any of them and reporting
BFCL multi-turn accuracy on the same entries measures memorisation, not ability. Report only the
held-out ids (``funrl.eval``'s ``--ids``/``split.json``), say that the rest was trained on, and prefer
training on synthesized entries (``--entries``) when comparing with published numbers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from funrl.envs.bfcl import CATEGORIES, BfclEnv, load_entries, validate_entry
from funrl.eval.multi_turn_prompts import make_style
from funrl.rl.multi_turn import AGENT_NAME, ENTRY_KEY

ABILITY = "multi_turn_function_calling"
CONTAMINATION = (
    "BFCL's multi-turn entries are BFCL's test set: do not report BFCL multi-turn accuracy on entries you "
    "trained on; evaluate on the held-out ids of split.json only"
)
log = logging.getLogger(__name__)


def opening_messages(entry: dict, fmt: str) -> list[dict]:
    """Turn 0 of ``entry`` as the model sees it: the training system prompt with the first turn's tools
    (held-out functions absent), then the first turn's user message(s). A system message BFCL puts in
    the first turn is merged into the system prompt, as ``funrl.eval``'s driver does."""
    style = make_style("training", fmt)
    env = BfclEnv(entry)
    try:
        messages = style.opening(env.tools(0))
        question = env.question(0)
    finally:
        env.close()
    if question and question[0].get("role") == "system":
        messages[0]["content"] += "\n\n" + question.pop(0)["content"]
    if not question or question[-1].get("role") != "user":
        raise ValueError(f"entry {entry['id']}: question[0] must end with a user message")
    return messages + [{"role": m["role"], "content": m["content"]} for m in question]


def entry_of(extra_info: Any) -> dict:
    """The BFCL entry of a row: ``extra_info["bfcl_entry"]``, a JSON string (or an already decoded dict).
    Raises ValueError naming the field."""
    raw = extra_info.get(ENTRY_KEY) if isinstance(extra_info, dict) else None
    if raw is None:  # a parquet struct column holds a missing key as null
        raise ValueError(f"{AGENT_NAME}: the row's extra_info has no {ENTRY_KEY!r} (the BFCL entry)")
    try:
        entry = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as err:
        raise ValueError(f"{AGENT_NAME}: extra_info.{ENTRY_KEY} is not valid JSON ({err})") from None
    if not isinstance(entry, dict):
        raise ValueError(f"{AGENT_NAME}: extra_info.{ENTRY_KEY} must be a JSON object")
    return entry


def row_for(entry: dict, fmt: str, split: str, index: int) -> dict:
    """The RL parquet row of one entry (ground truth attached as ``entry["ground_truth"]``)."""
    validate_entry(entry)
    category = entry["id"].rsplit("_", 1)[0]
    return {
        "data_source": f"bfcl/{category}",
        "agent_name": AGENT_NAME,
        "prompt": opening_messages(entry, fmt),
        "ability": ABILITY,
        "reward_model": {"style": "rule", "ground_truth": json.dumps(entry["ground_truth"])},
        "extra_info": {
            "split": split,
            "index": index,
            "id": entry["id"],
            "category": category,
            ENTRY_KEY: json.dumps(entry, ensure_ascii=False),
        },
    }


def split_ids(entries: Sequence[dict], held_out_every: int) -> tuple[list[dict], list[dict]]:
    """(train, held_out): within each category, in the given order, entries 0, k, 2k... are held out."""
    if held_out_every < 2:
        raise ValueError(f"held_out_every must be >= 2, got {held_out_every}")
    seen: dict[str, int] = {}
    train, held = [], []
    for entry in entries:
        category = entry["id"].rsplit("_", 1)[0]
        k = seen.get(category, 0)
        seen[category] = k + 1
        (held if k % held_out_every == 0 else train).append(entry)
    return train, held


def write_parquet(rows: list[dict], path: str) -> None:
    """Write rows (an empty list is an error: a run on no data is useless)."""
    import pandas as pd

    if not rows:
        raise ValueError(f"no rows to write to {path}")
    pd.DataFrame(rows).to_parquet(path, index=False)


def read_entries_file(path: str) -> list[dict]:
    """Entries in BFCL's multi-turn format, one JSON object per line, ``ground_truth`` attached."""
    entries = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    entry = json.loads(line)
                    validate_entry(entry)
                except ValueError as e:
                    raise ValueError(f"{path}:{n}: {e}") from None
                entries.append(entry)
    return entries


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m funrl.rl.multi_turn.data``: write train.parquet, held_out.parquet and split.json."""
    parser = argparse.ArgumentParser(
        prog="python -m funrl.rl.multi_turn.data", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--categories", default="base", help=f"comma-separated, of {CATEGORIES}")
    parser.add_argument("--entries", help="a JSONL of entries in BFCL's format instead (all go to train)")
    parser.add_argument("--fmt", default="think_answer", help="the trained output format")
    parser.add_argument(
        "--held_out_every", type=int, default=2, help="hold out entries 0, k, 2k... per category"
    )
    parser.add_argument("--limit", type=int, help="the first N entries of each category (smoke tests)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.entries:
        train, held = read_entries_file(args.entries), []
    else:
        entries = []
        for category in args.categories.split(","):
            entries += load_entries(category.strip())[: args.limit]
        train, held = split_ids(entries, args.held_out_every)
        print(f"WARNING: {CONTAMINATION}", file=sys.stderr)
    write_parquet(
        [row_for(e, args.fmt, "train", i) for i, e in enumerate(train)], f"{args.out}/train.parquet"
    )
    if held:
        rows = [row_for(e, args.fmt, "held_out", i) for i, e in enumerate(held)]
        write_parquet(rows, f"{args.out}/held_out.parquet")
    split = {"train": [e["id"] for e in train], "held_out": [e["id"] for e in held], "note": CONTAMINATION}
    with open(f"{args.out}/split.json", "w", encoding="utf-8") as f:
        json.dump(split, f, indent=1)
    print(f"wrote {len(train)} train and {len(held)} held-out rows to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
