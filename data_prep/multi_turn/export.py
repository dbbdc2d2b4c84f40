"""Outputs: per-assistant-turn SFT rows, RL entries in BFCL's multi-turn format, the contamination report.

SFT (``sft.parquet``, data prep's SFT schema: ``messages``, ``data_source``, ``sample_id``, ``index``):
one row per assistant message of a trajectory, holding the conversation up to and including it (system
with BFCL's tool docs, user requests, assistant ``<think>..</think><tool_call>[..]</tool_call>`` replies,
``tool`` results). The loss belongs on the row's last message only: train with
``data.custom_cls.path=pkg://funrl.data_prep.multi_turn.sft_dataset data.custom_cls.name=CurrentTurnSFTDataset``
(SRML's think / call segments, earlier assistant turns masked).

RL (``rl_multi_turn.jsonl``): one BFCL multi-turn entry per trajectory (``id``, ``question`` -- one user
message per turn --, ``initial_config``, ``involved_classes``, ``ground_truth`` -- the rounds' calls),
validated with ``funrl.envs.bfcl.validate_entry``, what BFCL's checker and the multi-turn environment read.

Contamination: the share of each query's word n-grams found in BFCL's multi-turn questions (all four
categories), the nearest BFCL entry, and optionally the trajectories above a threshold dropped.
"""

from __future__ import annotations

import re
from collections import Counter

from funrl.envs.bfcl import load_all, validate_entry

from .prompts import reasoner_system

_WORD = re.compile(r"\w+")


def conversation(traj: dict) -> list[dict]:
    messages = [{"role": "system", "content": reasoner_system(traj["involved_classes"])}]
    for r in traj["rounds"]:
        messages += [{"role": "user", "content": r["query"]}, *r["messages"]]
    return messages


def sft_rows(trajectories: list[dict], prefix: str = "funrl") -> list[dict]:
    rows = []
    for traj in trajectories:
        messages = conversation(traj)
        n = 0
        for j, m in enumerate(messages):
            if m["role"] == "assistant":
                rows.append(
                    {
                        "messages": messages[: j + 1],
                        "data_source": f"{prefix}/multi_turn",
                        "sample_id": f"{traj['id']}/a{n}",
                        "index": n,
                    }
                )
                n += 1
    return rows


def rl_entry(traj: dict) -> dict:
    entry = {
        "id": traj["id"],
        "question": [[{"role": "user", "content": r["query"]}] for r in traj["rounds"]],
        "initial_config": traj["initial_config"],
        "involved_classes": traj["involved_classes"],
        "ground_truth": [list(r["calls"]) for r in traj["rounds"]],
    }
    validate_entry(entry)
    return entry


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


class BfclQuestions:
    """BFCL's multi-turn user questions, indexed by word n-gram."""

    def __init__(self, n: int, entries: list[dict] | None = None) -> None:
        self.n = n
        self.index: dict[tuple[str, ...], set[str]] = {}
        for e in load_all() if entries is None else entries:
            for turn in e.get("question", []):
                for m in turn:
                    for g in ngrams(m.get("content", ""), n):
                        self.index.setdefault(g, set()).add(e["id"])

    def overlap(self, text: str) -> tuple[float, str | None]:
        """(share of the text's n-grams found in BFCL, the BFCL entry sharing the most of them)."""
        grams = ngrams(text, self.n)
        if not grams:
            return 0.0, None
        hits = [g for g in grams if g in self.index]
        by_entry = Counter(i for g in hits for i in self.index[g])
        nearest = min(by_entry, key=lambda i: (-by_entry[i], i)) if by_entry else None
        return len(hits) / len(grams), nearest


def contamination(
    trajectories: list[dict], questions: BfclQuestions, drop_above: float | None
) -> tuple[dict, set[str]]:
    """The report and the ids of trajectories to drop (a query above ``drop_above``)."""
    rows, drop = [], set()
    for traj in trajectories:
        for k, r in enumerate(traj["rounds"]):
            share, nearest = questions.overlap(r["query"])
            rows.append(
                {"trajectory_id": traj["id"], "round": k, "overlap": round(share, 4), "nearest_bfcl": nearest}
            )
            if drop_above is not None and share > drop_above:
                drop.add(traj["id"])
    shares = [x["overlap"] for x in rows]
    report = {
        "n": questions.n,
        "queries": len(rows),
        "mean_overlap": round(sum(shares) / len(shares), 4) if shares else 0.0,
        "max_overlap": max(shares, default=0.0),
        "queries_with_any_overlap": sum(s > 0 for s in shares),
        "drop_above": drop_above,
        "dropped_trajectories": sorted(drop),
        "top": sorted(rows, key=lambda x: -x["overlap"])[:10],
    }
    return report, drop
