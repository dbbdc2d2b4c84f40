"""Generate the FC-mode golden verdicts (``underscore_to_dot``) with BFCL's official checker.

BFCL scores a model served through a tools API (its config sets ``underscore_to_dot``) with the expected
function names' ``.`` written as ``_`` (``convert_func_name``). This script takes every golden candidate
(verdicts.jsonl.gz, next to it) of an entry whose function docs have a ``.`` in a name, as written and with
those names rewritten to BFCL's FC form, and records the official verdict under an FC model name
(``MODEL``, whose config has ``underscore_to_dot`` True). Run it like make_golden.py:

    BFCL_PROJECT_ROOT=/tmp/bfclroot /tmp/bfclvenv/bin/python tests/data/bfcl/make_golden_fc.py

It writes verdicts_fc.jsonl.gz: id, kind, rendering, text (``kind`` ends in ``+fc_names`` for a rewritten
text), valid and error_type. Not part of the test run and not of the funrl package.
"""

from __future__ import annotations

import gzip
import json
import os
import pathlib
import sys

os.environ.setdefault("BFCL_PROJECT_ROOT", "/tmp/bfclroot")
pathlib.Path(os.environ["BFCL_PROJECT_ROOT"]).mkdir(parents=True, exist_ok=True)

from bfcl_eval.constants.model_config import MODEL_CONFIG_MAPPING  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from make_golden import official  # noqa: E402  (next to this script)

HERE = pathlib.Path(__file__).parent
MODEL = "gpt-4o-2024-11-20-FC"
assert MODEL_CONFIG_MAPPING[MODEL].underscore_to_dot


def main() -> None:
    import make_golden

    make_golden.MODEL = MODEL  # official() reads the module's MODEL
    with gzip.open(HERE / "entries.jsonl.gz", "rt") as f:
        entries = {e["id"]: e for e in map(json.loads, f)}
    dotted = {i: sorted({d["name"] for d in e["function"] if "." in d["name"]}) for i, e in entries.items()}
    out = []
    with gzip.open(HERE / "verdicts.jsonl.gz", "rt") as f:
        for row in map(json.loads, f):
            names = dotted[row["id"]]
            if not names:
                continue
            texts = [(row["kind"], row["text"])]
            fc_text = row["text"]
            for name in names:
                fc_text = fc_text.replace(name, name.replace(".", "_"))
            if fc_text != row["text"]:
                texts.append((row["kind"] + "+fc_names", fc_text))
            for kind, text in texts:
                valid, error_type = official(text, row["rendering"], entries[row["id"]])
                out.append(
                    dict(
                        id=row["id"],
                        kind=kind,
                        rendering=row["rendering"],
                        text=text,
                        valid=valid,
                        error_type=error_type,
                    )
                )
    with gzip.open(HERE / "verdicts_fc.jsonl.gz", "wt", compresslevel=9) as f:
        for row in out:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    valid = sum(r["valid"] is True for r in out)
    print(f"{len(out)} FC-mode candidates ({valid} valid) over {sum(map(bool, dotted.values()))} entries")


if __name__ == "__main__":
    main()
