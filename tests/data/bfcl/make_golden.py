"""Generate the golden verdict files from BFCL's own data and BFCL's official checker.

Run it in an environment holding bfcl-eval 2026.3.23 (its pins clash with verl's, so a separate venv):

    python3 -m venv /tmp/bfclvenv && /tmp/bfclvenv/bin/pip install --no-deps bfcl-eval==2026.3.23
    /tmp/bfclvenv/bin/pip install <bfcl-eval 2026.3.23's own requirements: numpy<2, tree-sitter, ...>
    BFCL_PROJECT_ROOT=/tmp/bfclroot /tmp/bfclvenv/bin/python tests/data/bfcl/make_golden.py

It writes, next to itself:
  entries.jsonl.gz   the Python AST categories' entries: id, category, function, ground_truth
  verdicts.jsonl.gz  candidates: id, kind (which mutation), rendering (python|json), text, and the
                     official verdict: valid (true/false, or null where BFCL's checker raised) and
                     error_type

Official verdicts: python text goes through ``default_decode_ast_prompting`` (the prompting handlers'
decoder), JSON text through the FC handlers' route (``json.loads`` of each call's arguments); then
``is_function_calling_format_output`` and ``ast_checker`` -- exactly the steps of BFCL's
``_evaluate_single_ast_entry``. The mutations are drawn with a fixed seed, so the files are reproducible.
This script is not part of the test run and not of the funrl package.
"""

from __future__ import annotations

import gzip
import json
import os
import pathlib
import random
import sys

os.environ.setdefault("BFCL_PROJECT_ROOT", "/tmp/bfclroot")
pathlib.Path(os.environ["BFCL_PROJECT_ROOT"]).mkdir(parents=True, exist_ok=True)

import bfcl_eval  # noqa: E402
from bfcl_eval.constants.enums import Language  # noqa: E402
from bfcl_eval.constants.model_config import MODEL_CONFIG_MAPPING  # noqa: E402
from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker  # noqa: E402
from bfcl_eval.model_handler.utils import default_decode_ast_prompting  # noqa: E402
from bfcl_eval.utils import is_function_calling_format_output  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from golden_candidates import (  # noqa: E402  (next to this script)
    PYTHON_TEXT,
    STRUCTURED,
    gold_calls,
    json_ok,
    render_json,
    render_python,
)

CATEGORIES = [
    "simple_python",
    "multiple",
    "parallel",
    "parallel_multiple",
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
]
HERE = pathlib.Path(__file__).parent
DATA = pathlib.Path(bfcl_eval.__file__).parent / "data"
# A model whose names BFCL does not rewrite (underscore_to_dot False): names are compared as written.
MODEL = next(k for k, v in MODEL_CONFIG_MAPPING.items() if not v.underscore_to_dot).replace("/", "_")
SEED = 20261121


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


# ------------------------------------------------------------------------- official verdicts
def official(text: str, rendering: str, entry: dict) -> tuple:
    try:
        if rendering == "python":
            decoded = default_decode_ast_prompting(text)
        else:
            decoded = [
                {c["name"]: json.loads(c["arguments"]) if isinstance(c["arguments"], str) else c["arguments"]}
                for c in json.loads(text)
            ]
    except Exception:
        return False, "ast_decoder:decoder_failed"
    if not is_function_calling_format_output(decoded):
        return False, "ast_decoder:decoder_wrong_output_format"
    try:
        r = ast_checker(
            entry["function"], decoded, entry["ground_truth"], Language.PYTHON, entry["category"], MODEL
        )
    except Exception as e:  # BFCL's checker crashes on a few inputs; no verdict there
        return None, f"crash:{type(e).__name__}"
    return r["valid"], r.get("error_type")


def main() -> None:
    rng = random.Random(SEED)
    entries = []
    for cat in CATEGORIES:
        qs = {q["id"]: q for q in load(DATA / f"BFCL_v4_{cat}.json")}
        for a in load(DATA / "possible_answer" / f"BFCL_v4_{cat}.json"):
            q = qs[a["id"]]
            entries.append(
                {"id": a["id"], "category": cat, "function": q["function"], "ground_truth": a["ground_truth"]}
            )
    rows = []
    counts = {}
    for entry in entries:
        gold = gold_calls(entry)
        cands = [("gold", gold)]
        for kind in rng.sample(sorted(STRUCTURED), 12):
            m = STRUCTURED[kind](gold, entry, rng)
            if m is not None:
                cands.append((kind, m))
        for _ in range(2):  # two mutations composed
            k1, k2 = rng.sample(sorted(STRUCTURED), 2)
            m = STRUCTURED[k1](gold, entry, rng)
            m = STRUCTURED[k2](m, entry, rng) if m else None
            if m is not None:
                cands.append((f"{k1}+{k2}", m))
        for kind, calls in cands:
            renders = [("python", render_python(calls))]
            if json_ok(calls):
                style = rng.random()
                if style < 0.2:
                    renders.append(("json", render_json(calls, args_as_string=True)))
                else:
                    renders.append(("json", render_json(calls)))
            for rendering, text in renders:
                rows.append((entry, kind, rendering, text))
        for kind in rng.sample(sorted(PYTHON_TEXT), 10):
            text = PYTHON_TEXT[kind](gold, rng)
            if text is not None:
                rows.append((entry, kind, "python", text))
    out = []
    for entry, kind, rendering, text in rows:
        valid, error_type = official(text, rendering, entry)
        counts[(valid, rendering)] = counts.get((valid, rendering), 0) + 1
        out.append(
            {
                "id": entry["id"],
                "kind": kind,
                "rendering": rendering,
                "text": text,
                "valid": valid,
                "error_type": error_type,
            }
        )
    with gzip.open(HERE / "entries.jsonl.gz", "wt", compresslevel=9) as f:
        for e in entries:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    with gzip.open(HERE / "verdicts.jsonl.gz", "wt", compresslevel=9) as f:
        for row in out:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(
        f"{len(entries)} entries, {len(out)} candidates; verdicts by (valid, rendering): {counts}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
