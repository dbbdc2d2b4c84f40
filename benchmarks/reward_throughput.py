"""Reward throughput: candidates per second, single process, on BFCL-derived candidates.

Candidates: the golden set in tests/data/bfcl (every entry of BFCL's 8 Python AST categories: its gold
answer plus mutations, 52,644 texts, 35% valid), split by rendering (python-call text, JSON text). The
python set is also measured without the deliberately odd syntax kinds (``py_*``: arithmetic, escapes,
positional arguments, prose around the call, ...) as "plain": the calls models usually write.
Measured side by side in one process, the methods taking turns, best of --repeats passes over the set, each
pass timed in process CPU time (--clock wall for wall time; the two agree on an idle machine):

  official         BFCL's own decode + ast_checker (bfcl-eval 2026.3.23), when importable
  score()          funrl.reward.score(text, functions=..., ...): validates + prepares the ground truth
                   on every call
  compute_score() cold  the verl path, headline: the ground truth as its JSON string, the cache cleared
                   before each pass, candidates grouped by ground truth (a group of n rollouts per new
                   prompt, as verl scores them), each group's string a fresh object
  compute_score() full  the same with the cache kept between passes: with the default bound
                   (FUNRL_GT_CACHE_BYTES, 256 MiB; each entry charged 72 x its string + 16 KiB) about
                   1,450 of the set's 2,351 ground truths (~2.3 KB each) fit, so a pass in order evicts
                   each entry before it comes round again: every group misses and evicts one entry, with
                   the collector walking a full cache -- what a long verl run meets once its cache is
                   full (a new prompt per group), and slower than the cleared cache
  score_prepared() a GroundTruth prepared once per entry (what a group of n rollouts costs)
  floor: inputs only   no check at all: per group json.loads of its ground-truth string, per candidate
                   json.loads of JSON text or FunRL's decoder of python-call text. No checker that decodes
                   its inputs beats it; the headline says how much time per candidate issue #14's targets
                   (2x python, 3x JSON) leave beyond it for preparing, checking and the call path

bfcl-eval pins numpy<2 and cannot share verl's environment; funrl.reward needs only the standard
library, so run the comparison from the checker's environment:

    python3 -m venv /tmp/bfclvenv && /tmp/bfclvenv/bin/pip install --no-deps bfcl-eval==2026.3.23
    /tmp/bfclvenv/bin/pip install <bfcl-eval 2026.3.23's own requirements: numpy<2, tree-sitter, ...>
    /tmp/bfclvenv/bin/pip install --no-deps -e .
    BFCL_PROJECT_ROOT=/tmp/bfclroot /tmp/bfclvenv/bin/python benchmarks/reward_throughput.py
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import pathlib
import platform
import time

from funrl.reward import compute_score, ground_truth_json, prepare, score, score_prepared
from funrl.reward.decode import decode
from funrl.reward.ground_truth import ground_truth_from_json

# What a pass is timed with: the process's CPU time by default (other jobs on a shared machine then slow
# a pass far less than wall time shows; on an idle machine the two agree), or wall time (--clock wall).
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
CLOCK = [time.process_time]

DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "bfcl"


def load():
    with gzip.open(DATA / "entries.jsonl.gz", "rt") as f:
        entries = {e["id"]: e for e in map(json.loads, f)}
    with gzip.open(DATA / "verdicts.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    return entries, rows


def official_checker():
    try:
        os.environ.setdefault("BFCL_PROJECT_ROOT", "/tmp/bfclroot")
        pathlib.Path(os.environ["BFCL_PROJECT_ROOT"]).mkdir(parents=True, exist_ok=True)
        from bfcl_eval.constants.enums import Language
        from bfcl_eval.constants.model_config import MODEL_CONFIG_MAPPING
        from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
        from bfcl_eval.model_handler.utils import default_decode_ast_prompting
        from bfcl_eval.utils import is_function_calling_format_output
    except ImportError:
        return None
    model = next(k for k, v in MODEL_CONFIG_MAPPING.items() if not v.underscore_to_dot).replace("/", "_")

    def check(entry, text, rendering):
        try:
            if rendering == "python":
                decoded = default_decode_ast_prompting(text)
            else:
                decoded = [
                    {
                        c["name"]: json.loads(c["arguments"])
                        if isinstance(c["arguments"], str)
                        else c["arguments"]
                    }
                    for c in json.loads(text)
                ]
        except Exception:
            return False
        if not is_function_calling_format_output(decoded):
            return False
        try:
            r = ast_checker(
                entry["function"], decoded, entry["ground_truth"], Language.PYTHON, entry["category"], model
            )
        except Exception:
            return False
        return r["valid"]

    return check


# Issue #14's targets for compute_score() cold against the official checker.
TARGETS = {"python": 2, "json": 3}
# The row that only decodes the inputs (inputs_decoded_only).
FLOOR = "floor: inputs only"


def fresh(text: str) -> str:
    """An equal string that is a new object (as verl hands each step's ground truth: its hash uncached)."""
    return text.encode().decode()


def timed_interleaved(methods: dict, items: list, repeats: int) -> dict:
    """Best-of-`repeats` rate per method, the methods taking turns in every round, so that a change in
    machine load affects them alike. A method is ``fn(entry, text, fmt, gt_text)``, or ``(fn, before)``
    with ``before()`` run untimed before each pass (the cold-cache methods clear the cache there).
    -> {name: (candidates per second, verdicts)}"""
    best = dict.fromkeys(methods, float("inf"))
    verdicts = {}
    for _ in range(repeats):
        for name, method in methods.items():
            fn, before = method if isinstance(method, tuple) else (method, None)
            # each pass gets its own copy of each ground-truth string, shared by its group (verl repeats
            # one prompt's object n times)
            copies: dict = {}
            batch = [
                (e, t, fmt, copies.get(e["id"]) or copies.setdefault(e["id"], fresh(g)))
                for e, t, fmt, g in items
            ]
            if before is not None:
                before()
            gc.collect()
            t0 = CLOCK[0]()
            verdicts[name] = [fn(*item) for item in batch]
            best[name] = min(best[name], CLOCK[0]() - t0)
    return {name: (len(items) / best[name], verdicts[name]) for name in methods}


def methods_for(official, prepared: dict) -> dict:
    def cold(e, t, fmt, g):
        return compute_score("bfcl", t, g, fmt=fmt)["score"] == 1.0

    methods = {
        "compute_score() cold": (cold, ground_truth_from_json.cache_clear),
        "compute_score() full": cold,
        "score_prepared()": lambda e, t, fmt, g: score_prepared(prepared[e["id"]], t, fmt=fmt).valid,
        "score()": lambda e, t, fmt, g: (
            score(
                t, functions=e["function"], possible_answer=e["ground_truth"], category=e["category"], fmt=fmt
            ).valid
        ),
    }
    if official is not None:
        methods = {"official": lambda e, t, fmt, g: official(e, t, fmt), **methods}
    methods[FLOOR] = inputs_decoded_only()
    return methods


def inputs_decoded_only():
    """The floor row: only decoding the inputs, no check. Per group its ground-truth string's
    ``json.loads`` (once, as the cold path does), per candidate ``json.loads`` of JSON text (what any
    checker must do) or FunRL's decoder of python-call text (regex fast path, BFCL's ``ast`` route for the
    rest). A checker that decodes its inputs cannot beat this rate: the room left for the check, the
    ground truth's preparation and the call path is the difference between 1/target and 1/floor."""
    last = [None]

    def floor(e, t, fmt, g):
        if g is not last[0]:  # a new group (one string object per group, as verl hands them)
            last[0] = g
            json.loads(g)
        try:
            json.loads(t) if fmt == "json" else decode(t, fmt)
        except (ValueError, RecursionError):
            pass
        return None

    return floor


def ground_truth_costs(texts: list, repeats: int) -> tuple[float, float]:
    """-> (us to load one new ground-truth string through compute_score's cache, us of json.loads alone):
    the per-group cost of verl's path, and its floor (the official checker gets its data decoded)."""

    def load_all(strings: list) -> None:
        for t in strings:
            ground_truth_from_json(t)

    def loads_all(strings: list) -> None:
        for t in strings:
            json.loads(t)

    best = {load_all: float("inf"), loads_all: float("inf")}
    for _ in range(repeats):
        for fn in best:
            ground_truth_from_json.cache_clear()
            strings = [fresh(t) for t in texts]
            gc.collect()
            t0 = CLOCK[0]()
            fn(strings)
            best[fn] = min(best[fn], CLOCK[0]() - t0)
    return best[load_all] / len(texts) * 1e6, best[loads_all] / len(texts) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="cpu", help="time passes in CPU or wall time")
    args = ap.parse_args()
    CLOCK[0] = CLOCKS[args.clock]
    entries, rows = load()
    official = official_checker()
    gt_json = {
        i: ground_truth_json(e["function"], e["ground_truth"], e["category"]) for i, e in entries.items()
    }
    prepared = {i: prepare(e["function"], e["ground_truth"], e["category"]) for i, e in entries.items()}

    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; best of {args.repeats}, "
        f"{args.clock} time"
    )
    print(f"{'rendering':<14}{'method':<22}{'cand/s':>10}{'vs official':>13}  agreement  cand/gt")
    slices = [
        ("python", "all", lambda r: r["rendering"] == "python"),
        ("python", "plain", lambda r: r["rendering"] == "python" and not r["kind"].startswith("py_")),
        ("json", "all", lambda r: r["rendering"] == "json"),
    ]
    headline: list[str] = []
    for rendering, subset, keep in slices:
        # grouped by ground truth, as verl scores a group of n rollouts of one prompt together
        items = sorted(
            ((entries[r["id"]], r["text"], rendering, gt_json[r["id"]]) for r in rows if keep(r)),
            key=lambda item: item[0]["id"],
        )
        per_gt = len(items) / len({item[0]["id"] for item in items})
        results = timed_interleaved(methods_for(official, prepared), items, args.repeats)
        ref_rate, ref_verdicts = results.get("official", (None, None))
        for name, (rate, verdicts) in results.items():
            ratio = f"{rate / ref_rate:>12.2f}x" if ref_rate else f"{'n/a':>13}"
            agree = (
                ""
                if ref_verdicts is None or name == FLOOR
                else f"  {sum(a == b for a, b in zip(verdicts, ref_verdicts))}/{len(items)}"
            )
            print(f"{rendering + ' ' + subset:<14}{name:<22}{rate:>10,.0f}{ratio}{agree}  {per_gt:.1f}")
        if ref_rate:
            cold_rate, full_rate = results["compute_score() cold"][0], results["compute_score() full"][0]
            floor_rate = results[FLOOR][0]
            # what a candidate may cost beyond decoding the inputs, for the cold path to reach the target
            target = TARGETS[rendering]
            room = (1 / (target * ref_rate) - 1 / floor_rate) * 1e6
            headline.append(
                f"{rendering} {subset} {cold_rate / ref_rate:.2f}x (full cache {full_rate / ref_rate:.2f}x; "
                f"decoding the inputs alone {floor_rate / ref_rate:.2f}x, so {target}x leaves "
                f"{room:.1f} us a candidate for preparing, checking and the call)"
            )
    texts = sorted(set(gt_json.values()))
    load_us, loads_us = ground_truth_costs(texts, args.repeats)
    print(
        f"a new ground truth (verl: one per group): {load_us:.1f} us to load and prepare, of which "
        f"json.loads alone {loads_us:.1f} us ({len(texts)} strings, {sum(map(len, texts)) / len(texts):,.0f} chars each)"
    )
    if headline:
        print("headline, compute_score() cold (verl's path) vs official: " + ", ".join(headline))
    if official is None:
        print("(bfcl-eval not importable here: official column skipped; see this file's docstring)")


if __name__ == "__main__":
    main()
