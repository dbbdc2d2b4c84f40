"""BFCL's own summary numbers for a few score tables, for tests/eval/test_summary.py.

Run with the official bfcl-eval 2026.3.23 environment (pandas, numpy and the model SDKs it imports):

    BFCL_PROJECT_ROOT=/tmp/bfclroot /path/to/bfcl-venv/bin/python tests/eval/data/make_summary.py

For each scenario (per-category ``[correct, total]``), it runs ``eval_runner_helper.generate_leaderboard_csv``
and records the rows it hands to ``write_score_csv_file`` before they are rounded to percentages, so the
expected numbers keep full precision, and each category's size. Writes tests/eval/data/summary_official.json.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

from bfcl_eval.constants.category_mapping import ALL_SCORING_CATEGORIES
from bfcl_eval.eval_checker import eval_runner_helper
from bfcl_eval.utils import load_dataset_entry

HERE = Path(__file__).parent
MODEL = "gpt-4o-2024-11-20-FC"  # any model of BFCL's registry: only its display name reaches the rows

SINGLE = {
    "simple_python": [371, 400],
    "simple_java": [61, 100],
    "simple_javascript": [33, 50],
    "multiple": [185, 200],
    "parallel": [180, 200],
    "parallel_multiple": [169, 200],
    "irrelevance": [201, 240],
    "live_simple": [211, 258],
    "live_multiple": [801, 1053],
    "live_parallel": [11, 16],
    "live_parallel_multiple": [15, 24],
    "live_irrelevance": [700, 884],
    "live_relevance": [13, 16],
}
MULTI = {
    "multi_turn_base": [120, 200],
    "multi_turn_miss_func": [90, 200],
    "multi_turn_miss_param": [81, 200],
    "multi_turn_long_context": [77, 200],
}
SCENARIOS = {
    "single_and_multi_turn": {**SINGLE, **MULTI},
    "python_only": {k: v for k, v in SINGLE.items() if k not in ("simple_java", "simple_javascript")},
    "limit_3": {k: [v[0] % 4, 3] for k, v in SINGLE.items()},
    "multi_turn_only": MULTI,
    "live_ast_only": {
        k: SINGLE[k] for k in ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")
    },
}


def official(scores: dict[str, list[int]]) -> dict:
    captured = {}
    original = eval_runner_helper.write_score_csv_file

    def capture(data, file_path, header, *args, **kwargs):
        if Path(file_path).stem != "data_format_sensitivity":  # not scored
            captured[Path(file_path).stem] = dict(zip(header, copy.deepcopy(data[0])))
        return original(data, file_path, header, *args, **kwargs)

    table = {
        MODEL.replace("/", "_"): {c: {"accuracy": k / n, "total_count": n} for c, (k, n) in scores.items()}
    }
    eval_runner_helper.write_score_csv_file = capture
    try:
        with tempfile.TemporaryDirectory() as out:
            eval_runner_helper.generate_leaderboard_csv(table, Path(out))
    finally:
        eval_runner_helper.write_score_csv_file = original
    return captured


def main() -> None:
    result = {name: {"input": scores, "official": official(scores)} for name, scores in SCENARIOS.items()}
    # the count BFCL gives a category that was not run (get_category_score)
    result["sizes"] = {
        c: len(load_dataset_entry(c, include_prereq=False, include_language_specific_hint=False))
        for c in ALL_SCORING_CATEGORIES
    }
    (HERE / "summary_official.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"{len(SCENARIOS)} scenarios")


if __name__ == "__main__":
    main()
