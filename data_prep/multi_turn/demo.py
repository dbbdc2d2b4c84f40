"""The command line of the multi-turn pipeline and its toy demo.

    python -m funrl.data_prep multi_turn --config FILE [key.sub=value ...]
    python -m funrl.data_prep multi_turn_demo --out DIR [key.sub=value ...]

The demo runs the whole pipeline on generated states against the scripted roles (``scripted``) on a
loopback server: a few trajectories in seconds, with a reasoner that fails some rounds until a critic's
hint (targets ``cancel_order``, ``diff``), breaks the format (``withdraw_funds``) and never passes
others (``get_transaction_history``: a trajectory dropped at its first round; ``grep``: one cut
after its first round), so every path shows up in the report.
"""

from __future__ import annotations

from pathlib import Path

from funrl.toy.scripted_server import OpenAIServer

from .config import load_config
from .pipeline import run_multi_turn
from .scripted import ScriptedRoles

DEMO_SETTINGS = (
    "trajectories=8",
    "class_sets=[[GorillaFileSystem, TradingBot], [TradingBot, MathAPI], [GorillaFileSystem]]",
    "walk.rounds=3",
)


def demo_roles() -> ScriptedRoles:
    return ScriptedRoles(
        wrong_first={"cancel_order", "diff"},
        stubborn={"get_transaction_history", "grep"},
        bad_format={"withdraw_funds"},
    )


def run_demo(out: str | Path, overrides: list[str] | tuple[str, ...] = (), *, echo=print) -> dict:
    """Starts the loopback server, runs the pipeline into ``out``, returns the report."""
    with OpenAIServer(demo_roles()) as server:
        settings = [f"work_dir={out}", *DEMO_SETTINGS, f"query_writer.base_url={server.base_url}"]
        settings += [
            "query_writer.model=loopback",
            "query_writer.concurrency=8",
            "query_writer.backoff_initial_s=0.05",
        ]
        cfg = load_config(None, [*settings, *overrides])
        report = run_multi_turn(cfg, echo=echo)
        if server.errors:
            raise RuntimeError("the loopback responder failed:\n" + server.errors[0])
    echo(
        f"\nwrote {Path(out) / 'sft.parquet'}, {Path(out) / 'rl_multi_turn.jsonl'}, {Path(out) / 'report.json'}"
    )
    return report


def run_cli(stage: str, config: str | None, out: str | None, overrides: list[str]) -> int:
    """``multi_turn`` (needs --config) or ``multi_turn_demo`` (needs --out); errors propagate to the
    data prep entry point, which maps them to its exit statuses (2 config, 3 endpoint, 4 empty run)."""
    from ..config import ConfigError

    if stage == "multi_turn_demo":
        if not out:
            raise ConfigError("multi_turn_demo needs --out DIR")
        run_demo(out, overrides)
        return 0
    if not config and not overrides:
        raise ConfigError("multi_turn needs --config FILE (see data_prep/samples/multi_turn/multi_turn.yaml)")
    cfg = load_config(config, overrides)
    if out:
        cfg.work_dir = out
    run_multi_turn(cfg, echo=print)
    return 0
