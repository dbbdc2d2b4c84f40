"""Stage 2: AST validation of every judged answer with ``funrl.reward`` (no LLM).

An accepted answer passes when, in order (the first failure is the drop reason):

1. it has a ``<think>`` CoT (``validate.require_think``)     else ``format_error:...`` from the parser
2. its calls parse in the output format                       else the parser's ``format_error:...``
3. the calls conform to the tools' schemas: known function and
   parameters, types, enums, required parameters             else ``schema_error:<what>``
4. it passes the checker against its own ground truth         else the checker's error type
5. it passes against the sample's reference
   (``validate.match_reference``)                             else ``reference_mismatch:<error type>``
6. rendered in the output format, it parses back to the same calls   else ``render_error``

"kept_non_call" answers (no call, none expected) pass through unchanged, for the SFT file only.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from funrl.reward import FormatError, check, parse, possible_answer_from_calls
from funrl.reward import leading_think as split_think
from tqdm import tqdm

from .config import Config
from .records import Drop, Judged, Sample
from .render import RenderError, render_answer
from .schemas import category_for, schema_violation


@dataclass
class Validated:
    sample_id: str
    index: int
    status: str  # "accepted" | "kept_non_call"
    cot: str
    calls: list[dict]  # BFCL decoded form; [] for kept_non_call
    answer: str  # the assistant turn: <think>cot</think> + the calls rendered in the output format
    rounds: int


def _canonical(calls: list) -> str:
    return json.dumps(calls, sort_keys=True, ensure_ascii=False)


def reference_answer(sample: Sample) -> list[dict]:
    """The sample's possible answer: BFCL's own, or one built from the reference calls."""
    if sample.possible_answer is not None:
        return sample.possible_answer
    return possible_answer_from_calls(sample.reference_calls, sample.tools)


def validate_one(sample: Sample, judged: Judged, cfg: Config) -> Validated | Drop:
    fmt = cfg.output.format
    cot, rest = split_think(judged.text)
    if judged.status == "kept_non_call":
        return Validated(sample.id, judged.index, judged.status, cot or "", [], judged.text, judged.rounds)

    def drop(reason: str, detail: str = "") -> Drop:
        return Drop(sample.id, judged.index, "validate", reason, detail)

    try:
        calls = parse(judged.text, fmt, require_think=cfg.validate.require_think)
    except FormatError as e:
        return drop(e.error_type, str(e))
    if not calls:
        return drop("format_error:no_calls")
    violation = schema_violation(calls, sample.tools)
    if violation is not None:
        return drop(*violation)
    own = check(
        calls,
        functions=sample.tools,
        possible_answer=possible_answer_from_calls(calls, sample.tools),
        category=category_for(calls, sample.tools),
    )
    if not own.valid:
        return drop(own.error_type or "checker_error", "; ".join(own.errors))
    if cfg.validate.match_reference:
        if not sample.is_call:
            return drop("reference_mismatch:expected_no_call")
        ref = check(
            calls, functions=sample.tools, possible_answer=reference_answer(sample), category=sample.category
        )
        if not ref.valid:
            return drop(f"reference_mismatch:{ref.error_type}", "; ".join(ref.errors))
    try:
        answer = render_answer(cot or "", calls, fmt)
        back = parse(answer, fmt, require_think=True)
    except (RenderError, FormatError) as e:
        return drop("render_error", str(e))
    if _canonical(back) != _canonical(calls):
        return drop("render_error", f"{fmt} round trip changed the calls: {_canonical(back)}")
    return Validated(sample.id, judged.index, "accepted", cot or "", calls, answer, judged.rounds)


CHUNK = 1000


def _validate_chunk(args: tuple[list[tuple[Sample, Judged]], Config]) -> list[Validated | Drop]:
    pairs, cfg = args
    return [validate_one(sample, judged, cfg) for sample, judged in pairs]


def validate_many(
    pairs: list[tuple[Sample, Judged]], cfg: Config, *, chunk: int = CHUNK
) -> list[Validated | Drop]:
    """``validate_one`` over many answers, in input order; ``validate.workers`` processes (0: one per
    core) when there are more than two chunks of work, else in this process."""
    workers = cfg.validate.workers or os.cpu_count() or 1
    bar = tqdm(total=len(pairs), desc="stage 2 validate", unit="sample", disable=not cfg.progress)
    chunks = [pairs[i : i + chunk] for i in range(0, len(pairs), chunk)]
    out: list[Validated | Drop] = []
    try:
        if workers == 1 or len(chunks) <= 2:
            for chunk in chunks:
                out.extend(_validate_chunk((chunk, cfg)))
                bar.update(len(chunk))
            return out
        # spawn: no fork of a process that may hold threads (tqdm's monitor, an event loop)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for chunk, result in zip(chunks, pool.map(_validate_chunk, [(c, cfg) for c in chunks])):
                out.extend(result)
                bar.update(len(chunk))
        return out
    finally:
        bar.close()
