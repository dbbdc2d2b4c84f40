"""Golden transcripts of BFCL's own multi-turn prompting inference, driven by a ground-truth policy.

Run it in a separate venv with ``pip install --no-deps bfcl-eval==2026.3.23`` plus its requirements (its
pins clash with verl's), from the repository root:

    BFCL_PROJECT_ROOT=/tmp/bfclroot /path/to/bfcl-venv/bin/python tests/data/bfcl_multi_turn_eval/make_golden.py

For every entry of the four multi-turn categories (``bfcl_eval.utils.load_dataset_entry``, as BFCL's
generation loads them: function docs with the Python hint, held-out functions moved to
``missed_function``) it runs BFCL's ``BaseHandler.inference_multi_turn_prompting`` with its
``OSSHandler`` prompting methods (system prompt, tool results as ``role: tool`` messages, decoding with
``default_decode_execute_prompting``, BFCL's step limit). Only ``_query_prompting`` is replaced: instead of
a model, a policy that plays the entry's ground truth answers, from the messages BFCL built:

* the turn is the number of ``user`` messages minus one; the step, the number of ``assistant`` messages
  after the last ``user`` message;
* each ground-truth call is written with keyword arguments (positional ones get their parameter names
  from the BFCL method's signature, since BFCL's decoder drops positional arguments);
* policy ``batch``: step 0 answers ``[call1, call2, ...]`` (all calls of the turn), later steps answer
  ``NO_CALL``; policy ``single``: step i answers ``[call_i]``, then ``NO_CALL``. ``NO_CALL`` does not
  decode, which ends the turn in BFCL.

With ``--fc`` it runs ``BaseHandler.inference_multi_turn_FC`` with BFCL's ``OpenAICompletionsHandler``
instead (tools sent, tool calls read back); only ``generate_with_backoff`` is replaced, by the same policy
answering with SDK-like tool-call objects (ids ``call_<turn>_<step>_<i>``, arguments ``json.dumps`` of the
keyword values; ``NO_CALL`` as text without tool calls). Each request's hash then covers
``{"messages": ..., "tools": ...}``, the assistant message objects written as ``{"role", "content",
"tool_calls": [{"id", "type", "function": {"name", "arguments"}}]}`` (tool_calls only when present).
Output: ``golden_fc.jsonl.gz``.

Then BFCL's ``eval_runner._evaluate_single_multi_turn_entry`` gives the official verdict of that
inference result. Inference and evaluation each run in a fresh forked process (BFCL keeps API instances
in module globals and ``TwitterAPI.post_tweet`` has mutable defaults), as in separate BFCL runs.

Writes ``golden.jsonl.gz`` next to itself, one object per (entry, policy): ``id``, ``policy``,
``requests`` (sha256 of each request's message list, ``json.dumps(messages, sort_keys=True,
ensure_ascii=False)``, first 16 hex digits, in order), ``model_result`` (BFCL's per-turn, per-step reply
texts), ``valid``, ``error_type`` and, for the first entry of each category, ``messages`` (the last
request's message list in full). Not part of the test run nor of the funrl package.
"""

from __future__ import annotations

import argparse
import ast
import copy
import gzip
import hashlib
import inspect
import json
import os
import pathlib
import signal
import sys
import time
from types import SimpleNamespace as NS

os.environ.setdefault("BFCL_PROJECT_ROOT", "/tmp/bfclroot")
pathlib.Path(os.environ["BFCL_PROJECT_ROOT"]).mkdir(parents=True, exist_ok=True)

from bfcl_eval.constants.enums import ModelStyle  # noqa: E402
from bfcl_eval.constants.executable_backend_config import CLASS_FILE_PATH_MAPPING  # noqa: E402
from bfcl_eval.eval_checker import eval_runner  # noqa: E402
from bfcl_eval.model_handler.api_inference.openai_completion import OpenAICompletionsHandler  # noqa: E402
from bfcl_eval.model_handler.local_inference.base_oss_handler import OSSHandler  # noqa: E402
from bfcl_eval.utils import load_dataset_entry, load_ground_truth_entry  # noqa: E402
from overrides import override  # noqa: E402

CATEGORIES = ["multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context"]
HERE = pathlib.Path(__file__).parent
OUT = HERE / "golden.jsonl.gz"
OUT_FC = HERE / "golden_fc.jsonl.gz"
MODEL = "funrl_golden"
NO_CALL = "I have no more function calls for this turn."
POLICIES = ("batch", "single")


def message_hash(messages: list) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def keyword_call(call: str, classes: list[str]) -> str:
    """The call with every positional argument given its parameter name (the BFCL method's signature)."""
    node = ast.parse(call, mode="eval").body
    if not node.args:
        return call
    name = node.func.id
    params = None
    for cls_name in classes:
        module = __import__(CLASS_FILE_PATH_MAPPING[cls_name], fromlist=[cls_name])
        method = getattr(getattr(module, cls_name), name, None)
        if method is not None:
            params = [p for p in inspect.signature(method).parameters if p != "self"]
    parts = [f"{params[i]}={ast.unparse(a)}" for i, a in enumerate(node.args)]
    parts += [f"{k.arg}={ast.unparse(k.value)}" for k in node.keywords]
    return f"{name}({', '.join(parts)})"


def policy_calls(handler, turn: int, step: int) -> list[str]:
    """The ground-truth calls the policy answers at ``turn``/``step`` (keyword form)."""
    calls = [keyword_call(c, handler.entry["involved_classes"]) for c in handler.ground_truth[turn]]
    if handler.policy == "batch":
        return calls if step == 0 else []
    return calls[step : step + 1]


def turn_and_step(messages: list) -> tuple[int, int]:
    """Turn = user messages - 1; step = assistant messages after the last user message."""
    roles = [m["role"] if isinstance(m, dict) else m.role for m in messages]
    users = [i for i, r in enumerate(roles) if r == "user"]
    return len(users) - 1, roles[users[-1] :].count("assistant")


class GroundTruthHandler(OSSHandler):
    """BFCL's OSS prompting handler whose model is a ground-truth policy."""

    def __init__(self, entry: dict, ground_truth: list, policy: str) -> None:  # noqa: D107
        self.model_name_underline_replaced = MODEL
        self.entry, self.ground_truth, self.policy = entry, ground_truth, policy
        self.requests: list[str] = []
        self.last_messages: list = []

    @override
    def _query_prompting(self, inference_data: dict):
        messages = inference_data["message"]
        self.requests.append(message_hash(messages))
        self.last_messages = copy.deepcopy(messages)
        calls = policy_calls(self, *turn_and_step(messages))
        return (f"[{', '.join(calls)}]" if calls else NO_CALL), 0.0

    @override
    def _parse_query_response_prompting(self, api_response) -> dict:
        return {"model_responses": api_response, "input_token": 0, "output_token": 0}


def wire(message) -> dict:
    """A message as sent: BFCL keeps the SDK's assistant message object; it goes out with its role,
    content and tool calls."""
    if isinstance(message, dict):
        return message
    out = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": c.id,
                "type": c.type,
                "function": {"name": c.function.name, "arguments": c.function.arguments},
            }
            for c in message.tool_calls
        ]
    return out


def tool_call(call: str, turn: int, step: int, i: int):
    """An SDK-like tool call object for a keyword-form call string."""
    node = ast.parse(call, mode="eval").body
    args = json.dumps({k.arg: ast.literal_eval(k.value) for k in node.keywords})
    function = NS(name=node.func.id, arguments=args)
    return NS(id=f"call_{turn}_{step}_{i}", type="function", function=function)


class FcGroundTruthHandler(OpenAICompletionsHandler):
    """BFCL's OpenAI-completions FC handler whose model is the ground-truth policy, in tool calls."""

    def __init__(self, entry: dict, ground_truth: list, policy: str) -> None:  # noqa: D107
        self.model_name_underline_replaced = MODEL
        self.model_name, self.temperature, self.is_fc_model = MODEL, 0.0, True
        self.model_style = ModelStyle.OPENAI_COMPLETIONS
        self.entry, self.ground_truth, self.policy = entry, ground_truth, policy
        self.requests: list[str] = []
        self.last_messages: list = []

    @override
    def generate_with_backoff(self, **kwargs):
        messages = [wire(m) for m in kwargs["messages"]]
        self.requests.append(message_hash({"messages": messages, "tools": kwargs.get("tools")}))
        self.last_messages = copy.deepcopy(messages)
        turn, step = turn_and_step(messages)
        calls = policy_calls(self, turn, step)
        if calls:
            message = NS(
                role="assistant",
                content=None,
                tool_calls=[tool_call(c, turn, step, i) for i, c in enumerate(calls)],
            )
        else:
            message = NS(role="assistant", content=NO_CALL, tool_calls=None)
        return NS(choices=[NS(message=message)], usage=NS(prompt_tokens=0, completion_tokens=0)), 0.0


HANDLERS = {"prompt": GroundTruthHandler, "fc": FcGroundTruthHandler}


def infer(entry: dict, ground_truth: list, policy: str, keep_messages: bool, mode: str) -> dict:
    handler = HANDLERS[mode](entry, ground_truth, policy)
    run = handler.inference_multi_turn_FC if mode == "fc" else handler.inference_multi_turn_prompting
    result, _ = run(copy.deepcopy(entry), False, True)
    out = {"requests": handler.requests, "model_result": result}
    if keep_messages:
        out["messages"] = handler.last_messages
    return out


def evaluate(entry: dict, ground_truth: list, model_result: list, mode: str) -> dict:
    handler = HANDLERS[mode](entry, ground_truth, "batch")
    r = eval_runner._evaluate_single_multi_turn_entry(
        handler,
        entry["id"],
        copy.deepcopy(model_result),
        copy.deepcopy(ground_truth),
        copy.deepcopy(entry),
        MODEL,
        entry["id"].rsplit("_", 1)[0],
    )
    return {"valid": r["valid"], "error_type": None if r["valid"] else r["error"]["error_type"]}


def forked(fn, *args) -> dict:
    """``fn(*args)`` in a fresh child process (forked after the data was loaded)."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        signal.alarm(600)
        try:
            out = json.dumps(fn(*args), ensure_ascii=False)
        except BaseException as e:  # noqa: B036 -- reported, never hidden
            out = json.dumps({"exception": f"{type(e).__name__}: {e}"})
        with os.fdopen(wfd, "w") as f:
            f.write(out)
        os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd) as f:
        text = f.read()
    os.waitpid(pid, 0)
    return json.loads(text) if text else {"exception": "child died"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0, help="only the first N entries of each category")
    ap.add_argument(
        "--fc", action="store_true", help="FC mode (OpenAI-completions handler): golden_fc.jsonl.gz"
    )
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    mode = "fc" if args.fc else "prompt"
    out = args.out or str(OUT_FC if args.fc else OUT)
    rows, t0 = [], time.time()
    for cat in CATEGORIES:
        entries, answers = load_dataset_entry(cat), load_ground_truth_entry(cat)
        assert [e["id"] for e in entries] == [a["id"] for a in answers]
        pairs = list(zip(entries, answers))[: args.limit or None]
        for n, (entry, answer) in enumerate(pairs):
            for policy in POLICIES:
                inferred = forked(infer, entry, answer["ground_truth"], policy, n == 0, mode)
                if "exception" in inferred:
                    raise RuntimeError(f"{entry['id']} {policy}: {inferred['exception']}")
                verdict = forked(evaluate, entry, answer["ground_truth"], inferred["model_result"], mode)
                if "exception" in verdict:
                    raise RuntimeError(f"{entry['id']} {policy}: {verdict['exception']}")
                rows.append({"id": entry["id"], "policy": policy, **inferred, **verdict})
        print(f"{cat}: {time.time() - t0:.0f}s", file=sys.stderr)
    with gzip.GzipFile(out, "wb", mtime=0) as f:
        for r in rows:
            f.write((json.dumps(r, ensure_ascii=False) + "\n").encode())
    for policy in POLICIES:
        bad = [(r["id"], r["error_type"]) for r in rows if r["policy"] == policy and not r["valid"]]
        print(f"{policy}: {len(bad)} of {len(rows) // len(POLICIES)} fail: {bad}", file=sys.stderr)


if __name__ == "__main__":
    main()
