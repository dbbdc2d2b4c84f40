"""Stage 1: the five FunReason checks, iterated with regeneration.

For each candidate answer, the checks run in FunReason's order, stopping at the first failure:

    is_call         is the answer a call?  No: kept as is when the sample expects no call (e.g. BFCL
                    irrelevance), else regenerated.
    query_tool_fit  can the query be solved with the tools?  Asked once per sample; No: discarded.
    cot_answer      does the CoT lead to the answer?  No: discarded (FunReason's FCDR; "regenerate" is an
                    option, a deviation from the paper).
    call_params     are the names, parameters and values right?
    format          is the call well formed?

A failed check's action is ``judge.on_fail[check]``: "regenerate" asks the generator again, showing it
the rejected answer and the judge's reason, up to ``judge.max_rounds`` answers per candidate; then the
candidate is discarded as ``judge:<check>:rounds_exhausted``. A verdict that cannot be parsed is asked
again ``judge.parse_retries`` times, then the candidate is discarded as ``judge:unparsable:<check>``.

Logical request ids: ``judge/<sample>/<k>/<round>/<check>/<attempt>``; the per-sample check
``judge/<sample>/query_tool_fit/<attempt>``; regenerations ``gen/<sample>/<k>/<round>``.
"""

from __future__ import annotations

import asyncio

from funrl.reward import leading_think as split_think

from .client import ChatClient
from .config import CHECKS, Config
from .prompts import VERDICT_SCHEMA, VerdictError, judge_messages, parse_verdict, regeneration_messages
from .records import Candidate, Drop, Judged, Sample


class _SampleJudge:
    def __init__(self, sample: Sample, generator: ChatClient, judge: ChatClient, cfg: Config) -> None:
        self.sample = sample
        self.generator = generator
        self.judge = judge
        self.cfg = cfg
        self.checks = [c for c in CHECKS if c in cfg.judge.checks]
        self._fit: asyncio.Task | None = None

    async def ask(self, logical_prefix: str, check: str, cot: str | None, answer: str | None) -> tuple:
        """-> (passed, reason, detail). passed None: no usable verdict (request error or unparsable),
        and reason is then the drop code."""
        jcfg = self.cfg.judge
        messages = judge_messages(self.sample, check, self.cfg.output.format, cot, answer)
        fmt = VERDICT_SCHEMA if jcfg.structured_output else None
        problem = ""
        for attempt in range(jcfg.parse_retries + 1):
            entry = await self.judge.complete(f"{logical_prefix}/{attempt}", messages, response_format=fmt)
            if entry.error is not None:
                return None, f"judge:request_error:{check}", entry.error
            try:
                passed, reason = parse_verdict(entry.content or "")
                return passed, reason, ""
            except VerdictError as e:
                problem = f"{e}; reply: {(entry.content or '')[:200]!r}"
        return None, f"judge:unparsable:{check}", problem

    async def fit(self) -> tuple:
        if self._fit is None:
            prefix = f"judge/{self.sample.id}/query_tool_fit"
            self._fit = asyncio.ensure_future(self.ask(prefix, "query_tool_fit", None, None))
        return await self._fit

    async def run_candidate(self, cand: Candidate) -> Judged | Drop:
        s, cfg = self.sample, self.cfg
        text, error = cand.text, cand.error
        verdicts: list[dict] = []
        check, reason = "", ""  # the last failed check and the judge's reason
        for rnd in range(cfg.judge.max_rounds):
            if rnd > 0:
                messages = regeneration_messages(
                    s,
                    cfg.output.format,
                    text or "",
                    check,
                    reason,
                    show_reference=cfg.generate.show_reference,
                )
                entry = await self.generator.complete(f"gen/{s.id}/{cand.index}/{rnd}", messages)
                text, error = entry.content, entry.error
            if error is not None or text is None:
                return Drop(
                    s.id, cand.index, "judge" if rnd else "generate", "generate:request_error", error or ""
                )
            cot, answer = split_think(text)
            failed = None
            for check in self.checks:
                if check == "query_tool_fit":
                    passed, reason, detail = await self.fit()
                else:
                    prefix = f"judge/{s.id}/{cand.index}/{rnd}/{check}"
                    passed, reason, detail = await self.ask(prefix, check, cot, answer)
                if passed is None:  # reason is the drop code here
                    return Drop(s.id, cand.index, "judge", reason, detail)
                verdicts.append({"check": check, "round": rnd, "verdict": passed, "reason": reason})
                if passed:
                    continue
                if check == "is_call" and not s.is_call:
                    return Judged(s.id, cand.index, "kept_non_call", text, rnd + 1, verdicts)
                action = "regenerate" if check == "is_call" else cfg.judge.on_fail.get(check, "regenerate")
                failed = (check, reason, action)
                break
            if failed is None:
                return Judged(s.id, cand.index, "accepted", text, rnd + 1, verdicts)
            check, reason, action = failed
            if action == "discard":
                return Drop(s.id, cand.index, "judge", f"judge:{check}", reason)
        return Drop(s.id, cand.index, "judge", f"judge:{check}:rounds_exhausted", reason)


async def judge_sample(
    sample: Sample, candidates: list[Candidate], generator: ChatClient, judge: ChatClient, cfg: Config
) -> list[Judged | Drop]:
    """Every candidate of one sample; the per-sample check is asked once and shared."""
    sj = _SampleJudge(sample, generator, judge, cfg)
    return list(await asyncio.gather(*(sj.run_candidate(c) for c in candidates)))
