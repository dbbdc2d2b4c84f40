"""Evaluation of a trained model (``python -m funrl.eval bfcl --endpoint URL --model NAME``).

- :mod:`.categories`: BFCL's category and group names (what ``--categories`` accepts).
- :mod:`.bfcl_data`: BFCL's single-turn entries, read whole from an installed ``bfcl-eval`` or a folder.
- :mod:`.prompts`: the requests: BFCL's prompt, FunRL's training prompt, BFCL's FC-mode tools.
- :mod:`.fc`: tool-call replies (``--mode fc``).
- :mod:`.bfcl`: asking concurrently and resumably (every reply journaled) and scoring as BFCL does.
- :mod:`.run`: ``run_bfcl``, the whole evaluation (multi-turn categories through ``funrl.eval.multi_turn``).
- :mod:`.summary`: BFCL's summary columns by bfcl-eval's own formulas; :mod:`.report`: JSON, markdown, W&B.
"""

from .bfcl import EvalConfig, score_entry
from .bfcl_data import BFCLEntry, find_bfcl_data, load_bfcl
from .categories import GROUPS, MULTI_TURN, SINGLE_TURN, expand_categories
from .report import build_report, markdown_report
from .run import run_bfcl
from .summary import bfcl_summary

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
