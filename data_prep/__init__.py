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

from .client import ChatClient, EndpointError
from .config import EndpointConfig, InputConfig
from .journal import Journal
from .prompts import prompt_messages
from .readers import read_input
from .records import Sample

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
