"""The whole FunRL pipeline at toy scale on CPU, in one command (a few minutes on 2 cores).

    python -m funrl.demo --out /tmp/funrl_demo

1. data prep on the bundled sample with the scripted loopback judge (``python -m funrl.data_prep demo``);
2. a tiny randomly initialised Qwen2 (2 layers, hidden 128, 0.4 M parameters) with a BPE tokenizer built
   locally on the bundled sample and the SFT messages (``funrl.toy.tiny_qwen2``; nothing is
   downloaded);
3. 300 SRML SFT steps on the SFT parquet (``python -m funrl.train +recipe=sft_srml hardware=cpu``), the
   warm start: the model learns to answer the data's prompts in their format,
   ``<think>...</think><answer>[calls]</answer>``;
4. 6 entropy-GRPO steps from that checkpoint through verl's real PPO trainer with the ``funrl_hf``
   CPU rollout engine (``python -m funrl.train +recipe=grpo_entropy_cpu``), W&B offline. Sampled at
   temperature 1, the warm-started model gets some answers right (reward 1) and some wrong (0) for the
   same prompt, so GRPO's advantages are non-zero and the CoT entropy bonus is added to them;
5. the curves PNG (``python -m funrl.curves``) and the reward's report on the last step's rollouts
   (``python -m funrl.reward score``).

Each stage is the real command, run as a subprocess with its output in ``<out>/logs/<stage>.log``; the
demo prints where the logs, checkpoints and curves are, and per GRPO step the reward and the entropy
bonus's statistics. The model only memorises the 13 SFT answers: the point is that every stage runs, end
to end, on the code a GPU cluster runs, with the bonus acting. Exit status 0 on success, 1 with the
failing stage's log tail otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

SFT_STEPS = 300
# ~4 s a step on 2 cores after ~55 s of Ray and model start-up: 6 keep the demo near 3 minutes. More steps
# do not make the tiny model learn: its reward stays flat or falls over 12 steps at every lr, KL and
# batch setting tried (docs/cpu_demo.md, "What GRPO does to the warm-started model")
GRPO_STEPS = 6
# the tiny model: big enough to learn the 13 SFT answers in SFT_STEPS steps (hidden 64 is not)
HIDDEN_SIZE = 128
NUM_LAYERS = 2
# BPE vocabulary, trained on the bundled sample plus the demo's SFT messages (prompts ~280 tokens,
# answers <= 94 instead of ~650 and <= 214 with the sample alone)
VOCAB_SIZE = 1024


def _stage(
    name: str, cmd: Sequence[str], *, out: Path, cwd: Path | None = None, env: dict | None = None
) -> float:
    """Run one stage; its output goes to ``out/logs/<name>.log``. Returns seconds; exits on failure."""
    log = out / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"[funrl.demo] {name}: {' '.join(cmd)}", flush=True)
    start = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.run(list(cmd), cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-40:]
        print("\n".join(tail), file=sys.stderr)
        print(f"[funrl.demo] {name} failed (exit {proc.returncode}); full log: {log}", file=sys.stderr)
        sys.exit(1)
    print(f"[funrl.demo] {name}: done in {seconds:.0f} s (log {log})", flush=True)
    return seconds


def _run_env(**extra: str) -> dict[str, str]:
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m funrl.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, required=True, help="work directory (created; reused stages rerun)"
    )
    parser.add_argument("--sft-steps", type=int, default=SFT_STEPS)
    parser.add_argument("--grpo-steps", type=int, default=GRPO_STEPS)
    args = parser.parse_args(argv)
    from funrl.train.extras import TRAIN_MODULES, require_train_extra

    # every stage after data prep needs the train extra: say so before data prep runs
    require_train_extra("funrl.demo", (*TRAIN_MODULES, "transformers", "matplotlib", "wandb"))
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    started = time.perf_counter()

    data = out / "data"
    _stage("data_prep", [py, "-m", "funrl.data_prep", "demo", "--out", str(data)], out=out)

    base = demo_model(out / "base_model", data / "sft.parquet")
    print(f"[funrl.demo] tiny Qwen2 + tokenizer: {base}", flush=True)

    sft_dir = out / "sft"
    sft = sft_command(base, data / "sft.parquet", sft_dir, steps=args.sft_steps)
    sft_metrics = sft_dir / "metrics.jsonl"
    sft_dir.mkdir(parents=True, exist_ok=True)
    sft_metrics.unlink(missing_ok=True)  # verl's file logger appends
    sft_env = _run_env(OMP_NUM_THREADS="1", VERL_FILE_LOGGER_PATH=str(sft_metrics))
    _stage("sft", sft, out=out, cwd=out, env=sft_env)
    sft_model = latest_hf_checkpoint(sft_dir)

    grpo_dir = out / "grpo"
    rollouts = grpo_dir / "rollouts"
    grpo = [
        py,
        "-m",
        "funrl.train",
        "+recipe=grpo_entropy_cpu",
        f"actor_rollout_ref.model.path={sft_model}",
        f"data.train_files={data / 'rl.parquet'}",
        f"data.val_files={data / 'rl.parquet'}",
        f"trainer.total_training_steps={args.grpo_steps}",
        f"trainer.default_local_dir={grpo_dir / 'checkpoints'}",
        f"trainer.rollout_data_dir={rollouts}",
        "trainer.resume_mode=disable",
    ]
    metrics = grpo_dir / "metrics.jsonl"
    grpo_dir.mkdir(parents=True, exist_ok=True)
    _stage("grpo", grpo, out=out, cwd=out, env=_run_env(VERL_FILE_LOGGER_PATH=str(metrics)))

    curves = out / "curves.png"
    title = f"FunRL CPU demo: SRML SFT ({args.sft_steps} steps), then grpo_entropy ({args.grpo_steps} steps)"
    curves_cmd = [py, "-m", "funrl.curves", str(sft_metrics), str(out / "wandb"), "-o", str(curves)]
    _stage("curves", [*curves_cmd, "--title", title], out=out)

    last = rollouts / f"{args.grpo_steps}.jsonl"  # verl's own dump, scored as it is
    _stage("reward_report", [py, "-m", "funrl.reward", "score", str(last)], out=out)
    print((out / "logs" / "reward_report.log").read_text(), flush=True)

    print_step_summary(sft_metrics, metrics)
    wandb_runs = sorted((out / "wandb").glob("offline-run-*"))
    print(f"[funrl.demo] finished in {time.perf_counter() - started:.0f} s", flush=True)
    print(f"[funrl.demo] logs:        {out / 'logs'}  (one per stage)", flush=True)
    print(f"[funrl.demo] metrics:     {sft_metrics}, {metrics}  (verl's file logger)", flush=True)
    print(f"[funrl.demo] W&B offline: {wandb_runs[-1] if wandb_runs else out / 'wandb'}", flush=True)
    print(f"[funrl.demo] SFT model:   {sft_model}", flush=True)
    print(f"[funrl.demo] checkpoints: {grpo_dir / 'checkpoints'}", flush=True)
    print(f"[funrl.demo] rollouts:    {rollouts}  (prompt, response, score per sample and step)", flush=True)
    print(f"[funrl.demo] curves:      {curves}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
