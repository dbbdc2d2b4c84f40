"""The whole FunRL pipeline at toy scale on CPU, in one command (a few minutes on 2 cores).

    python -m funrl.demo --out /tmp/funrl_demo

1. data prep on the bundled sample with the scripted loopback judge (``python -m funrl.data_prep demo``);
2. a tiny randomly initialised Qwen2 (2 layers, hidden 128, 0.4 M parameters) with a BPE tokenizer built
   locally on the bundled sample and the SFT messages (``funrl.toy.tiny_qwen2``; nothing is
   downloaded);
3. 300 SRML SFT steps (``python -m funrl.train +recipe=sft_srml hardware=cpu``), the warm start, on a
   deliberately imperfect copy of the SFT parquet (``funrl.toy.imperfect_sft``: FCDR's 13 conversations
   plus 22 whose answer carries the scripted teacher's mistake, as SFT on unfiltered teacher data would
   train on): the model answers in the trained format, ``<think>...</think><answer>[calls]</answer>``,
   right about a third of the time;
4. 10 entropy-GRPO steps from that checkpoint through verl's real PPO trainer with the ``funrl_hf``
   CPU rollout engine (``python -m funrl.train +recipe=grpo_entropy_cpu`` with ``DEMO_GRPO_OVERRIDES``:
   8 prompts x 4 samples, top-k 3, lr 2e-4), W&B offline. The warm-started model gets some answers right
   (reward 1) and some wrong (0) for the same prompt, so GRPO's advantages are non-zero, the CoT entropy
   bonus is added to them, and the reward rises (measured 0.44 -> 0.67, steps 1-3 -> 8-10);
5. the curves PNG (``python -m funrl.curves``) and the reward's report on the last step's rollouts
   (``python -m funrl.reward score``);
6. multi-turn RL (issue #17; ``--no-multi-turn`` skips it): a second tiny Qwen2, its tokenizer trained on
   the prompts of two BFCL base entries, warm-started on their ground-truth conversations
   (``python -m funrl.rl.multi_turn.warm_start``, 100 full-batch steps on one thread, run in the
   background alongside stages 1-3, which use one core), then, as soon as that is done and beside stages 3-4, 2 entropy-GRPO steps through the
   ``bfcl_multi_turn`` agent loop in BFCL's environments (``python -m funrl.train
   +recipe=grpo_entropy_multi_turn_cpu``): 2 entries x 4 trajectories a step, reward ``turn_mean``; the
   warm-started model passes some turns and fails others, so the bonus acts there too.

Each stage is the real command, run as a subprocess with its output in ``<out>/logs/<stage>.log``; the
demo prints where the logs, checkpoints and curves are, and per GRPO step the reward and the entropy
bonus's statistics (per multi-turn step also the turns passed and reached). The models only memorise
a few answers and the 2 conversations: the point is that every stage runs, end to end, on the code a GPU
cluster runs, with the bonus acting and GRPO improving the single-turn reward. Exit status 0 on success, 1 with the
failing stage's log tail otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

SFT_STEPS = 300
# 8 prompts x 4 samples a step (funrl.toy.imperfect_sft.DEMO_GRPO_OVERRIDES), ~5.5 s a step on an idle
# 2-core machine after ~55 s of Ray and model start-up. From the imperfect warm start the reward rises
# over these steps (docs/cpu_demo.md, "What GRPO does to the warm-started model": ~0.3 -> ~0.7)
GRPO_STEPS = 10
# the tiny model: big enough to learn the 13 SFT answers in SFT_STEPS steps (hidden 64 is not)
HIDDEN_SIZE = 128
NUM_LAYERS = 2
# BPE vocabulary, trained on the bundled sample plus the demo's SFT messages (prompts ~280 tokens,
# answers <= 94 instead of ~650 and <= 214 with the sample alone)
VOCAB_SIZE = 1024
# the multi-turn stage (issue #17): a tiny model warm-started on two BFCL base entries
# (funrl.rl.multi_turn.warm_start), then grpo_entropy_multi_turn_cpu through the bfcl_multi_turn loop
MT_WARM_STEPS = 100
MT_WARM_LR = 3e-3
MT_GRPO_STEPS = 2
# trajectories per entry: with the recipe's 2, one demo-stage run in five had no mixed group in either
# step, so no bonus (docs/cpu_demo.md, "The multi-turn stage")
MT_GROUP_SIZE = 4
# top-k sampling, as the single-turn stage's DEMO_GRPO_OVERRIDES: the warm-started model's replies are
# well formed more often (at full temperature-1 sampling one step in two had every group all 0: no bonus;
# with top-k 3 both groups of steps 1-2 were mixed, reward 0.22-0.25)
MT_TOP_K = 3
MT_TOOL_CHARS = 2000  # the CPU recipe's bfcl_multi_turn.max_tool_output_chars


class Running:
    """A stage started in the background (``start_stage``); ``finish_stage`` waits for it."""

    def __init__(self, name: str, cmd: Sequence[str], log: Path, proc: subprocess.Popen, fh) -> None:
        self.name, self.cmd, self.log, self.proc, self.fh = name, cmd, log, proc, fh
        self.start = time.time()


def start_stage(
    name: str, cmd: Sequence[str], *, out: Path, cwd: Path | None = None, env: dict | None = None
) -> Running:
    """Start one stage; its output goes to ``out/logs/<name>.log``."""
    log = out / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"[funrl.demo] {name}: {' '.join(cmd)}", flush=True)
    fh = log.open("w")
    proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT)
    return Running(name, cmd, log, proc, fh)


def finish_stage(run: Running) -> float:
    """Wait for a started stage. Returns its seconds (to its end: the log's last write if it had ended
    before this call); exits on failure."""
    ended_before = run.proc.poll() is not None
    returncode = run.proc.wait()
    run.fh.close()
    seconds = (run.log.stat().st_mtime if ended_before else time.time()) - run.start
    if returncode != 0:
        tail = run.log.read_text(errors="replace").splitlines()[-40:]
        print("\n".join(tail), file=sys.stderr)
        print(f"[funrl.demo] {run.name} failed (exit {returncode}); full log: {run.log}", file=sys.stderr)
        sys.exit(1)
    print(f"[funrl.demo] {run.name}: done in {seconds:.0f} s (log {run.log})", flush=True)
    return seconds


def _stage(
    name: str, cmd: Sequence[str], *, out: Path, cwd: Path | None = None, env: dict | None = None
) -> float:
    """Run one stage; its output goes to ``out/logs/<name>.log``. Returns seconds; exits on failure."""
    return finish_stage(start_stage(name, cmd, out=out, cwd=cwd, env=env))


def run_env(**extra: str) -> dict[str, str]:
    """The stages' environment: W&B offline, ``extra`` added, an empty ``CUDA_VISIBLE_DEVICES`` unset."""
    env = {**os.environ, "WANDB_MODE": "offline", **extra}
    if env.get("CUDA_VISIBLE_DEVICES") == "":
        del env["CUDA_VISIBLE_DEVICES"]  # empty breaks verl's resource check; unset is what the CPU run needs
    return env


def latest_hf_checkpoint(ckpt_dir: Path) -> Path:
    """``<ckpt_dir>/global_step_<N>/huggingface`` of the newest step (verl's SFT checkpoint layout)."""
    steps = sorted(ckpt_dir.glob("global_step_*"), key=lambda p: int(p.name.rsplit("_", 1)[1]))
    if not steps or not (steps[-1] / "huggingface" / "config.json").exists():
        raise FileNotFoundError(f"no global_step_*/huggingface checkpoint with weights under {ckpt_dir}")
    return steps[-1] / "huggingface"


def message_texts(sft_parquet: Path) -> list[str]:
    """Every message's content in an SFT parquet (``messages`` column): tokenizer training text."""
    import pyarrow.parquet as pq

    rows = pq.read_table(sft_parquet, columns=["messages"]).to_pylist()
    return [message["content"] for row in rows for message in row["messages"]]


def demo_model(directory: Path, sft_parquet: Path) -> Path:
    """The demo's randomly initialised tiny Qwen2 and its tokenizer (trained on the sample and the SFT
    messages) in ``directory``; returns it."""
    from funrl.toy import tiny_qwen2

    return tiny_qwen2(
        directory,
        hidden_size=HIDDEN_SIZE,
        num_layers=NUM_LAYERS,
        vocab_size=VOCAB_SIZE,
        extra_texts=message_texts(sft_parquet),
    )


def sft_command(
    model: Path, sft_parquet: Path, out_dir: Path, *, steps: int = SFT_STEPS, batch_size: int = 4
) -> list[str]:
    """The SRML SFT warm start on CPU (``python -m funrl.train +recipe=sft_srml hardware=cpu``): ``steps``
    steps of 4 conversations at lr 3e-3 (cosine, no warm-up), a Hugging Face checkpoint in
    ``out_dir/global_step_<steps>/huggingface``. Enough steps (~300) make the tiny model reproduce most
    SFT answers when sampled at temperature 1, so GRPO groups get both rewards."""
    return [
        sys.executable,
        "-m",
        "funrl.train",
        "+recipe=sft_srml",
        "hardware=cpu",
        f"model.path={model}",
        f"data.train_files={sft_parquet}",
        f"data.train_batch_size={batch_size}",
        "data.use_dynamic_bsz=false",
        f"data.micro_batch_size_per_gpu={batch_size}",
        "data.max_length=2048",
        f"trainer.total_training_steps={steps}",
        "trainer.total_epochs=1000",  # a few batches per epoch: the step count decides
        "trainer.save_freq=-1",  # verl always saves after the last step
        "trainer.resume_mode=disable",
        "trainer.logger=[console,file]",  # file: VERL_FILE_LOGGER_PATH, for the curves
        "optim.lr=3e-3",
        "optim.lr_warmup_steps_ratio=0",
        f"trainer.default_local_dir={out_dir}",
    ]


def grpo_command(
    model: Path, rl_parquet: Path, out_dir: Path, steps: int, overrides: Sequence[str] = ()
) -> list[str]:
    """``python -m funrl.train +recipe=grpo_entropy_cpu`` from ``model`` on ``rl_parquet`` for ``steps``
    steps, checkpoints in ``out_dir/checkpoints`` and verl's rollout dumps in ``out_dir/rollouts``, then
    ``overrides`` (the demo passes ``funrl.toy.imperfect_sft.DEMO_GRPO_OVERRIDES``)."""
    return [
        sys.executable,
        "-m",
        "funrl.train",
        "+recipe=grpo_entropy_cpu",
        f"actor_rollout_ref.model.path={model}",
        f"data.train_files={rl_parquet}",
        f"data.val_files={rl_parquet}",
        f"trainer.total_training_steps={steps}",
        f"trainer.default_local_dir={out_dir / 'checkpoints'}",
        f"trainer.rollout_data_dir={out_dir / 'rollouts'}",
        "trainer.resume_mode=disable",
        *overrides,
    ]


def multi_turn_prep_command(
    out_dir: Path, *, steps: int = MT_WARM_STEPS, lr: float = MT_WARM_LR
) -> list[str]:
    """``python -m funrl.rl.multi_turn.warm_start``: ``out_dir/train.parquet`` (two BFCL base entries),
    ``out_dir/model`` (a tiny Qwen2 whose tokenizer covers their prompts, warm-started on their
    ground-truth conversations) and ``out_dir/warm_start.json``."""
    return [
        sys.executable,
        "-m",
        "funrl.rl.multi_turn.warm_start",
        "--out",
        str(out_dir),
        f"--steps={steps}",
        f"--lr={lr}",
        f"--max_tool_output_chars={MT_TOOL_CHARS}",
    ]


def multi_turn_command(prep_dir: Path, out_dir: Path, *, steps: int = MT_GRPO_STEPS) -> list[str]:
    """``python -m funrl.train +recipe=grpo_entropy_multi_turn_cpu`` on ``prep_dir``'s model and rows:
    ``steps`` GRPO steps of 2 entries x ``MT_GROUP_SIZE`` trajectories through the ``bfcl_multi_turn`` loop,
    checkpoints in ``out_dir/checkpoints``; console and file loggers (no W&B run: the curves read the
    single-turn one)."""
    return [
        sys.executable,
        "-m",
        "funrl.train",
        "+recipe=grpo_entropy_multi_turn_cpu",
        f"actor_rollout_ref.model.path={prep_dir / 'model'}",
        f"data.train_files={prep_dir / 'train.parquet'}",
        f"data.val_files={prep_dir / 'train.parquet'}",
        "data.max_prompt_length=4096",  # first prompts ~3,400 tokens
        "data.max_response_length=1024",
        "bfcl_multi_turn.max_step_tokens=96",  # a warm-started reply is <= ~80 tokens
        f"bfcl_multi_turn.max_tool_output_chars={MT_TOOL_CHARS}",
        f"actor_rollout_ref.rollout.n={MT_GROUP_SIZE}",
        f"actor_rollout_ref.rollout.top_k={MT_TOP_K}",
        f"trainer.total_training_steps={steps}",
        f"trainer.default_local_dir={out_dir / 'checkpoints'}",
        "trainer.logger=[console,file]",
        "trainer.resume_mode=disable",
    ]


def print_multi_turn_summary(metrics: Path) -> None:
    """Per multi-turn GRPO step: the rewards, the turns passed and reached, and the entropy bonus."""
    for row in [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]:
        m = row["data"]

        def get(key: str, m=m) -> float:
            return m.get(key, float("nan"))

        print(
            f"[funrl.demo] multi-turn GRPO step {row['step']}: reward (turn_mean) {get('critic/score/mean'):.3f} "
            f"(min {get('critic/score/min'):.2f}, max {get('critic/score/max'):.2f}), "
            f"turns passed {get('funrl/multi_turn/turns_passed'):.2f}, "
            f"reached {get('funrl/multi_turn/turns_reached'):.2f}, "
            f"well-formed replies {get('funrl/multi_turn/format_share'):.2f}, "
            f"entropy bonus {get('funrl/entropy_bonus_mean'):.4f}, "
            f"all_equal_group_frac {get('funrl/all_equal_group_frac'):.2f}, "
            f"step {get('timing_s/step'):.1f} s",
            flush=True,
        )


def print_step_summary(sft_metrics: Path, grpo_metrics: Path) -> None:
    """The SFT loss at the first and last step, and per GRPO step the reward and the entropy bonus."""
    sft_rows = [json.loads(line) for line in sft_metrics.read_text().splitlines() if line.strip()]
    for row in (sft_rows[0], sft_rows[-1]) if sft_rows else ():
        m = row["data"]
        print(
            f"[funrl.demo] SFT step {row['step']}: L_think {m.get('train/L_think', float('nan')):.3f}, "
            f"L_call {m.get('train/L_call', float('nan')):.3f}, L_total {m.get('train/L_total', float('nan')):.3f}",
            flush=True,
        )
    rows = [json.loads(line) for line in grpo_metrics.read_text().splitlines() if line.strip()]
    for row in rows:
        m = row["data"]
        print(
            f"[funrl.demo] GRPO step {row['step']}: reward {m.get('critic/score/mean', float('nan')):.3f}, "
            f"entropy {m.get('actor/entropy', float('nan')):.3f}, "
            f"CoT entropy {m.get('funrl/cot_entropy_mean', float('nan')):.3f}, "
            f"CoT tokens {m.get('funrl/cot_tokens_mean', float('nan')):.1f}, "
            f"entropy bonus {m.get('funrl/entropy_bonus_mean', float('nan')):.4f}, "
            f"adv_changed_token_frac {m.get('funrl/adv_changed_token_frac', float('nan')):.3f}, "
            f"all_equal_group_frac {m.get('funrl/all_equal_group_frac', float('nan')):.2f}, "
            f"rollout_corr/kl {m.get('rollout_corr/kl', float('nan')):.2e}, "
            f"step {m.get('timing_s/step', float('nan')):.1f} s",
            flush=True,
        )


def start_multi_turn_grpo(out: Path, prep_dir: Path, steps: int) -> tuple[Running, Path]:
    """Start the multi-turn GRPO stage in ``out/multi_turn`` (``finish_stage`` waits for it); returns it
    and its metrics file (verl's file logger). The loop's per-trajectory dumps
    (``FUNRL_MULTI_TURN_DUMP_DIR``) go to ``out/multi_turn/trajectories``."""
    mt_dir = out / "multi_turn"
    metrics, trajectories = mt_dir / "metrics.jsonl", mt_dir / "trajectories"
    mt_dir.mkdir(parents=True, exist_ok=True)
    metrics.unlink(missing_ok=True)  # verl's file logger appends
    shutil.rmtree(trajectories, ignore_errors=True)  # one file per trajectory: no stale ones
    env = run_env(VERL_FILE_LOGGER_PATH=str(metrics), FUNRL_MULTI_TURN_DUMP_DIR=str(trajectories))
    cmd = multi_turn_command(prep_dir, mt_dir, steps=steps)
    return start_stage("multi_turn_grpo", cmd, out=out, cwd=out, env=env), metrics


def multi_turn_grpo(out: Path, prep_dir: Path, steps: int) -> Path:
    """The multi-turn GRPO stage (``start_multi_turn_grpo``), waited for; returns its metrics file."""
    run, metrics = start_multi_turn_grpo(out, prep_dir, steps)
    finish_stage(run)
    return metrics


def start_single_turn_warm_start(out: Path, args: argparse.Namespace) -> tuple[Running, Path, Path]:
    """Data prep and the tiny model, then the SRML SFT warm start started (``finish_stage`` waits for it);
    returns (the SFT stage, its metrics file, its checkpoint folder)."""
    py = sys.executable
    data = out / "data"
    _stage("data_prep", [py, "-m", "funrl.data_prep", "demo", "--out", str(data)], out=out)

    from funrl.toy.imperfect_sft import DEMO_WRONG_COPIES, imperfect_sft

    sft_parquet = data / "sft_imperfect.parquet"
    counts = imperfect_sft(data / "sft.parquet", sft_parquet, wrong_copies=DEMO_WRONG_COPIES)
    print(
        f"[funrl.demo] warm-start data: {sft_parquet}: the {counts['rows']} conversations FCDR kept, and "
        f"{counts['wrong']} more whose answer carries the scripted teacher's mistake (a wrong argument "
        "value). The warm start is deliberately imperfect, as SFT on unfiltered teacher data would be; "
        "GRPO corrects it.",
        flush=True,
    )
    base = demo_model(out / "base_model", sft_parquet)
    print(f"[funrl.demo] tiny Qwen2 + tokenizer: {base}", flush=True)

    sft_dir = out / "sft"
    sft = sft_command(base, sft_parquet, sft_dir, steps=args.sft_steps)
    sft_metrics = sft_dir / "metrics.jsonl"
    sft_dir.mkdir(parents=True, exist_ok=True)
    sft_metrics.unlink(missing_ok=True)  # verl's file logger appends
    sft_env = run_env(OMP_NUM_THREADS="1", VERL_FILE_LOGGER_PATH=str(sft_metrics))
    return start_stage("sft", sft, out=out, cwd=out, env=sft_env), sft_metrics, sft_dir


def single_turn_grpo(out: Path, args: argparse.Namespace, sft_metrics: Path, sft_model: Path) -> Path:
    """Single-turn GRPO from the SFT model, the curves and the reward's report; returns the GRPO metrics."""
    from funrl.toy.imperfect_sft import DEMO_GRPO_OVERRIDES

    py, data = sys.executable, out / "data"
    grpo_dir = out / "grpo"
    grpo = grpo_command(sft_model, data / "rl.parquet", grpo_dir, args.grpo_steps, DEMO_GRPO_OVERRIDES)
    metrics = grpo_dir / "metrics.jsonl"
    grpo_dir.mkdir(parents=True, exist_ok=True)
    _stage("grpo", grpo, out=out, cwd=out, env=run_env(VERL_FILE_LOGGER_PATH=str(metrics)))

    curves = out / "curves.png"
    title = f"FunRL CPU demo: SRML SFT ({args.sft_steps} steps), then grpo_entropy ({args.grpo_steps} steps)"
    curves_cmd = [py, "-m", "funrl.curves", str(sft_metrics), str(out / "wandb"), "-o", str(curves)]
    _stage("curves", [*curves_cmd, "--title", title], out=out)

    last = grpo_dir / "rollouts" / f"{args.grpo_steps}.jsonl"  # verl's own dump, scored as it is
    _stage("reward_report", [py, "-m", "funrl.reward", "score", str(last)], out=out)
    print((out / "logs" / "reward_report.log").read_text(), flush=True)
    return metrics


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (a step count)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m funrl.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, required=True, help="work directory (created; reused stages rerun)"
    )
    parser.add_argument("--sft-steps", type=positive_int, default=SFT_STEPS)
    parser.add_argument("--grpo-steps", type=positive_int, default=GRPO_STEPS)
    parser.add_argument("--multi-turn-steps", type=positive_int, default=MT_GRPO_STEPS)
    parser.add_argument(
        "--no-multi-turn", action="store_true", help="skip the multi-turn stage (warm start and GRPO)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from funrl.train.extras import TRAIN_MODULES, missing_modules, require_train_extra

    # every stage after data prep needs the train extra: say so before data prep runs
    require_train_extra("funrl.demo", (*TRAIN_MODULES, "transformers", "matplotlib", "wandb"))
    # BFCL's environments and entries (not in the train extra: bfcl-eval's pins clash with verl's)
    missing = [] if args.no_multi_turn else missing_modules(("bfcl_eval", "mpmath"))
    if missing:
        print(
            f"funrl.demo: the multi-turn stage needs bfcl-eval and mpmath ({', '.join(missing)} not "
            "installed): pip install mpmath && pip install --no-deps bfcl-eval==2026.3.23, or pass "
            "--no-multi-turn",
            file=sys.stderr,
            flush=True,
        )
        return 2
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    prep_dir, background = out / "multi_turn" / "prep", []
    try:
        if not args.no_multi_turn:
            # one torch thread, alongside data prep and SFT (which use one core of two)
            cmd = multi_turn_prep_command(prep_dir)
            background.append(
                start_stage("multi_turn_warm_start", cmd, out=out, env=run_env(OMP_NUM_THREADS="1"))
            )
        sft_run, sft_metrics, sft_dir = start_single_turn_warm_start(out, args)
        background.append(sft_run)
        if not args.no_multi_turn:
            finish_stage(background[0])
            # as soon as its warm start is done, beside the rest of SFT and single-turn GRPO: a verl run
            # on CPU leaves most of a core idle between its bursts (docs/cpu_demo.md, "Time")
            mt_run, mt_metrics = start_multi_turn_grpo(out, prep_dir, args.multi_turn_steps)
            background.append(mt_run)
        finish_stage(sft_run)
        sft_model = latest_hf_checkpoint(sft_dir)
        metrics = single_turn_grpo(out, args, sft_metrics, sft_model)
        if not args.no_multi_turn:
            finish_stage(mt_run)
    finally:
        for run in background:  # a stage failed: stop the ones still running
            if run.proc.poll() is None:
                run.proc.terminate()

    print_step_summary(sft_metrics, metrics)
    if not args.no_multi_turn:
        print_multi_turn_summary(mt_metrics)
    wandb_runs = sorted((out / "wandb").glob("offline-run-*"))
    grpo_dir = out / "grpo"
    print(f"[funrl.demo] finished in {time.perf_counter() - started:.0f} s", flush=True)
    print(f"[funrl.demo] logs:        {out / 'logs'}  (one per stage)", flush=True)
    print(f"[funrl.demo] metrics:     {sft_metrics}, {metrics}  (verl's file logger)", flush=True)
    print(f"[funrl.demo] W&B offline: {wandb_runs[-1] if wandb_runs else out / 'wandb'}", flush=True)
    print(f"[funrl.demo] SFT model:   {sft_model}", flush=True)
    print(f"[funrl.demo] checkpoints: {grpo_dir / 'checkpoints'}", flush=True)
    print(
        f"[funrl.demo] rollouts:    {grpo_dir / 'rollouts'}  (prompt, response, score per sample and step)",
        flush=True,
    )
    print(f"[funrl.demo] curves:      {out / 'curves.png'}", flush=True)
    if not args.no_multi_turn:
        mt = out / "multi_turn"
        print(
            f"[funrl.demo] multi-turn:  {prep_dir / 'model'} (warm-started), {mt_metrics}, {mt / 'checkpoints'}",
            flush=True,
        )
        print(
            f"[funrl.demo] trajectories: {mt / 'trajectories'}  (messages, ids, masks, reward per trajectory)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
