"""``python -m funrl.eval bfcl|humaneval ...``: evaluate a served model.

    vllm serve ./checkpoints/global_step_500/hf --served-model-name funrl &
    python -m funrl.eval bfcl --endpoint http://127.0.0.1:8000/v1 --model funrl --out outputs/bfcl_eval
    python -m funrl.eval humaneval --endpoint http://127.0.0.1:8000/v1 --model funrl ...

``bfcl`` writes OUT/report.json, OUT/report.md, OUT/results.jsonl (one row per entry: id, category,
valid, error type, the reply) and OUT/journal.sqlite (every reply; a rerun resumes from it). Exit
status: 0 done, 1 the server kept failing (rerun to resume), 2 bad arguments or data. See docs/eval.md.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from funrl.data_prep import EndpointError

from .bfcl import PROMPT_FORMATS, EvalConfig
from .categories import GROUPS, RUNNABLE
from .cli_args import endpoint_from_args
from .prompts import MODES, PROMPT_STYLES
from .report import markdown_report
from .run import run_bfcl

CATEGORIES_HELP = (
    "BFCL category or group names (default: single_turn). Groups: "
    + ", ".join(GROUPS)
    + ". Categories: "
    + ", ".join(RUNNABLE)
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m funrl.eval", description="Evaluate a served model.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "humaneval", help="HumanEval / MBPP pass@1 (the forgetting check; see docs/eval_humaneval.md)"
    )
    p = sub.add_parser("bfcl", help="BFCL, scored as BFCL scores it, with BFCL's summary columns")
    p.add_argument(
        "--endpoint", required=True, help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1"
    )
    p.add_argument("--model", required=True, help="model name the server serves")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    p.add_argument(
        "--data-dir",
        default=None,
        help="folder with BFCL_v4_<cat>.json + possible_answer/ (default: the installed bfcl-eval package's data)",
    )
    p.add_argument("--out", default="outputs/bfcl_eval", help="output folder (report, results, journal)")
    p.add_argument("--categories", nargs="+", default=["single_turn"], metavar="NAME", help=CATEGORIES_HELP)
    p.add_argument(
        "--prompt-style",
        default="bfcl",
        choices=PROMPT_STYLES,
        help="bfcl (default): BFCL's own prompt and python-call output, the numbers compare with the "
        "leaderboard; training: FunRL's training prompt for --fmt, the model is asked as it was trained",
    )
    p.add_argument(
        "--mode",
        default="prompt",
        choices=MODES,
        help="prompt (default): replies are text; fc: functions sent as OpenAI tools (a server with a tool "
        "parser), replies read from tool_calls and scored as BFCL's FC mode (underscore_to_dot)",
    )
    p.add_argument(
        "--fmt",
        default="think_answer",
        choices=PROMPT_FORMATS,
        help="the model's training format (--prompt-style training)",
    )
    p.add_argument(
        "--score-fmt",
        default=None,
        help="how replies are read (default: what the prompt asks for; 'auto' accepts any)",
    )
    p.add_argument("--require-think", action="store_true", help="a reply without <think>..</think> is wrong")
    p.add_argument("--concurrency", type=int, default=64, help="requests in flight at most")
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--max-tokens", type=int, default=4096)
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per request attempt")
    p.add_argument("--max-retries", type=int, default=5, help="retries on 429 / 5xx / timeouts")
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="first N entries per category (smoke runs; not BFCL's numbers)",
    )
    p.add_argument("--wandb-project", default=None, help="log the report to this W&B project")
    p.add_argument("--wandb-mode", default=None, choices=["online", "offline", "disabled"])
    p.add_argument("--wandb-run-name", default=None)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_bfcl)
    return parser


def _cmd_bfcl(args: argparse.Namespace) -> int:
    try:
        cfg = EvalConfig(
            endpoint=endpoint_from_args(args),
            output_dir=args.out,
            data_dir=args.data_dir,
            categories=tuple(args.categories),
            prompt_style=args.prompt_style,
            mode=args.mode,
            fmt=args.fmt,
            score_fmt=args.score_fmt,
            require_think=args.require_think,
            limit=args.limit,
            wandb_project=args.wandb_project,
            wandb_mode=args.wandb_mode,
            wandb_run_name=args.wandb_run_name,
            progress=not args.no_progress,
        )
        report = run_bfcl(cfg)
    except (ValueError, FileNotFoundError, ImportError) as e:
        print(f"funrl.eval bfcl: {e}", file=sys.stderr)
        return 2
    except EndpointError as e:
        print(f"funrl.eval bfcl: {e}", file=sys.stderr)
        return 1
    print(markdown_report(report))
    print(f"report: {args.out}/report.json, {args.out}/report.md; per entry: {args.out}/results.jsonl")
    return 0


def run_subcommand(name: str, argv: list[str], module: str) -> int:
    """``module.main(argv)``, imported only now (its own parser owns the options); exit 2 with a
    message while the module is absent."""
    if importlib.util.find_spec(module) is None:
        print(f"funrl.eval {name}: this FunRL install has no {module} module", file=sys.stderr)
        return 2
    return importlib.import_module(module).main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "humaneval":  # its own parser owns every option after the subcommand
        return run_subcommand("humaneval", argv[1:], module="funrl.eval.humaneval")
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
