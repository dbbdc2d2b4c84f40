"""``python -m funrl.data_prep <stage> [--config FILE] [key.sub=value ...]``

Stages: read, generate (stage 0), judge (stage 1), validate (stage 2), final_judge (the final LLM evaluation,
with final_judge.enabled=true), export, all (every one in order);
``demo --out DIR`` runs all of them on the bundled sample against a scripted loopback judge;
``multi_turn --config FILE`` synthesizes multi-turn data (FunReason-MT), ``multi_turn_demo --out DIR`` on toy
scripted roles;
``convert --input FILE [--reader xlam|bfcl|chat] [--possible-answers FILE] --out DIR [--val-fraction F]
[--tokenizer DIR]``
turns rows with reference calls into rl.parquet / sft.parquet with no teacher or judge (validated with
funrl.reward);
``refine --config FILE [--stop-after R:STEP]`` runs FunReason's self-refinement loop (docs/self_refine.md):
per round, serve the checkpoint, sample it through the training prompt, FCDR with a separate judge, export,
SRML SFT; a rerun resumes at the first unfinished step.
Exit status: 0 done, 2 bad configuration or input, 3 an endpoint failed after its retries (rerun the
same command to resume from the journal), 4 the run finished but its output is empty or one cause dropped
more than guard.max_drop_rate (the summary names it; fix it and rerun the same command to resume), or
(refine) a round cannot go on: it exported no rows, or its server or training failed (the message names the
round and the cause).
"""

from __future__ import annotations

import argparse
import signal
import sys

from .client import EndpointError
from .config import INPUT_FORMATS, ConfigError, InputConfig, load_config
from .convert import run_convert
from .guard import RunFailed
from .pipeline import RUNNERS, StageInputMissing, run_all
from .refine_serve import RefineFailed
from .report import format_report

#: ``multi_turn --config FILE`` and ``multi_turn_demo --out DIR`` (docs/data_prep_multi_turn.md)
MULTI_TURN_STAGES = ("multi_turn", "multi_turn_demo")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m funrl.data_prep",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="FunRL data preparation: LLM judge iteration + AST validation. "
        + __doc__.split("\n", 2)[2],
    )
    parser.add_argument("stage", choices=[*RUNNERS, "all", "demo", "convert", "refine", *MULTI_TURN_STAGES])
    parser.add_argument("--config", help="YAML config file (see docs/data_prep.md)")
    parser.add_argument("--out", help="demo and convert: the output directory")
    parser.add_argument("--input", help="convert: the input file")
    parser.add_argument("--reader", default="xlam", choices=INPUT_FORMATS, help="convert: the input format")
    parser.add_argument("--possible-answers", help="convert --reader bfcl: the possible-answer JSONL")
    parser.add_argument(
        "--tokenizer", help="convert: the target tokenizer dir (SFT rows over output.max_length are dropped)"
    )
    parser.add_argument("--val-fraction", type=float, default=0.0, help="convert: share of samples for val")
    parser.add_argument(
        "--stop-after",
        help="refine: stop after this round's step, e.g. 2:export (a rerun goes on from there)",
    )
    parser.add_argument("overrides", nargs="*", help="dotted overrides, e.g. judge.max_rounds=2")
    args = parser.parse_intermixed_args(argv)
    try:
        # FunReason-MT multi-turn synthesis (data_prep/multi_turn): its own config, same exit statuses
        if args.stage in MULTI_TURN_STAGES:
            from .multi_turn.demo import run_cli

            return run_cli(args.stage, args.config, args.out, args.overrides)
        if args.stage == "demo":
            from .demo import run_demo  # imports the loopback server only when asked

            if not args.out:
                parser.error("demo needs --out DIR")
            run_demo(args.out, args.overrides)
            return 0
        if args.stage == "refine":
            return _refine(args.config, args.overrides, args.stop_after)
        cfg = load_config(args.config, args.overrides)
        if args.stage == "convert":
            if not args.input or not args.out:
                parser.error("convert needs --input FILE and --out DIR")
            if not 0.0 <= args.val_fraction < 1.0:
                parser.error(f"--val-fraction must be within [0, 1), got {args.val_fraction}")
            inp = InputConfig(path=args.input, format=args.reader, possible_answers=args.possible_answers)
            cfg.inputs = [inp]
            if args.tokenizer:
                cfg.output.tokenizer = args.tokenizer
            cfg.check()
            print(format_report(run_convert(cfg.inputs, args.out, cfg, args.val_fraction)))
            return 0
        if args.stage == "all":
            run_all(cfg, echo=print)
        else:
            stats = RUNNERS[args.stage](cfg)
            print(format_report({args.stage: stats}) if args.stage != "export" else format_report(stats))
        return 0
    except (ConfigError, StageInputMissing, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except EndpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except (RunFailed, RefineFailed) as e:
        print(f"error: {e}", file=sys.stderr)
        return 4


def _refine(config: str | None, overrides: list[str], stop_after: str | None) -> int:
    """``refine``: the self-refinement loop (imported only when asked)."""
    from .refine import run_refine
    from .refine_config import load_refine_config

    stop = None
    if stop_after is not None:
        rnd, _, step = stop_after.partition(":")
        if not rnd.isdigit() or not step:
            raise ConfigError(f"--stop-after must look like ROUND:STEP (e.g. 2:export), got {stop_after!r}")
        stop = (int(rnd), step)
    cfg = load_refine_config(config, overrides)
    if stop is not None:
        from .refine import round_steps

        if stop[1] not in round_steps(cfg):
            raise ConfigError(f"--stop-after: {stop[1]!r} is not a step; steps: {round_steps(cfg)}")
    # SIGTERM unwinds like an exception, so the server a round started is stopped on the way out
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        run_refine(cfg, stop_after=stop)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
