"""Generate the golden verdicts of BFCL's multi-turn checker, from BFCL's own data and its official checker.

Run it in a separate venv with ``pip install --no-deps bfcl-eval==2026.3.23`` plus its requirements (its
pins clash with verl's), from the repository root:

    BFCL_PROJECT_ROOT=/tmp/bfclroot /path/to/bfcl-venv/bin/python tests/data/bfcl_multi_turn/make_golden.py

It writes ``candidates.jsonl.gz`` next to itself (about 12 minutes on one core), one JSON object a line
(with ``--nested``: ``nested.jsonl.gz``, the calls-inside-arguments candidates of
``mutations.nested_candidates``, about 2 minutes):
``{"id", "kind", "model_turns", "valid", "error_type"}``. ``model_turns`` is BFCL's decoded form, turns ->
steps -> python-call strings: what each step's ``handler.decode_execute`` returns. ``valid`` is true/false
(null where BFCL's code raised, with the exception's class name as ``error_type``); ``error_type`` is
BFCL's (``multi_turn:...``) or null when valid.

Official verdicts: each candidate goes through BFCL's own ``eval_runner._evaluate_single_multi_turn_entry``
(turn-count check -> ``multi_turn:force_terminated``, steps whose decoded list is empty -- ``[]`` or
``[""]`` -- dropped, then ``multi_turn_checker``), with a stand-in handler whose ``decode_execute`` returns
the step as it is, the entries from ``bfcl_eval.utils.load_dataset_entry`` / ``load_ground_truth_entry``
and model name ``MODEL`` below. BFCL keeps its API instances in module globals (keyed by model name and
entry id), ``TwitterAPI.post_tweet`` has mutable default arguments, and the APIs draw from their own
seeded random streams: so checking two candidates in one process can carry state from one to the next.
Each verdict here is what a FRESH process gives: the parent imports bfcl_eval and loads the data once,
then forks one child per candidate, which runs the steps above and sends back the verdict
(``--verify N`` re-checks N candidates, twice by fork and once each in a brand-new ``python`` process).
The candidates (gold shapes and mutations) are made by ``mutations.py`` next to this script, with the
call edits of ``call_surgery.py``. The mutations are drawn with a fixed seed, so the file is reproducible
(except for ``verify_traveler_information``, which reads ``datetime.today()``: no candidate here has a
birth date near the 18-year boundary). This script is not part of the test run and not of the funrl package.

``--bench`` measures the official checker's speed instead: one process, no fork; before each candidate
the cached API instances are deleted from ``multi_turn_utils``'s globals and ``post_tweet``'s defaults
are reset; only the ``_evaluate_single_multi_turn_entry`` call is timed. The counts and the speed are
in README.md next to this file.
"""

from __future__ import annotations

import argparse
import collections
import copy
import gzip
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

os.environ.setdefault("BFCL_PROJECT_ROOT", "/tmp/bfclroot")
pathlib.Path(os.environ["BFCL_PROJECT_ROOT"]).mkdir(parents=True, exist_ok=True)

from bfcl_eval.eval_checker import eval_runner  # noqa: E402
from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils  # noqa: E402
from bfcl_eval.utils import load_dataset_entry, load_ground_truth_entry  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from call_surgery import CLASSES  # noqa: E402  (next to this script)
from mutations import SEED, candidates, nested_candidates  # noqa: E402

CATEGORIES = ["multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context"]
HERE = pathlib.Path(__file__).parent
OUT = HERE / "candidates.jsonl.gz"
NESTED_OUT = HERE / "nested.jsonl.gz"
MODEL = "gpt-4o-2024-11-20-FC"  # a registered model name; it only names BFCL's cached instances


# ------------------------------------------------------------------------- official verdicts
class _DecodedHandler:
    """Stands in for BFCL's model handler: the candidates are already decoded, one list of calls a step."""

    def decode_execute(self, result, has_tool_call_tag=False):
        return list(result)


def verdict(entry: dict, ground_truth: list, model_turns: list) -> tuple:
    """The official verdict, computed in THIS process (call it in a fresh one)."""
    r = eval_runner._evaluate_single_multi_turn_entry(
        _DecodedHandler(),
        entry["id"],
        copy.deepcopy(model_turns),
        copy.deepcopy(ground_truth),
        copy.deepcopy(entry),
        MODEL,
        entry["id"].rsplit("_", 1)[0],
    )
    if r["valid"]:
        return True, None
    return False, r["error"]["error_type"]


def verdict_forked(entry: dict, ground_truth: list, model_turns: list) -> tuple:
    """The official verdict in a fresh child process (forked after bfcl_eval was imported and the data loaded)."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(rfd)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        signal.alarm(300)
        try:
            out = json.dumps(verdict(entry, ground_truth, model_turns))
        except BaseException as e:  # noqa: B036 -- any failure of BFCL's code is the verdict
            out = json.dumps([None, type(e).__name__])
        with os.fdopen(wfd, "w") as f:
            f.write(out)
        os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd) as f:
        text = f.read()
    os.waitpid(pid, 0)
    if not text:
        return None, "ChildDied"
    return tuple(json.loads(text))


_SUBPROCESS = """
import json, sys
sys.path.insert(0, {here!r})
import make_golden as g
entry, gt, turns = json.loads(sys.stdin.read())
print(json.dumps(g.verdict(entry, gt, turns)))
"""


def verdict_new_python(entry: dict, ground_truth: list, model_turns: list) -> tuple:
    """The official verdict from a brand-new python process (for --verify)."""
    p = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS.format(here=str(HERE))],
        input=json.dumps([entry, ground_truth, model_turns]),
        capture_output=True,
        text=True,
        check=True,
    )
    return tuple(json.loads(p.stdout.strip().splitlines()[-1]))


# ------------------------------------------------------------------------- main
def load_all():
    items = []
    for cat in CATEGORIES:
        entries = load_dataset_entry(cat)
        answers = load_ground_truth_entry(cat)
        assert [e["id"] for e in entries] == [a["id"] for a in answers]
        for e, a in zip(entries, answers):
            e = dict(e)
            e.pop("function", None)
            items.append((e, a["ground_truth"]))
    return items


def all_candidates(items, make=candidates):
    for entry, gt in items:
        for kind, turns in make(entry, gt):
            yield entry, gt, kind, turns


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0, help="only the first N entries of each category")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument(
        "--verify", type=int, default=0, help="re-check one candidate of each kind and random ones, N in all"
    )
    ap.add_argument("--bench", action="store_true", help="time the checker, one process, no fork")
    ap.add_argument(
        "--nested",
        action="store_true",
        help="the nested-call candidates (mutations.nested_candidates) instead",
    )
    args = ap.parse_args()
    if args.nested and args.out == str(OUT):
        args.out = str(NESTED_OUT)
    items = load_all()
    if args.limit:
        per = collections.defaultdict(int)
        kept = []
        for e, g in items:
            cat = e["id"].rsplit("_", 1)[0]
            if per[cat] < args.limit:
                kept.append((e, g))
                per[cat] += 1
        items = kept
    by_id = {e["id"]: (e, g) for e, g in items}

    if args.verify:
        verify(args, by_id)
        return
    if args.bench:
        bench(items)
        return

    kinds, results = collections.Counter(), collections.Counter()
    t0 = time.time()
    rows = []
    make = nested_candidates if args.nested else candidates
    for n, (entry, gt, kind, turns) in enumerate(all_candidates(items, make)):
        valid, error_type = verdict_forked(entry, gt, turns)
        rows.append(
            {"id": entry["id"], "kind": kind, "model_turns": turns, "valid": valid, "error_type": error_type}
        )
        kinds[kind] += 1
        results[(kind, valid, error_type)] += 1
        if n % 2000 == 0:
            print(f"{n} candidates, {time.time() - t0:.0f}s", file=sys.stderr)
    with gzip.GzipFile(args.out, "wb", mtime=0) as f:
        for r in rows:
            f.write((json.dumps(r, ensure_ascii=False) + "\n").encode())
    report(rows)


def report(rows):
    kinds = collections.Counter(r["kind"] for r in rows)
    by_kind = collections.defaultdict(collections.Counter)
    for r in rows:
        by_kind[r["kind"]][r["error_type"] or ("valid" if r["valid"] else "?")] += 1
    print(f"{len(rows)} candidates")
    for k in kinds:
        print(f"  {k:34s} {kinds[k]:5d}  {dict(by_kind[k].most_common())}")
    print(
        collections.Counter(r["error_type"] or ("valid" if r["valid"] else "?") for r in rows).most_common()
    )


def verify(args, by_id):
    with gzip.open(args.out, "rt") as f:
        rows = [json.loads(line) for line in f]
    rows = [r for r in rows if r["id"] in by_id]
    rng = random.Random(SEED)
    by_kind = collections.defaultdict(list)
    for r in rows:
        by_kind[r["kind"]].append(r)
    sample = [rng.choice(v) for _, v in sorted(by_kind.items())]  # one of each kind, then random ones
    sample += rng.sample(rows, max(0, args.verify - len(sample)))
    bad = 0
    for r in sample:
        entry, gt = by_id[r["id"]]
        want = (r["valid"], r["error_type"])
        got = [verdict_forked(entry, gt, r["model_turns"]) for _ in range(2)]
        got.append(verdict_new_python(entry, gt, r["model_turns"]))
        if any(tuple(g) != want for g in got):
            bad += 1
            print("MISMATCH", r["id"], r["kind"], want, got)
    print(f"verified {len(sample)} candidates, {bad} mismatches")


def _reset_process_state():
    g = vars(multi_turn_utils)
    for k in [k for k in g if k.endswith("_instance")]:
        del g[k]
    CLASSES["TwitterAPI"].post_tweet.__defaults__ = ([], [])


def bench(items):
    cands = list(all_candidates(items))
    per_cat = collections.defaultdict(lambda: [0, 0.0])
    total = 0.0
    same = 0
    forked = {}
    if OUT.exists():
        with gzip.open(OUT, "rt") as f:
            for line in f:
                r = json.loads(line)
                forked[(r["id"], r["kind"], json.dumps(r["model_turns"]))] = (r["valid"], r["error_type"])
    for entry, gt, kind, turns in cands:
        _reset_process_state()
        t = time.perf_counter()
        try:
            v = verdict(entry, gt, turns)
        except Exception as e:
            v = (None, type(e).__name__)
        dt = time.perf_counter() - t
        total += dt
        c = per_cat[entry["id"].rsplit("_", 1)[0]]
        c[0] += 1
        c[1] += dt
        key = (entry["id"], kind, json.dumps(turns))
        same += forked.get(key, v) == v
    print(f"{len(cands)} candidates in {total:.1f}s of checker time: {len(cands) / total:.1f} trajectories/s")
    for cat, (k, s) in per_cat.items():
        print(f"  {cat}: {k} in {s:.1f}s, {k / s:.1f}/s")
    print(f"single-process verdicts equal to the forked ones: {same}/{len(cands)}")


if __name__ == "__main__":
    main()
