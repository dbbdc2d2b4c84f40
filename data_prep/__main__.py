"""``python -m funrl.data_prep <stage> [--config FILE] [key.sub=value ...]``

Stages: read, generate (stage 0), judge (stage 1), validate (stage 2), export, all (every one in order);
``demo --out DIR`` runs all of them on the bundled sample against a scripted loopback judge.
Exit status: 0 done, 2 bad configuration or input, 3 an endpoint failed after its retries (rerun the
same command to resume from the journal), 4 the run finished but its output is empty or one cause dropped
more than guard.max_drop_rate (the summary names it; fix it and rerun the same command to resume).
"""

from __future__ import annotations

import argparse
import sys

from .client import EndpointError
from .config import ConfigError, load_config
from .guard import RunFailed
from .pipeline import RUNNERS, StageInputMissing, run_all
from .report import format_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m funrl.data_prep",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="FunRL data preparation: LLM judge iteration + AST validation. "
        + __doc__.split("\n", 2)[2],
    )
    parser.add_argument("stage", choices=[*RUNNERS, "all", "demo"])
    parser.add_argument("--config", help="YAML config file (see docs/data_prep.md)")
    parser.add_argument("--out", help="demo only: the work directory")
    parser.add_argument("overrides", nargs="*", help="dotted overrides, e.g. judge.max_rounds=2")
    args = parser.parse_intermixed_args(argv)
    try:
        if args.stage == "demo":
            from .demo import run_demo  # imports the loopback server only when asked

            if not args.out:
                parser.error("demo needs --out DIR")
            run_demo(args.out, args.overrides)
            return 0
        cfg = load_config(args.config, args.overrides)
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
    except RunFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 4


if __name__ == "__main__":
    sys.exit(main())
