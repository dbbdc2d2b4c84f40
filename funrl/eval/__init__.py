"""Evaluation of a trained model (``python -m funrl.eval bfcl --endpoint URL --model NAME``).

- :mod:`.bfcl_data`: BFCL's Python single-turn AST categories, read from an installed ``bfcl-eval``
  package's data files or a directory in the same layout, as data preparation's samples.
- :mod:`.bfcl`: ask an OpenAI-compatible server (``vllm serve``) with the training prompt, concurrently
  and resumably (every reply journaled), and score each reply with ``funrl.reward``.
- :mod:`.report`: per-category accuracy, Non-Live AST, Live, their mean, error types; JSON, markdown, W&B.
"""

from .bfcl import EvalConfig, run_bfcl
from .bfcl_data import AST_CATEGORIES, LIVE, NON_LIVE, find_bfcl_data, load_bfcl
from .report import build_report, markdown_report

__all__ = [
    "AST_CATEGORIES",
    "LIVE",
    "NON_LIVE",
    "EvalConfig",
    "build_report",
    "find_bfcl_data",
    "load_bfcl",
    "markdown_report",
    "run_bfcl",
]
