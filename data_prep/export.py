"""Output files: the SFT parquet (verl multi-turn ``messages``) and the RL parquet (verl RLHFDataset).

SFT row (one per validated answer; ``data.messages_key=messages`` in verl's MultiTurnSFTDataset):

    messages     [{"role": "system", "content": tools + format}, {"role": "user", "content": query},
                  {"role": "assistant", "content": "<think>CoT</think>" + calls in the output format}]
    data_source, sample_id, index

RL row (one per sample with at least one validated call answer), in verl's RL parquet schema:

    data_source  "<prefix>/<source>"     prompt   [system, user] (the same messages as SFT)
    ability      "function_calling"      reward_model  {"style": "rule", "ground_truth": <reward JSON>}
    extra_info   {"split", "index", "sample_id", "category"}

``ground_truth`` is ``funrl.reward.ground_truth_json(tools, possible answer, category, fmt=output
format, require_think=validate.require_think)``; the possible answer is the sample's reference (BFCL's
own, or built from the reference calls), or the validated calls when the sample has none.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from funrl.reward import ground_truth_json, possible_answer_from_calls

from .config import Config
from .prompts import prompt_messages
from .records import Sample
from .schemas import category_for
from .validate import Validated, reference_answer

_MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
SFT_SCHEMA = pa.schema(
    [
        ("messages", pa.list_(_MESSAGE)),
        ("data_source", pa.string()),
        ("sample_id", pa.string()),
        ("index", pa.int64()),
    ]
)
RL_SCHEMA = pa.schema(
    [
        ("data_source", pa.string()),
        ("prompt", pa.list_(_MESSAGE)),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
        (
            "extra_info",
            pa.struct(
                [
                    ("split", pa.string()),
                    ("index", pa.int64()),
                    ("sample_id", pa.string()),
                    ("category", pa.string()),
                ]
            ),
        ),
    ]
)


def sft_rows(samples: dict[str, Sample], validated: list[Validated], cfg: Config) -> list[dict]:
    rows = []
    for v in validated:
        s = samples[v.sample_id]
        messages = [*prompt_messages(s, cfg.output.format), {"role": "assistant", "content": v.answer}]
        rows.append(
            {
                "messages": messages,
                "data_source": f"{cfg.output.data_source_prefix}/{s.source}",
                "sample_id": s.id,
                "index": v.index,
            }
        )
    return rows


def rl_rows(samples: dict[str, Sample], validated: list[Validated], cfg: Config) -> list[dict]:
    rows, seen = [], set()
    for v in validated:
        if v.status != "accepted" or v.sample_id in seen:
            continue
        seen.add(v.sample_id)
        s = samples[v.sample_id]
        if s.is_call:
            answer, category = reference_answer(s), s.category
        else:
            answer, category = possible_answer_from_calls(v.calls, s.tools), category_for(v.calls, s.tools)
        gt = ground_truth_json(
            s.tools, answer, category, fmt=cfg.output.format, require_think=cfg.validate.require_think
        )
        rows.append(
            {
                "data_source": f"{cfg.output.data_source_prefix}/{s.source}",
                "prompt": prompt_messages(s, cfg.output.format),
                "ability": "function_calling",
                "reward_model": {"style": "rule", "ground_truth": gt},
                "extra_info": {"split": "train", "index": len(rows), "sample_id": s.id, "category": category},
            }
        )
    return rows


def write_parquet(path: str | Path, rows: list[dict], schema: pa.Schema) -> None:
    path = Path(path)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp)
    tmp.replace(path)
