"""FunRL's final LLM evaluation: after AST validation, one verdict per validated answer (optional stage,
``final_judge.enabled``). A "pass" keeps the answer; a "fail" drops it as ``final_judge:fail`` with the
judge's reason; a reply that does not parse is asked again ``final_judge.parse_retries`` times, then
dropped as ``judge:unparsable:final``; an endpoint 4xx drops it as ``judge:request_error:final`` (the
guard counts both like the stage-1 causes, and a failed run sets their replies aside for the rerun).

Logical request ids: ``judge/<sample>/<k>/final/<attempt>`` (journaled like every other reply).
"""

from __future__ import annotations

from funrl.reward import leading_think as split_think

from .client import ChatClient
from .config import Config
from .prompts import VERDICT_SCHEMA, VerdictError, final_judge_messages, parse_verdict
from .records import Drop, Sample
from .validate import Validated

STAGE = "final_judge"


async def final_verdict(
    sample: Sample, answer: Validated, client: ChatClient, cfg: Config
) -> Validated | Drop:
    fcfg = cfg.final_judge
    cot, rest = split_think(answer.answer)
    messages = final_judge_messages(sample, cot, rest)
    fmt = VERDICT_SCHEMA if fcfg.structured_output else None
    problem = ""
    for attempt in range(fcfg.parse_retries + 1):
        logical = f"judge/{sample.id}/{answer.index}/final/{attempt}"
        entry = await client.complete(logical, messages, response_format=fmt)
        if entry.error is not None:
            return Drop(sample.id, answer.index, STAGE, "judge:request_error:final", entry.error)
        try:
            passed, reason = parse_verdict(entry.content or "")
        except VerdictError as e:
            problem = f"{e}; reply: {(entry.content or '')[:200]!r}"
            continue
        return answer if passed else Drop(sample.id, answer.index, STAGE, "final_judge:fail", reason)
    return Drop(sample.id, answer.index, STAGE, "judge:unparsable:final", problem)
