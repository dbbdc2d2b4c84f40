"""Evaluation of a trained model (``python -m funrl.eval bfcl --endpoint URL --model NAME``).

- :mod:`.categories`: BFCL's category and group names (what ``--categories`` accepts).
- :mod:`.bfcl_data`: BFCL's single-turn entries, read whole from an installed ``bfcl-eval`` or a folder.
- :mod:`.prompts`: the requests: BFCL's prompt, FunRL's training prompt, BFCL's FC-mode tools.
- :mod:`.fc`: tool-call replies (``--mode fc``).
- :mod:`.bfcl`: asking concurrently and resumably (every reply journaled) and scoring as BFCL does.
- :mod:`.run`: ``run_bfcl``, the whole evaluation (multi-turn categories through ``funrl.eval.multi_turn``).
- :mod:`.summary`: BFCL's summary columns by bfcl-eval's own formulas; :mod:`.report`: JSON, markdown, W&B.
"""

from __future__ import annotations

from funrl.lazy import lazy_exports

#: public name -> the submodule that defines it. Imported on first use (PEP 562), so that importing one
#: submodule (``funrl.eval.multi_turn_prompts``, which the multi-turn agent loop -- a verl plugin loaded on
#: every ``import verl``, in every Ray worker -- needs) does not import the HTTP client stack as well.
_EXPORTS = {
    "EvalConfig": "bfcl",
    "score_entry": "bfcl",
    "BFCLEntry": "bfcl_data",
    "find_bfcl_data": "bfcl_data",
    "load_bfcl": "bfcl_data",
    "GROUPS": "categories",
    "MULTI_TURN": "categories",
    "SINGLE_TURN": "categories",
    "expand_categories": "categories",
    "build_report": "report",
    "markdown_report": "report",
    "run_bfcl": "run",
    "bfcl_summary": "summary",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "GROUPS",
    "MULTI_TURN",
    "SINGLE_TURN",
    "BFCLEntry",
    "EvalConfig",
    "bfcl_summary",
    "build_report",
    "expand_categories",
    "find_bfcl_data",
    "load_bfcl",
    "markdown_report",
    "run_bfcl",
    "score_entry",
]
