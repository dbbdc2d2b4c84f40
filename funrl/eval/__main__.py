"""``python -m funrl.eval bfcl --endpoint URL --model NAME``: BFCL's Python AST categories on a served model.

    vllm serve ./checkpoints/global_step_500/hf --served-model-name funrl &
    python -m funrl.eval bfcl --endpoint http://127.0.0.1:8000/v1 --model funrl \\
        --data-dir /path/to/bfcl_eval/data --out outputs/bfcl_eval --concurrency 64

Writes OUT/report.json, OUT/report.md, OUT/results.jsonl (one row per entry: id, category, valid,
error type, the reply) and OUT/journal.sqlite (every reply; a rerun resumes from it). Exit status: 0
done, 1 the server kept failing (rerun to resume), 2 bad arguments or data.
"""

from __future__ import annotations

import argparse
import sys

from funrl.data_prep import EndpointConfig, EndpointError

from .bfcl import PROMPT_FORMATS, EvalConfig, run_bfcl
from .bfcl_data import AST_CATEGORIES
from .report import markdown_report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m funrl.eval", description="Evaluate a served model.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("bfcl", help="BFCL's Python single-turn AST categories, scored with funrl.reward")
    p.add_argument(
        "--endpoint", required=True, help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1"
    )
    p.add_argument("--model", required=True, help="model name the server serves")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    p.add_argument(
        "--data-dir",
        default=None,
        help="folder with BFCL_v4_<cat>.json + possible_answer/ "
        "(default: the installed bfcl-eval package's data)",
    )
    p.add_argument("--out", default="outputs/bfcl_eval", help="output folder (report, results, journal)")
    p.add_argument("--categories", nargs="+", default=list(AST_CATEGORIES), choices=AST_CATEGORIES)
    p.add_argument(
        "--fmt", default="think_answer", choices=PROMPT_FORMATS, help="the model's training format"
    )
    p.add_argument(
        "--score-fmt", default=None, help="how replies are read (default: --fmt; 'auto' accepts any)"
    )
    p.add_argument("--require-think", action="store_true", help="a reply without <think>..</think> is wrong")
    p.add_argument("--concurrency", type=int, default=64, help="requests in flight at most")
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--max-tokens", type=int, default=4096)
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per request attempt")
    p.add_argument("--max-retries", type=int, default=5, help="retries on 429 / 5xx / timeouts")
    p.add_argument("--limit", type=int, default=None, help="first N entries per category (smoke runs)")
    p.add_argument("--wandb-project", default=None, help="log the report to this W&B project")
    p.add_argument("--wandb-mode", default=None, choices=["online", "offline", "disabled"])
    p.add_argument("--wandb-run-name", default=None)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_bfcl)
    return parser


def _cmd_bfcl(args: argparse.Namespace) -> int:
    try:
        cfg = EvalConfig(
            endpoint=EndpointConfig(
                base_url=args.endpoint,
                model=args.model,
                api_key_env=args.api_key_env,
                concurrency=args.concurrency,
                timeout_s=args.timeout,
                max_retries=args.max_retries,
                temperature=args.temperature,
                max_tokens=args.max_tokens,
            ),
            output_dir=args.out,
            data_dir=args.data_dir,
            categories=tuple(args.categories),
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
    except (ValueError, FileNotFoundError) as e:
        print(f"funrl.eval bfcl: {e}", file=sys.stderr)
        return 2
    except EndpointError as e:
        print(f"funrl.eval bfcl: {e}", file=sys.stderr)
        return 1
    print(markdown_report(report))
    print(f"report: {args.out}/report.json, {args.out}/report.md; per entry: {args.out}/results.jsonl")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
