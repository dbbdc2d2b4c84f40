"""Two-stage data preparation (imported as ``funrl.data_prep``): LLM judge iteration + AST validation.

    python -m funrl.data_prep all --config prep.yaml [key.sub=value ...]
    python -m funrl.data_prep demo --out DIR          # bundled sample, scripted loopback judge

From Python: ``load_config`` (``.config``), ``run_all`` / ``run_read`` / ``run_generate`` / ``run_judge`` /
``run_validate`` / ``run_export`` (``.pipeline``), ``run_demo`` (``.demo``).

Modules, in the order data flows: ``readers`` (+ ``schemas``) -> ``generate`` (stage 0) -> ``judge``
(stage 1; ``prompts``, ``client``, ``journal``) -> ``validate`` (stage 2, ``funrl.reward``) -> ``export``
+ ``report``; ``render`` writes answers in an output format; ``scripted_endpoints`` is the scripted teacher
and judge of the demo and tests. See docs/data_prep.md. Importing this package pulls in neither torch nor verl.

The public surface other stages use (``funrl.eval`` does): an OpenAI-compatible endpoint client with its
journal (``ChatClient``, ``EndpointConfig``, ``EndpointError``, ``Journal``), the records (``Sample``), the
readers (``InputConfig``, ``read_input``) and the prompt builder (``prompt_messages``).
"""

from __future__ import annotations

from funrl.lazy import lazy_exports

#: public name -> the submodule that defines it, imported on first use (PEP 562): importing one
#: submodule (``funrl.data_prep.render``, which the multi-turn agent loop needs in every verl worker) does
#: not import the HTTP client stack (openai, httpx) as well.
_EXPORTS = {
    "ChatClient": "client",
    "EndpointError": "client",
    "EndpointConfig": "config",
    "InputConfig": "config",
    "Journal": "journal",
    "prompt_messages": "prompts",
    "read_input": "readers",
    "Sample": "records",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "ChatClient",
    "EndpointConfig",
    "EndpointError",
    "InputConfig",
    "Journal",
    "Sample",
    "prompt_messages",
    "read_input",
]
