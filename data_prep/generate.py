"""Stage 0: a CoT + calls answer for every query, from the generator endpoint.

Logical request ids: ``gen/<sample id>/<k>/<round>`` (round 0 here; stage 1's regenerations use 1, 2, ...).
"""

from __future__ import annotations

import asyncio

from .client import ChatClient
from .config import Config
from .prompts import generation_messages
from .records import Candidate, Sample
from .render import RenderError, render_answer


async def generate_for_sample(sample: Sample, generator: ChatClient, cfg: Config) -> list[Candidate]:
    """``samples_per_query`` candidates for one sample, requested concurrently."""

    async def one(k: int) -> Candidate:
        if k == 0 and cfg.generate.reuse_existing_cot and sample.cot and sample.reference_calls:
            try:  # the source already has a CoT: judge it as it is
                return Candidate(
                    sample.id, k, 0, render_answer(sample.cot, sample.reference_calls, cfg.output.format)
                )
            except RenderError:
                pass  # not expressible in the output format: let the generator write one
        messages = generation_messages(sample, cfg.output.format, show_reference=cfg.generate.show_reference)
        entry = await generator.complete(f"gen/{sample.id}/{k}/0", messages)
        return Candidate(sample.id, k, 0, entry.content, entry.error)

    return list(await asyncio.gather(*(one(k) for k in range(cfg.generate.samples_per_query))))
