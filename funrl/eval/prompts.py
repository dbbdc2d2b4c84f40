"""The requests of the evaluation: BFCL's prompt, FunRL's training prompt, BFCL's FC-mode tools.

- ``bfcl`` (prompt mode): what BFCL sends a prompt-mode chat model. Its entries loader first appends a
  language note to every function description (and, for Java/JavaScript, rewrites every parameter as a
  string with its type in the description: ``language_hinted``), then its handler puts the default system
  prompt (``DEFAULT_SYSTEM_PROMPT_FORMAT``: python-call output, function docs as indented JSON, plain
  text, classic style) before the entry's messages, or before the entry's own system message's text.
  The prompt's text is taken from the installed ``bfcl_eval.constants.default_prompts`` at run time.
- ``training``: data preparation's training prompt (``funrl.data_prep.prompt_messages``), the system
  prompt a FunRL model was trained with and the entry's last user message.
- ``fc`` mode: the entry's messages as they are, and the (language-hinted) functions as an OpenAI
  ``tools`` list, converted as BFCL's OpenAI-completions FC handler does (``.`` in names -> ``_``,
  BFCL types -> JSON-schema types via ``bfcl_eval.constants.type_mappings.GORILLA_TO_OPENAPI``).

The reimplementations here (BFCL's own helpers import tree-sitter) are checked request by request
against the official code's output over every single-turn entry (``tests/eval/test_bfcl_requests.py``).
"""

from __future__ import annotations

import copy
import importlib
import json
from urllib.parse import parse_qsl

from funrl.data_prep import Sample, prompt_messages

from .bfcl_data import BFCLEntry
from .categories import language_of

PROMPT_STYLES = ("bfcl", "training")
MODES = ("prompt", "fc")
_HINT = {
    "python": " Note that the provided function is in Python 3 syntax.",
    "java": " Note that the provided function is in Java 8 SDK syntax.",
    "javascript": " Note that the provided function is in JavaScript syntax.",
}
_LANG_NAME = {"java": "Java", "javascript": "JavaScript"}


def bfcl_module(name: str):
    """``bfcl_eval.<name>`` (a module that needs only the standard library); ImportError saying how to
    install it, or to use ``--prompt-style training``."""
    try:
        return importlib.import_module(f"bfcl_eval.{name}")
    except ImportError as e:
        raise ImportError(
            f"BFCL's prompt and FC mode need the bfcl-eval package ({e}): "
            "`pip install --no-deps bfcl-eval==2026.3.23`, or evaluate with --prompt-style training"
        ) from None


def language_hinted(functions: list[dict], category: str) -> list[dict]:
    """A copy of ``functions`` as BFCL's entries loader prepares them for the model (the checker still
    reads the original docs)."""
    language = language_of(category)
    functions = copy.deepcopy(functions)
    for doc in functions:
        doc["description"] = doc["description"] + _HINT[language]
        if language == "python":
            continue
        name = _LANG_NAME[language]
        for prop in doc["parameters"]["properties"].values():
            kind = prop["type"]
            if kind == "any":
                prop["description"] += (
                    f" This parameter can be of any type of {name} object in string representation."
                )
            else:
                prop["description"] += f" This is {name} {kind} type parameter in string representation."
            if kind in (("ArrayList", "Array") if language == "java" else ("array",)):
                prop["description"] += (
                    f" The list elements are of type {prop['items']['type']}; they are not in string representation."
                )
                del prop["items"]
            if language == "javascript" and kind == "dict" and "properties" in prop:
                prop["description"] += (
                    " The dictionary entries have the following schema; they are not in string representation. "
                    + json.dumps(prop["properties"])
                )
                del prop["properties"]
            prop["type"] = "string"
    return functions


def bfcl_system_prompt(functions: list[dict]) -> str:
    """BFCL's default system prompt for prompt-mode models, with ``functions`` as indented JSON."""
    prompts = bfcl_module("constants.default_prompts")
    config = dict(parse_qsl(prompts.DEFAULT_SYSTEM_PROMPT_FORMAT))
    expected = {"ret_fmt": "python", "tool_call_tag": "False", "func_doc_fmt": "json"}
    if any(config.get(k) != v for k, v in expected.items()):
        raise ValueError(
            f"the installed bfcl-eval's default system prompt ({prompts.DEFAULT_SYSTEM_PROMPT_FORMAT}) is not "
            "the python-call/JSON-docs one funrl.eval reproduces; install bfcl-eval==2026.3.23"
        )
    style = prompts.PROMPT_STYLE_TEMPLATES[config["style"]]
    fmt = config["ret_fmt"]
    tool_call_format = style["tool_call_no_tag"].format(
        output_format=prompts.OUTPUT_FORMAT_MAPPING[fmt], param_types=prompts.PARAM_TYPE_MAPPING[fmt]
    )
    tools = style["available_tools"].format(format="json", functions=json.dumps(functions, indent=4))
    return prompts.PROMPT_TEMPLATE_MAPPING[config["prompt_fmt"]].format(
        persona=style["persona"],
        task=style["task"],
        tool_call_format=tool_call_format,
        multiturn_behavior=style["multiturn_behavior"],
        available_tools=tools,
    )


def bfcl_messages(entry: BFCLEntry) -> list[dict]:
    """The messages BFCL sends a prompt-mode model for a single-turn entry."""
    system = bfcl_system_prompt(language_hinted(entry.functions, entry.category))
    messages = copy.deepcopy(entry.question[0])
    if messages and messages[0]["role"] == "system":
        messages[0]["content"] = system + "\n\n" + messages[0]["content"]
    else:
        messages.insert(0, {"role": "system", "content": system})
    return messages


def training_messages(entry: BFCLEntry, fmt: str) -> list[dict]:
    """Data preparation's training prompt for ``fmt``: its system prompt with the entry's functions, and
    the entry's last user message (the training samples hold one user query)."""
    users = [m["content"] for m in entry.question[0] if m.get("role") == "user"]
    sample = Sample(entry.id, "bfcl", users[-1] if users else "", entry.functions, [], entry.possible_answer)
    return prompt_messages(sample, fmt)


def _openapi_properties(properties: dict, mapping: dict) -> dict:
    """BFCL's conversion of a properties schema to OpenAPI types (unknown types become strings; floats
    say so in their description), nested objects and list items included."""
    for prop in properties.values():
        kind = prop.get("type")
        if kind is None:
            prop["type"] = "string"
        else:
            if kind == "float":
                prop["format"] = "float"
                prop["description"] += " This is a float type value."
            prop["type"] = mapping.get(kind, "string")
        if prop["type"] not in ("array", "object"):
            continue
        if "properties" in prop:
            prop["properties"] = _openapi_properties(prop["properties"], mapping)
        elif "items" in prop:
            items = prop["items"]
            items["type"] = mapping[items["type"]]
            if items["type"] == "array" and "items" in items:
                items["items"]["type"] = mapping[items["items"]["type"]]
            elif items["type"] == "object" and "properties" in items:
                items["properties"] = _openapi_properties(items["properties"], mapping)
    return properties


def openai_tools(entry: BFCLEntry) -> list[dict]:
    """The ``tools`` BFCL's OpenAI-completions FC handler sends for an entry."""
    return tools_from_functions(entry.functions, entry.category)


def tools_from_functions(functions: list[dict], category: str) -> list[dict]:
    """BFCL function docs of a ``category`` -> OpenAI ``tools``, as BFCL's FC handler converts them (the
    multi-turn driver uses it for each turn's functions)."""
    mapping = bfcl_module("constants.type_mappings").GORILLA_TO_OPENAPI
    tools = []
    for doc in language_hinted(functions, category):
        doc["name"] = doc["name"].replace(".", "_")
        doc["parameters"]["type"] = "object"
        doc["parameters"]["properties"] = _openapi_properties(doc["parameters"]["properties"], mapping)
        tools.append({"type": "function", "function": doc})
    return tools


def fc_messages(entry: BFCLEntry) -> list[dict]:
    """The messages BFCL's FC handler sends: the entry's own, unchanged."""
    return copy.deepcopy(entry.question[0])
