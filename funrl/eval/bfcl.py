"""Ask a served model BFCL's questions and score the replies as BFCL does, with ``funrl.reward``.

Requests (:mod:`.prompts`): ``prompt_style="bfcl"`` (default) sends BFCL's own prompt-mode request, so
the numbers compare with the leaderboard; ``"training"`` sends data preparation's training prompt, so a
trained model is asked as it was trained; ``mode="fc"`` sends BFCL's FC request (the entry's messages and
the functions as OpenAI ``tools``) and reads ``tool_calls`` (:mod:`.fc`).

Scoring, per category kind, as ``bfcl_eval.eval_checker.eval_runner`` does:

- AST categories: ``funrl.reward.score`` (BFCL's AST checker) on the reply read as BFCL's python-call
  list (``bfcl`` style: ``fmt="python"``), as the trained format (``training``: ``--fmt``), or as JSON
  tool calls with ``underscore_to_dot`` (``fc``); Java and JavaScript with ``language=``.
- irrelevance / live_irrelevance: right when the reply holds no call; live_relevance: right when it holds
  at least one. "A call" = the reply decodes (same format as above) to a non-empty list of calls; a
  reply that does not decode, or decodes to ``[]``, holds none.

Requests go through data preparation's :class:`~funrl.data_prep.client.ChatClient`: at most
``concurrency`` in flight, retries with backoff, every reply journaled in ``OUTPUT_DIR/journal.sqlite``
before it is used, so a rerun resumes without asking again. A request the server refuses for good (e.g.
400: prompt too long) scores 0 with error type ``request_error:http_400``, as BFCL counts a failed inference.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
from dataclasses import dataclass, field

from tqdm import tqdm

from funrl.data_prep import ChatClient, EndpointConfig
from funrl.reward import THINK_FORMATS, FormatError, check_format, parse, score

from .bfcl_data import BFCLEntry
from .categories import MULTI_TURN, RELEVANCE, SINGLE_TURN, expand_categories, language_of
from .fc import calls_text, tool_reply
from .prompts import MODES, PROMPT_STYLES, bfcl_messages, fc_messages, openai_tools, training_messages

PROMPT_FORMATS = THINK_FORMATS  # the formats models are trained to write (data preparation's)


@dataclass
class EvalConfig:
    endpoint: EndpointConfig = field(default_factory=lambda: EndpointConfig(temperature=0.0, max_tokens=4096))
    output_dir: str = "outputs/bfcl_eval"
    data_dir: str | None = None  # None: the installed bfcl-eval package's data
    categories: tuple[str, ...] = SINGLE_TURN  # BFCL category or group names (expanded here)
    prompt_style: str = "bfcl"  # bfcl: BFCL's prompt (leaderboard-comparable); training: FunRL's
    mode: str = "prompt"  # prompt: replies are text; fc: tools API, replies are tool_calls
    fmt: str = "think_answer"  # the trained output format (prompt_style "training")
    score_fmt: str | None = None  # how replies are read; None: what the prompt asks for
    require_think: bool = False  # score a reply without <think>...</think> as a format error
    limit: int | None = None  # first N entries per category (smoke runs)
    wandb_project: str | None = None
    wandb_mode: str | None = None  # online | offline | disabled (None: wandb's own default)
    wandb_run_name: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        self.categories = expand_categories(self.categories)
        check_format(self.fmt, PROMPT_FORMATS, key="fmt")
        if self.prompt_style not in PROMPT_STYLES:
            raise ValueError(
                f"prompt_style must be one of {', '.join(PROMPT_STYLES)}; got {self.prompt_style!r}"
            )
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}; got {self.mode!r}")
        if self.score_fmt is not None:
            check_format(self.score_fmt, key="score_fmt")
        if self.mode == "fc" and (self.score_fmt is not None or self.require_think):
            raise ValueError("--score-fmt / --require-think: FC mode reads tool calls, not text")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be at least 1, got {self.limit}")
        languages = {language_of(c) for c in self.categories} - {"python"}
        if languages and "language" not in inspect.signature(score).parameters:
            raise ValueError(
                f"categories: {', '.join(sorted(languages))} need funrl.reward's language option, which "
                "this install lacks; leave out simple_java / simple_javascript"
            )

    @property
    def read_fmt(self) -> str:
        """How a reply's text is decoded."""
        if self.mode == "fc":
            return "json"
        return self.score_fmt or ("python" if self.prompt_style == "bfcl" else self.fmt)


def request_for(entry: BFCLEntry, cfg: EvalConfig) -> tuple[list[dict], list[dict] | None]:
    """``(messages, tools)`` sent for ``entry`` (tools None in prompt mode)."""
    if cfg.mode == "fc":
        return fc_messages(entry), openai_tools(entry) or None
    if cfg.prompt_style == "bfcl":
        return bfcl_messages(entry), None
    return training_messages(entry, cfg.fmt), None


def _row(entry: BFCLEntry, valid: bool, error_type: str | None, errors: list, output: str | None) -> dict:
    return {
        "id": entry.id,
        "category": entry.category,
        "valid": valid,
        "error_type": error_type,
        "errors": errors,
        "output": output,
    }


def has_call(text: str | None, fmt: str) -> bool:
    """BFCL's relevance rule: the reply decodes to at least one call (``[]`` and ``[{}]`` are none)."""
    if text is None:
        return False
    try:
        calls = parse(text, fmt)
    except FormatError:
        return False
    return bool(calls) and not (len(calls) == 1 and not calls[0])


def score_entry(entry: BFCLEntry, content: str | None, error: str | None, cfg: EvalConfig) -> dict:
    """One result row: ``{"id", "category", "valid", "error_type", "errors", "output"}``."""
    if content is None:
        return _row(
            entry,
            False,
            f"request_error:{(error or 'unknown').split(':', 1)[0]}",
            [error or "no reply"],
            None,
        )
    text: str | None = content
    if cfg.mode == "fc" and entry.functions:  # sent with tools: the journaled message holds the calls
        calls = tool_reply(content).tool_calls
        text = calls_text(calls) if calls else None
    if entry.category in RELEVANCE:
        called = has_call(text, cfg.read_fmt)
        if "irrelevance" in entry.category:
            why = "irrelevance_error:decoder_success", "a call was decoded where none should be made"
        else:
            why = "relevance_error:decoder_failed", "no call was decoded where one should be made"
        valid = called != ("irrelevance" in entry.category)
        return _row(entry, valid, None if valid else why[0], [] if valid else [why[1]], content)
    if text is None:
        return _row(entry, False, "format_error:no_tool_calls", ["the reply holds no tool call"], content)
    options = {"language": language_of(entry.category)} if language_of(entry.category) != "python" else {}
    try:
        result = score(
            text,
            functions=entry.functions,
            possible_answer=entry.possible_answer,
            category=entry.category,
            fmt=cfg.read_fmt,
            require_think=cfg.require_think,
            underscore_to_dot=cfg.mode == "fc",
            **options,
        )
    except ValueError as e:  # the entry's own ground truth is malformed: no answer can pass it
        return _row(entry, False, "ground_truth_error", [str(e)], content)
    return _row(entry, result.valid, result.error_type, result.errors, content)


def multi_turn_runner():
    """``funrl.eval.multi_turn.run_multi_turn``; ValueError naming ``--categories`` while it is absent."""
    if importlib.util.find_spec("funrl.eval.multi_turn") is None:
        raise ValueError(
            f"--categories: the multi-turn categories ({', '.join(MULTI_TURN)}) need funrl.eval.multi_turn, "
            "which this FunRL install does not have; evaluate the single-turn categories"
        )
    return importlib.import_module("funrl.eval.multi_turn").run_multi_turn


async def ask_single_turn(entries: list[BFCLEntry], cfg: EvalConfig, client: ChatClient) -> list[dict]:
    """Ask every entry (concurrently, bounded by the client) and score each reply."""
    bar = tqdm(total=len(entries), desc="bfcl", unit="reply", disable=not cfg.progress)

    async def one(entry: BFCLEntry) -> dict:
        messages, tools = request_for(entry, cfg)
        reply = await client.complete(f"bfcl/{entry.id}", messages, tools=tools)
        bar.update()
        return score_entry(entry, reply.content, reply.error, cfg)

    try:
        return list(await asyncio.gather(*(one(e) for e in entries)))
    finally:
        bar.close()
