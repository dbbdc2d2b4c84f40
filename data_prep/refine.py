"""FunReason's self-refinement loop as one command: ``python -m funrl.data_prep refine --config FILE``.

After the SRML SFT, the trained model samples its own CoT + calls on the training queries, those go
through FCDR, and only what passes trains the next round (FunReason, arXiv 2505.20192). A round r:

    sample       serve round r's checkpoint (serve.command, or serve.endpoint: a server you run), then
                 data prep's read + generate stages: the training prompt, show_reference false
    judge        FCDR's checks with the separate judge (regenerations ask the served model again)
    validate     AST validation (funrl.reward)
    final_judge  FunRL's final evaluation (only with data_prep.final_judge.enabled)
    export       round_<r>/prep/sft.parquet: the next SFT data
    train        train.command (SRML SFT) from round r's checkpoint on that parquet; its last
                 global_step_*/huggingface checkpoint is round r+1's model

    work_dir/round_<r>/prep/          the round's data prep work dir (journal.sqlite: resumable requests)
    work_dir/round_<r>/train/         the trainer's output (trainer.default_local_dir)
    work_dir/round_<r>/done/<step>    a marker per finished step
    work_dir/round_<r>/round.json     the round's report; work_dir/report.json: every finished round

A rerun of the same command skips finished steps and resumes at the first unfinished step of the first
unfinished round; inside data prep stages the journal answers every request already answered.
"""

from __future__ import annotations

import copy
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from .config import Config
from .guard import RunFailed
from .journal import Journal
from .pipeline import RUNNERS
from .prompts import VerdictError, parse_verdict
from .records import write_json
from .refine_config import RefineConfig, check_separate_judge
from .refine_serve import RefineFailed, Served, run_logged, serve_checkpoint

__all__ = ["RefineFailed", "round_steps", "run_refine"]

SERVED_STEPS = ("sample", "judge")  # the steps that ask the round's model


def round_steps(cfg: RefineConfig) -> tuple[str, ...]:
    final = ("final_judge",) if cfg.data_prep.final_judge.enabled else ()
    return ("sample", "judge", "validate", *final, "export", "train")


class Round:
    """One round's paths, markers and report."""

    def __init__(self, cfg: RefineConfig, r: int) -> None:
        self.cfg, self.r = cfg, r
        self.dir = Path(cfg.work_dir).resolve() / f"round_{r}"
        self.prep_dir, self.train_dir = self.dir / "prep", self.dir / "train"

    def done(self, step: str) -> bool:
        return (self.dir / "done" / step).is_file()

    def mark(self, step: str) -> None:
        (self.dir / "done").mkdir(parents=True, exist_ok=True)
        (self.dir / "done" / step).write_text(time.strftime("%Y-%m-%dT%H:%M:%S") + "\n")

    def finished(self) -> bool:
        return all(self.done(step) for step in round_steps(self.cfg))

    def report(self) -> dict:
        path = self.dir / "round.json"
        return json.loads(path.read_text()) if path.is_file() else {"round": self.r}

    def update(self, **entries: object) -> dict:
        report = {**self.report(), **entries}
        write_json(self.dir / "round.json", report)
        return report

    def checkpoint(self) -> str:
        """The model this round samples with: the configured one, else the previous round's output."""
        if self.r == 1:
            return str(Path(self.cfg.checkpoint).resolve())
        previous = Round(self.cfg, self.r - 1).report().get("output_checkpoint")
        if not previous:
            raise RefineFailed(f"round {self.r}: round {self.r - 1} recorded no output checkpoint")
        return previous

    def prep_config(self, served: Served | None) -> Config:
        """The data prep config of this round: the configured one, on this round's work dir and model."""
        prep = copy.deepcopy(self.cfg.data_prep)
        prep.work_dir = str(self.prep_dir)
        if served is not None:
            prep.generate.endpoint.base_url = served.base_url
            prep.generate.endpoint.model = served.model
        return prep


def run_refine(
    cfg: RefineConfig, *, stop_after: tuple[int, str] | None = None, echo: Callable[[str], None] = print
) -> list[dict]:
    """Every unfinished round (or up to ``stop_after`` = (round, step)); returns the round reports."""
    for r in range(1, cfg.rounds + 1):
        rnd = Round(cfg, r)
        if rnd.finished():
            echo(f"[refine] round {r}: done before, skipped")
        else:
            _run_round(rnd, stop_after, echo)
        if stop_after is not None and stop_after[0] == r:
            break
    reports = [Round(cfg, r).report() for r in range(1, cfg.rounds + 1) if Round(cfg, r).dir.is_dir()]
    write_json(Path(cfg.work_dir) / "report.json", {"rounds": reports})
    return reports


def _run_round(rnd: Round, stop_after: tuple[int, str] | None, echo: Callable[[str], None]) -> None:
    cfg, steps = rnd.cfg, round_steps(rnd.cfg)
    rnd.dir.mkdir(parents=True, exist_ok=True)
    checkpoint = rnd.checkpoint()
    rnd.update(checkpoint=checkpoint)
    todo = [s for s in steps if not rnd.done(s)]
    if stop_after is not None and stop_after[0] == rnd.r and rnd.done(stop_after[1]):
        todo = []  # the step to stop after is done already: nothing to run in this round
    echo(f"[refine] round {rnd.r}: {checkpoint}; steps to run: {', '.join(todo)}")
    served: Served | None = None
    try:
        for step in todo:
            if step in SERVED_STEPS and served is None:
                served = serve_checkpoint(cfg.serve, checkpoint, rnd.dir, f"round {rnd.r}")
                check_separate_judge(cfg.data_prep, served.base_url)
                rnd.update(served_model=served.model)
            if step not in SERVED_STEPS and served is not None:
                served.stop()
                served = None
            started = time.monotonic()
            _STEP_RUNNERS[step](rnd, served)
            rnd.mark(step)
            echo(f"[refine] round {rnd.r}: {step} done in {time.monotonic() - started:.1f} s")
            if stop_after == (rnd.r, step):
                echo(f"[refine] stopped after round {rnd.r} {step} (--stop-after)")
                return
    finally:
        if served is not None:
            served.stop()
    echo(f"[refine] round {rnd.r}: {_summary(rnd.report())}")


def _sample(rnd: Round, served: Served | None) -> None:
    prep = rnd.prep_config(served)
    RUNNERS["read"](prep)
    stats = RUNNERS["generate"](prep)
    rnd.update(samples_asked=stats["candidates"], generate_dropped=stats["drop_reasons"])


def _judge(rnd: Round, served: Served | None) -> None:
    prep = rnd.prep_config(served)
    stats = RUNNERS["judge"](prep)
    fcdr = {k: stats[k] for k in ("accepted", "kept_non_call", "dropped", "drop_reasons")}
    rnd.update(fcdr={**fcdr, "verdicts": verdict_counts(rnd.prep_dir / "journal.sqlite")})


def _validate(rnd: Round, served: Served | None) -> None:
    stats = RUNNERS["validate"](rnd.prep_config(None))
    rnd.update(validate={k: stats[k] for k in ("passed", "dropped", "drop_reasons")})


def _final_judge(rnd: Round, served: Served | None) -> None:
    stats = RUNNERS["final_judge"](rnd.prep_config(None))
    rnd.update(final_judge={k: stats[k] for k in ("passed", "dropped", "drop_reasons")})


def _export(rnd: Round, served: Served | None) -> None:
    try:
        report = RUNNERS["export"](rnd.prep_config(None))
    except RunFailed as e:
        raise RefineFailed(f"round {rnd.r}: {e}\n{_drops_line(rnd)}") from None
    rows = report["export"]["sft_rows"]
    rnd.update(exported_sft_rows=rows, exported_rl_rows=report["export"]["rl_rows"])
    if rows == 0:
        raise RefineFailed(f"round {rnd.r} exported 0 SFT rows: nothing to train on. {_drops_line(rnd)}")


def _drops_line(rnd: Round) -> str:
    causes: Counter = Counter()
    for name in ("generate", "judge", "validate", "final_judge", "export"):
        path = rnd.prep_dir / f"{name}.stats.json"
        if path.is_file():
            causes.update(json.loads(path.read_text()).get("drop_reasons", {}))
    listed = ", ".join(f"{reason} {n}" for reason, n in causes.most_common()) or "none recorded"
    return f"Drop causes of round {rnd.r}: {listed} (details: {rnd.prep_dir}/*.drops.jsonl)"


def _train(rnd: Round, served: Served | None) -> None:
    cfg = rnd.cfg
    sft = rnd.prep_dir / "sft.parquet"
    argv = [arg.format(**_fields(rnd)) for arg in cfg.train.command]
    argv += [*cfg.train.overrides]
    argv += [
        f"model.path={rnd.checkpoint()}",
        f"data.train_files={sft}",
        f"trainer.default_local_dir={rnd.train_dir}",
    ]
    started = time.monotonic()
    output = run_logged(argv, rnd.dir / "train.log", f"round {rnd.r}: the training command")
    seconds = time.monotonic() - started
    out_ckpt = latest_hf_checkpoint(rnd.train_dir)
    if out_ckpt is None:
        raise RefineFailed(
            f"round {rnd.r}: the training command finished but wrote no global_step_*/huggingface "
            f"checkpoint under {rnd.train_dir} (does checkpoint.save_contents include hf_model?)"
        )
    rnd.update(train={"seconds": round(seconds, 1), "command": argv, **loss_summary(output)})
    rnd.update(output_checkpoint=str(out_ckpt))


def _fields(rnd: Round) -> dict[str, str]:
    """The train command's placeholders (no server: port and host are empty)."""
    return {
        "python": sys.executable,
        "checkpoint": rnd.checkpoint(),
        "port": "",
        "host": "",
        "round_dir": str(rnd.dir),
    }


_STEP_RUNNERS: dict[str, Callable[[Round, Served | None], None]] = {
    "sample": _sample,
    "judge": _judge,
    "validate": _validate,
    "final_judge": _final_judge,
    "export": _export,
    "train": _train,
}


def latest_hf_checkpoint(train_dir: Path) -> Path | None:
    """``<train_dir>/global_step_<N>/huggingface`` of the newest step that has one (verl's SFT layout)."""
    steps = sorted(train_dir.glob("global_step_*"), key=lambda p: int(p.name.rsplit("_", 1)[1]))
    for step in reversed(steps):
        if (step / "huggingface" / "config.json").is_file():
            return step / "huggingface"
    return None


_STEP_RE = re.compile(r"step:(\d+) - (.*)")
LOSS_KEYS = ("train/loss", "train/L_total", "train/L_think", "train/L_call")


def loss_summary(console: str) -> dict:
    """The first and last logged step's losses from verl's console logger (``step:N - key:value - ...``);
    empty when the run logged no console lines (trainer.logger without console)."""
    rows = []
    for match in _STEP_RE.finditer(console):
        metrics: dict[str, float] = {}
        for item in match.group(2).split(" - "):
            key, _, value = item.partition(":")
            if key.strip() in LOSS_KEYS:
                try:
                    metrics[key.strip()] = float(value)
                except ValueError:
                    continue
        rows.append((int(match.group(1)), metrics))
    if not rows:
        return {"steps": None}
    return {"steps": rows[-1][0], "loss_first": rows[0][1], "loss_last": rows[-1][1]}


def verdict_counts(journal_path: Path) -> dict[str, dict[str, int]]:
    """Per FCDR check, the judge's journaled verdicts: pass / fail / unparsable / error."""
    counts: dict[str, Counter] = {}
    journal = Journal(journal_path)
    try:
        for entry in journal.entries():
            if not entry.logical_id.startswith("judge/"):
                continue
            check = entry.logical_id.rsplit("/", 2)[-2]
            if entry.error is not None:
                verdict = "error"
            else:
                try:
                    verdict = "pass" if parse_verdict(entry.content or "")[0] else "fail"
                except VerdictError:
                    verdict = "unparsable"
            counts.setdefault(check, Counter())[verdict] += 1
    finally:
        journal.close()
    return {check: dict(sorted(c.items())) for check, c in sorted(counts.items())}


def _summary(report: dict) -> str:
    fcdr, train = report.get("fcdr", {}), report.get("train", {})
    loss = train.get("loss_last", {})
    return (
        f"asked {report.get('samples_asked')}, FCDR accepted {fcdr.get('accepted')} "
        f"(+{fcdr.get('kept_non_call')} non-call), validated {report.get('validate', {}).get('passed')}, "
        f"exported {report.get('exported_sft_rows')} SFT rows, trained {train.get('seconds')} s "
        f"(last loss {loss}) -> {report.get('output_checkpoint')}"
    )
