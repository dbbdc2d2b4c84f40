"""The CPU demo's deliberately imperfect warm start: SFT data as an unfiltered teacher would give it.

    from funrl.toy.imperfect_sft import imperfect_sft
    imperfect_sft(out / "data" / "sft.parquet", out / "data" / "sft_imperfect.parquet")

``python -m funrl.data_prep demo``'s scripted teacher answers some samples wrong on the first try: the first
scalar argument's value changed (a number + 7, a string + " (approx.)", a boolean flipped), in its reasoning
and in its call alike; FCDR's judge rejects those answers and the teacher's regenerated answer is kept.
Without that filter, SFT would train on both. ``imperfect_sft`` writes that data for every sample with
calls: each reference conversation plus ``wrong_copies`` copies whose answer carries the teacher's mistake
(a well-formed call that ``funrl.reward`` scores 0). A model warm-started on it answers each prompt right
about as often as wrong, both in the trained format, so sampled GRPO groups hold both rewards and the
update can move probability from the wrong answer to the right one (a bandit a tiny model learns in a few
steps). Plain-text answers (no function fits) are kept once, unchanged.
"""

from __future__ import annotations

from pathlib import Path

from funrl.data_prep.scripted_endpoints import teacher_mistake as wrong_calls  # the teacher's own mistake

#: wrong answers per sample in the demo's warm start: one right to two wrong, so the warm-started model is
#: right about a third of the time and GRPO has room to show a rise (docs/cpu_demo.md has the runs)
DEMO_WRONG_COPIES = 2

#: ``python -m funrl.train +recipe=grpo_entropy_cpu`` overrides under which the demo's GRPO stage learns from
#: this warm start: 8 prompts x 4 samples a step (one step's reward carries half the sampling noise of 4 x 4),
#: top-k 3 sampling (a sample strays into text the model never saw far less often than with the full
#: softmax; the actor's log-probs stay those of the full tempered softmax), lr 2e-4 (1e-3 loses the format)
DEMO_GRPO_OVERRIDES = (
    "data.train_batch_size=8",
    "actor_rollout_ref.rollout.top_k=3",
    "actor_rollout_ref.actor.optim.lr=2e-4",
)


def wrong_answer(text: str) -> str | None:
    """The assistant ``text`` (``<think>...</think><answer>[calls]</answer>``) with the teacher's mistake in
    its first scalar argument, in the reasoning and the answer alike (every ``key=value`` spelling of it is
    replaced); None for a plain-text answer or calls without a scalar argument. Raises ValueError when the
    replaced text does not parse to exactly the wrong calls."""
    from funrl.reward import FormatError, parse

    try:
        calls = parse(text, "auto")
    except FormatError:
        return None
    wrong = wrong_calls(calls) if calls else None
    if wrong is None:
        return None
    (key, old), new = _changed(calls, wrong)
    changed = text.replace(f"{key}={old!r}", f"{key}={new!r}")
    if parse(changed, "auto") != wrong:
        raise ValueError(f"cannot place the wrong value {key}={new!r} in {text!r}")
    return changed


def _changed(calls: list[dict], wrong: list[dict]) -> tuple[tuple[str, object], object]:
    for right_call, wrong_call in zip(calls, wrong):
        ((_, right_args),) = right_call.items()
        ((_, wrong_args),) = wrong_call.items()
        for key, value in right_args.items():
            if wrong_args[key] != value:
                return (key, value), wrong_args[key]
    raise AssertionError("wrong_calls changed nothing")


def imperfect_sft(sft_parquet: str | Path, out_parquet: str | Path, *, wrong_copies: int = 1) -> dict:
    """Writes ``out_parquet``: every row of ``sft_parquet`` (an SFT parquet with a ``messages`` column), each
    followed by ``wrong_copies`` copies whose last (assistant) message carries the scripted teacher's
    mistake (:func:`wrong_answer`; rows without one are written once). The other columns are copied;
    ``sample_id`` gains ``#wrong<i>``. Returns counts: ``rows`` in, ``wrong`` rows added, ``out`` rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(sft_parquet)
    rows = table.to_pylist()
    out: list[dict] = []
    added = 0
    for row in rows:
        out.append(row)
        text = row["messages"][-1]["content"]
        changed = wrong_answer(text) if row["messages"][-1]["role"] == "assistant" else None
        for i in range(wrong_copies if changed is not None else 0):
            messages = [*row["messages"][:-1], {**row["messages"][-1], "content": changed}]
            copy = {**row, "messages": messages}
            if "sample_id" in copy:
                copy["sample_id"] = f"{row['sample_id']}#wrong{i}"
            out.append(copy)
            added += 1
    Path(out_parquet).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(out, schema=table.schema), out_parquet)
    return {"rows": len(rows), "wrong": added, "out": len(out)}
