"""A scripted teacher + judge for the loopback server: the demo and the tests run the pipeline on it.

It plays both roles by reading the prompts that :mod:`funrl.data_prep.prompts` writes:

- generation (any request whose system prompt is not the judge's): looks the query up among the known samples and answers with a short
  CoT and the sample's reference calls in the format the system prompt asks for. Samples named in
  ``wrong_first`` get a wrong value on their first answer (fixed when regenerated); ``stubborn`` ones
  are wrong every time (discarded after the last round). A query with no reference calls gets a
  plain-text "no function fits" answer.
- judging ("Check: <name>"): an oracle that knows the references; it decides each check with
  ``funrl.reward`` and answers the strict verdict JSON. ``garbage_verdicts`` lists sample ids whose
  judge replies are not JSON (to exercise the "unparsable" path).
- the final evaluation ("Check: final", after AST validation): passes, except for the sample ids in
  ``final_reject`` (fail) and ``final_garbage`` (a reply that is not JSON).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from funrl.reward import FormatError, check, parse

from .prompts import JUDGE_SYSTEM
from .records import Sample
from .render import FORMAT_INSTRUCTIONS, render_calls

_CHECK_RE = re.compile(r"^Check: (\w+)$", re.M)
_SECTION_RE = re.compile(r"^(QUERY|REASONING|ANSWER|QUESTION):\n(.*?)(?=\n\n[A-Z ]+:\n|\Z)", re.M | re.S)


#: what the scripted teacher appends to a string argument it gets wrong
APPROX = " (approx.)"


def teacher_mistake(calls: list[dict]) -> list[dict] | None:
    """The scripted teacher's first-try mistake: a copy of ``calls`` (``[{name: {arg: value}}]``) with the
    first scalar argument's value changed (a number + 7, a string + ``APPROX``, a boolean flipped); None
    when no argument is scalar. ``funrl.toy.imperfect_sft`` writes SFT data with the same mistake."""
    out = json.loads(json.dumps(calls))
    for call in out:
        ((_, args),) = call.items()
        for k, v in args.items():
            if isinstance(v, bool):
                args[k] = not v
            elif isinstance(v, (int, float)):
                args[k] = v + 7
            elif isinstance(v, str):
                args[k] = v + APPROX
            else:
                continue
            return out
    return None


def _wrong(calls: list[dict]) -> list[dict]:
    """The same calls with the first argument's value changed (a plausible mistake); unchanged (a copy)
    when no argument is scalar."""
    return teacher_mistake(calls) or json.loads(json.dumps(calls))


def _canon(call: dict) -> str:
    return json.dumps(call, sort_keys=True)


def always_pass(body: dict) -> str:
    """Minimal judge for benchmarks: every check passes."""
    return '{"verdict": "pass", "reason": "ok"}'


class ScriptedTeacherJudge:
    """Callable responder for :class:`funrl.toy.scripted_server.OpenAIServer`."""

    def __init__(
        self,
        samples: Iterable[Sample],
        *,
        wrong_first: Iterable[str] = (),
        stubborn: Iterable[str] = (),
        garbage_verdicts: Iterable[str] = (),
        final_reject: Iterable[str] = (),
        final_garbage: Iterable[str] = (),
    ) -> None:
        self.by_query = {s.query: s for s in samples}
        self.wrong_first = set(wrong_first)
        self.stubborn = set(stubborn)
        self.garbage = set(garbage_verdicts)
        self.final_reject = set(final_reject)
        self.final_garbage = set(final_garbage)

    def __call__(self, body: dict) -> str:
        messages = body["messages"]
        system = messages[0]["content"]
        if system != JUDGE_SYSTEM:
            return self._generate(messages, system)
        return self._judge(messages[-1]["content"])

    # ----- teacher -----
    def _generate(self, messages: list[dict], system: str) -> str:
        fmt = next(f for f, text in FORMAT_INSTRUCTIONS.items() if text in system)
        sample = self.by_query[messages[1]["content"]]
        if not sample.reference_calls:
            return (
                "<think>The request cannot be served by any of the listed functions.</think>"
                "None of the given functions can be used for this request."
            )
        regenerated = len(messages) > 2
        calls = sample.reference_calls
        if sample.id in self.stubborn or (sample.id in self.wrong_first and not regenerated):
            calls = _wrong(calls)
        names = ", ".join(next(iter(c)) for c in calls)
        args = "; ".join(f"{k}={v!r}" for c in calls for k, v in next(iter(c.values())).items())
        cot = (
            f"The user asks: {sample.query} The function(s) {names} fit this request. "
            f"Taking the values from the query: {args or 'no arguments'}."
        )
        return f"<think>{cot}</think>{render_calls(calls, fmt)}"

    # ----- judge -----
    def _judge(self, prompt: str) -> str:
        check_name = _CHECK_RE.search(prompt).group(1)
        sections = {m.group(1): m.group(2).strip() for m in _SECTION_RE.finditer(prompt)}
        sample = self.by_query[sections["QUERY"]]
        if sample.id in self.garbage or (check_name == "final" and sample.id in self.final_garbage):
            return "I think this one is fine."
        passed, reason = getattr(self, f"_check_{check_name}")(sample, sections)
        return json.dumps({"verdict": "pass" if passed else "fail", "reason": reason})

    @staticmethod
    def _calls(sections: dict) -> list | None:
        try:
            calls = parse(f"<think>{sections.get('REASONING', '')}</think>{sections['ANSWER']}", "auto")
        except FormatError:
            return None
        return calls or None

    def _check_is_call(self, sample: Sample, sections: dict) -> tuple[bool, str]:
        calls = self._calls(sections)
        return calls is not None, "the answer is a call" if calls else "the answer is plain text"

    def _check_query_tool_fit(self, sample: Sample, sections: dict) -> tuple[bool, str]:
        fits = sample.is_call
        return fits, "the tools cover the query" if fits else "no tool serves this query"

    def _check_cot_answer(self, sample: Sample, sections: dict) -> tuple[bool, str]:
        calls = self._calls(sections) or []
        missing = [next(iter(c)) for c in calls if next(iter(c)) not in sections.get("REASONING", "")]
        return not missing, f"the reasoning never mentions {missing}" if missing else "consistent"

    def _check_call_params(self, sample: Sample, sections: dict) -> tuple[bool, str]:
        calls = self._calls(sections) or []
        if sample.possible_answer is None:  # lenient, like an LLM: same names and values, types unchecked
            same = sorted(map(_canon, calls)) == sorted(map(_canon, sample.reference_calls))
            return same, "matches the query" if same else "a value differs from what the query asks"
        result = check(
            calls, functions=sample.tools, possible_answer=sample.possible_answer, category=sample.category
        )
        return result.valid, "matches the query" if result.valid else "; ".join(result.errors)[:200]

    def _check_final(self, sample: Sample, sections: dict) -> tuple[bool, str]:
        if sample.id in self.final_reject:
            return False, "the reasoning does not justify the chosen values"
        return True, "a correct and useful example"

    def _check_format(self, sample: Sample, sections: dict) -> tuple[bool, str]:
        ok = self._calls(sections) is not None
        return ok, "well formed" if ok else "the calls do not parse"
