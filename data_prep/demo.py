"""The demo: every stage on the bundled sample, against the scripted loopback teacher + judge.

    python -m funrl.data_prep demo --out /tmp/prep_demo

The bundled files in ``samples/`` were written for FunRL (not copied from any dataset): xLAM-style
rows, BFCL-style entries with possible answers, and chat rows with tool calls, including a few
deliberately malformed rows (quarantined) and flawed references (dropped by stage 2).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from funrl.toy.scripted_server import OpenAIServer

from .config import Config, EndpointConfig, InputConfig, load_config
from .pipeline import run_all
from .readers import read_input
from .records import Sample
from .scripted_endpoints import ScriptedTeacherJudge

# Which samples the scripted teacher gets wrong, to show regeneration and discarding.
WRONG_FIRST = ("demo_xlam:2", "demo_xlam:5", "demo_chat:1")
STUBBORN = ("demo_xlam:7",)


def demo_inputs() -> list[InputConfig]:
    root = resources.files("funrl.data_prep") / "samples"
    return [
        InputConfig(path=str(root / "demo_xlam.json"), format="xlam"),
        InputConfig(path=str(root / "demo_chat.jsonl"), format="chat"),
        InputConfig(
            path=str(root / "demo_bfcl.jsonl"),
            format="bfcl",
            possible_answers=str(root / "demo_bfcl_answers.jsonl"),
        ),
    ]


def run_demo(out: str | Path, overrides: list[str] | tuple[str, ...] = (), *, echo=print) -> dict:
    """Starts the loopback server, runs all stages into ``out``, returns the report."""
    cfg: Config = load_config(None, [f"work_dir={out}", *overrides])
    if not cfg.inputs:
        cfg.inputs = demo_inputs()
    samples = [s for inp in cfg.inputs for s in read_input(inp) if isinstance(s, Sample)]
    model = ScriptedTeacherJudge(samples, wrong_first=WRONG_FIRST, stubborn=STUBBORN)
    with OpenAIServer(model) as server:
        # one loopback server plays both roles (it tells them apart by the prompt); the judge is a separate
        # endpoint all the same (a distinct model name), as every judge must be
        cfg.judge.endpoint = cfg.judge.endpoint or EndpointConfig()
        for ep, model in (
            (cfg.generate.endpoint, "loopback-teacher"),
            (cfg.judge.endpoint, "loopback-judge"),
        ):
            ep.base_url, ep.model, ep.backoff_initial_s, ep.concurrency = server.base_url, model, 0.05, 8
        report = run_all(cfg, echo=echo)
        if server.errors:
            raise RuntimeError("the loopback responder failed:\n" + server.errors[0])
    echo(f"\nwrote {Path(out) / 'sft.parquet'}, {Path(out) / 'rl.parquet'}, {Path(out) / 'report.json'}")
    return report
