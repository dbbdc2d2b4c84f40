"""Reference requests and relevance verdicts from BFCL's own code, for tests/eval/test_bfcl_requests.py.

Run with the official bfcl-eval 2026.3.23 environment (it needs tree-sitter, so not FunRL's venv):

    BFCL_PROJECT_ROOT=/tmp/bfclroot /path/to/bfcl-venv/bin/python tests/eval/data/make_requests.py

Writes tests/eval/data/requests.jsonl.gz: one row per single-turn entry with the SHA-256 of what BFCL sends
(prompt mode: ``system_prompt_pre_processing_chat_model`` on the entry as ``load_dataset_entry`` gives it;
FC mode: the messages and ``convert_to_tool(..., GORILLA_TO_OPENAPI, OPENAI_COMPLETIONS)``), and
tests/eval/data/relevance_verdicts.json: "does this reply hold a call?" as ``eval_runner`` decides it for
prompt-mode replies (``default_decode_ast_prompting`` + ``is_empty_output``) and FC replies
(``OpenAICompletionsHandler.decode_ast``).
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

from bfcl_eval.constants.category_mapping import SINGLE_TURN_CATEGORY
from bfcl_eval.constants.enums import ModelStyle, ReturnFormat
from bfcl_eval.constants.type_mappings import GORILLA_TO_OPENAPI
from bfcl_eval.model_handler.api_inference.openai_completion import OpenAICompletionsHandler
from bfcl_eval.model_handler.utils import (
    convert_to_tool,
    default_decode_ast_prompting,
    system_prompt_pre_processing_chat_model,
)
from bfcl_eval.utils import is_empty_output, load_dataset_entry

HERE = Path(__file__).parent

PROMPT_REPLIES = [
    "[]",
    "",
    "   ",
    "I cannot help with that.",
    "[f()]",
    "f(a=1)",
    "```\n[f(a=1)]\n```",
    "[f(a=1), g(b='x')]",
    "<think>x</think>[f(a=1)]",
    "[1, 2]",
    "f",
    "[f]",
    "None",
    "[f(a=1)",
    "'[f(a=1)]'",
    "`f(a=1)`",
    "[f(1)]",
    "[a.b.c(x=1)]",
    "[f(a=g(b=1))]",
    "[f(a=1)] and more text",
    "```python\n[f(a=1)]\n```",
    "[f(a=[1, 2], b={'k': 'v'})]",
    "[f(a=1)]\n",
    "There is no suitable function.",
    "[{}]",
    "[f(a=1)]]",
    "[[f(a=1)]]",
    "[f(a=x)]",
    "[f(a=-1.5e3)]",
    "[f(**{'a': 1})]",
]
FC_REPLIES = [
    [],
    [{"f": "{}"}],
    [{"f": '{"a": 1}'}],
    [{"f": "not json"}],
    [{"f": "[1]"}],
    [{"f": "null"}],
    [{"f": '{"a": 1}'}, {"g": "{bad"}],
    [{"f": '{"a": 1}'}, {"g": '{"b": 2}'}],
    "plain text, no tool call",
    "",
]


def digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def has_call(decode, reply) -> bool:
    try:
        return not is_empty_output(decode(reply))
    except Exception:  # noqa: BLE001 - eval_runner: a decode failure means no call
        return False


def main() -> None:
    rows = []
    for category in SINGLE_TURN_CATEGORY:
        for entry in load_dataset_entry(category):
            prompt = system_prompt_pre_processing_chat_model(
                copy.deepcopy(entry["question"][0]), entry["function"], entry["id"]
            )
            tools = convert_to_tool(entry["function"], GORILLA_TO_OPENAPI, ModelStyle.OPENAI_COMPLETIONS)
            rows.append(
                {
                    "id": entry["id"],
                    "prompt": digest(prompt),
                    "fc_messages": digest(entry["question"][0]),
                    "tools": digest(tools),
                }
            )
    with gzip.open(HERE / "requests.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)

    fc = SimpleNamespace(is_fc_model=True)
    verdicts = {
        "prompt": [
            [r, has_call(lambda t: default_decode_ast_prompting(t, ReturnFormat.PYTHON, False), r)]
            for r in PROMPT_REPLIES
        ],
        "fc": [
            [r, has_call(lambda t: OpenAICompletionsHandler.decode_ast(fc, t, ReturnFormat.PYTHON, False), r)]
            for r in FC_REPLIES
        ],
    }
    (HERE / "relevance_verdicts.json").write_text(json.dumps(verdicts, indent=1) + "\n")
    print(f"{len(rows)} entries; {len(PROMPT_REPLIES)} + {len(FC_REPLIES)} relevance replies")


if __name__ == "__main__":
    main()
