"""``python -m funrl.reward score FILE``: score a JSONL file of model outputs, report accuracy.

Each line is a JSON object with the model's text under ``output`` (or ``response``) and its ground
truth either as ``ground_truth`` (the documented JSON, as a string or an object) or inline as
``functions`` / ``possible_answer`` / ``category`` (+ optional ``fmt``, ``require_think``); ``id`` is
optional. The report gives accuracy by category and overall, and the error-type breakdown. A line that
is not valid JSON or whose ground truth is malformed is a data bug: it is listed (with its line number
and the reason), left out of the accuracy, and makes the exit status 2.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from typing import Any

from .api import load_ground_truth, score_prepared
from .decode import FORMATS


class _Progress:
    """A progress line on stderr (count, rate), redrawn at most 5 times a second."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self.start = self.last = time.perf_counter()

    def update(self, done: int, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last < 0.2):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        width = 30
        filled = int(width * done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        print(
            f"\rscoring [{bar}] {done}/{self.total}  {rate:,.0f} samples/s",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if force:
            print(file=sys.stderr)


def _ground_truth_of(row: dict) -> Any:
    if "ground_truth" in row:
        return row["ground_truth"]
    return {
        k: row[k] for k in ("functions", "possible_answer", "category", "fmt", "require_think") if k in row
    }


def score_file(path: str, *, fmt: str | None, require_think: bool | None, progress: bool) -> dict:
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    by_category: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    error_types: collections.Counter = collections.Counter()
    bad_lines = []
    bar = _Progress(len(lines), progress)
    for lineno, line in enumerate(lines, 1):
        bar.update(lineno)
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("line: expected a JSON object")
            if "output" in row:
                text = row["output"]
            elif "response" in row:
                text = row["response"]
            else:
                raise ValueError("output: missing (the model's text, under 'output' or 'response')")
            gt = load_ground_truth(_ground_truth_of(row))
        except ValueError as e:  # json.JSONDecodeError is a ValueError
            bad_lines.append({"line": lineno, "id": _safe_id(line), "reason": str(e)})
            continue
        result = score_prepared(gt, text, fmt=fmt, require_think=require_think)
        stats = by_category[gt.category]
        stats[0] += 1
        stats[1] += result.valid
        if not result.valid:
            error_types[result.error_type] += 1
    bar.update(len(lines), force=True)
    n = sum(s[0] for s in by_category.values())
    correct = sum(s[1] for s in by_category.values())
    return {
        "file": path,
        "scored": n,
        "correct": correct,
        "accuracy": correct / n if n else 0.0,
        "by_category": {
            c: {"n": s[0], "correct": s[1], "accuracy": s[1] / s[0]} for c, s in sorted(by_category.items())
        },
        "error_types": dict(error_types.most_common()),
        "bad_lines": bad_lines,
    }


def _safe_id(line: str) -> Any:
    try:
        return json.loads(line).get("id")
    except (ValueError, AttributeError):
        return None


def _print_report(report: dict) -> None:
    print(f"{report['file']}: {report['correct']}/{report['scored']} correct ({report['accuracy']:.2%})")
    print(f"\n{'category':<26}{'n':>7}{'correct':>9}{'accuracy':>10}")
    for c, s in report["by_category"].items():
        print(f"{c:<26}{s['n']:>7}{s['correct']:>9}{s['accuracy']:>10.2%}")
    if report["error_types"]:
        wrong = report["scored"] - report["correct"]
        print(f"\n{'error type':<56}{'count':>7}{'share':>8}")
        for t, k in report["error_types"].items():
            print(f"{t:<56}{k:>7}{k / wrong:>8.1%}")
    for b in report["bad_lines"]:
        print(f"line {b['line']} (id {b['id']}): NOT SCORED: {b['reason']}", file=sys.stderr)


def _cmd_score(args: argparse.Namespace) -> int:
    progress = args.progress if args.progress is not None else sys.stderr.isatty()
    report = score_file(args.file, fmt=args.fmt, require_think=args.require_think, progress=progress)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_report(report)
    return 2 if report["bad_lines"] else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m funrl.reward", description="FunRL's BFCL-faithful AST reward."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("score", help="score a JSONL file of outputs + ground truths; report accuracy")
    p.add_argument(
        "file", help="JSONL: {output, ground_truth} or {output, functions, possible_answer, category}"
    )
    p.add_argument("--fmt", choices=FORMATS, default=None, help="override every line's output format")
    p.add_argument(
        "--require-think", action=argparse.BooleanOptionalAction, default=None, help="override require_think"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: on a TTY)",
    )
    p.set_defaults(func=_cmd_score)
    from .serve import add_serve_parser

    add_serve_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
