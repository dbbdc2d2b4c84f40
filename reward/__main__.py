"""``python -m funrl.reward score FILE``: score a file of model outputs, report accuracy.

Each line is a JSON object with the model's text under ``output`` (or ``response``, or TRL's
``completion``) and its ground truth as ``ground_truth`` (the documented JSON, as a string or an
object), verl's ``gts`` (its rollout dump, ``trainer.rollout_data_dir/N.jsonl``, read as it is),
``reward_model.ground_truth``, or inline as ``functions`` / ``possible_answer`` / ``category`` (+
optional ``fmt``, ``require_think``); ``id`` is optional. See :mod:`.score_file`. The file is streamed.
The report gives accuracy by category and overall, and the error-type breakdown. A line that is not
UTF-8, not valid JSON, lacks a field, or whose ground truth is malformed is a data bug: it is listed
(with its line number and the reason), left out of the accuracy, and makes the exit status 2. A file
that cannot be read or holds no sample is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from .decode import FORMATS
from .score_file import InputError, score_file


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
    if report["bad_count"]:
        listed = len(report["bad_lines"])
        more = f" (the first {listed} listed above)" if listed < report["bad_count"] else ""
        print(f"{report['bad_count']} line(s) not scored{more}: exit status 2", file=sys.stderr)


def _cmd_score(args: argparse.Namespace) -> int:
    progress = args.progress if args.progress is not None else sys.stderr.isatty()
    for stream in (sys.stdout, sys.stderr):  # a lone surrogate in an id or a reason must not crash the report
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        report = score_file(args.file, fmt=args.fmt, require_think=args.require_think, progress=progress)
    except InputError as e:
        print(f"reward score: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_report(report)
    return 2 if report["bad_count"] or not report["scored"] else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m funrl.reward", description="FunRL's BFCL-faithful AST reward."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("score", help="score a JSONL file of outputs + ground truths; report accuracy")
    p.add_argument(
        "file",
        help="JSONL: {output, ground_truth}, {output, functions, possible_answer, category}, verl's rollout "
        "dump {output, gts}, TRL {completion, ground_truth} (or TRL's completions .parquet, with pyarrow)",
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
