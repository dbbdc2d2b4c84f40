"""Does the CPU demo's GRPO stage learn? One warm start, then GRPO runs with different overrides.

    python benchmarks/grpo_learning.py --out /tmp/learn --steps 12 \
        --run base= --run topk3=actor_rollout_ref.rollout.top_k=3

Runs the demo's data prep, its imperfect warm-start data (``funrl.toy.imperfect_sft`` with
``--wrong-copies`` wrong answers per sample; 0 for the FCDR-filtered SFT data alone), its tiny model and SRML SFT once (reused when ``<out>/sft`` holds a
checkpoint), then for each ``--run NAME=OVERRIDE[,OVERRIDE...]`` the demo's GRPO command
(``python -m funrl.train +recipe=grpo_entropy_cpu ...``) with those overrides. Per run it prints the reward
of every step (``critic/score/mean``), the means of the first and last three steps, the entropy and the
KL loss, and, with ``--probe N``, the reward of ``N`` samples per RL prompt drawn with Hugging Face
``generate`` from the SFT checkpoint and from the run's last checkpoint (the same sampling settings:
temperature 1 and the run's ``top_k``), a less noisy before/after figure than one step's 16 samples.
Times are wall-clock and the children's CPU seconds (the machine may be shared: compare CPU time).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from funrl.demo import SFT_STEPS, demo_model, grpo_command, latest_hf_checkpoint, run_env, sft_command
from funrl.toy.imperfect_sft import imperfect_sft


def timed(cmd: list[str], log: Path, cwd: Path, env: dict) -> tuple[int, float, float]:
    """Runs ``cmd`` with its output in ``log``: (exit status, wall seconds, the child's CPU seconds)."""
    before, start = os.times(), time.perf_counter()
    with log.open("w") as fh:
        rc = subprocess.run(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT).returncode
    after = os.times()
    cpu = after.children_user + after.children_system - before.children_user - before.children_system
    return rc, time.perf_counter() - start, cpu


def warm_start(out: Path, wrong_copies: int, sft_steps: int) -> tuple[Path, Path]:
    """Data prep, SFT data, model and SFT once: (the SFT checkpoint, rl.parquet)."""
    data = out / "data"
    if not (data / "rl.parquet").exists():
        cmd = [sys.executable, "-m", "funrl.data_prep", "demo", "--out", str(data)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    sft_parquet = data / "sft.parquet"
    if wrong_copies:
        sft_parquet = data / f"sft_imperfect{wrong_copies}.parquet"
        counts = imperfect_sft(data / "sft.parquet", sft_parquet, wrong_copies=wrong_copies)
        print(f"warm-start data: {counts}", flush=True)
    try:
        return latest_hf_checkpoint(out / "sft"), data / "rl.parquet"
    except FileNotFoundError:
        pass
    base = demo_model(out / "base_model", sft_parquet)
    (out / "sft").mkdir(parents=True, exist_ok=True)
    metrics = out / "sft" / "metrics.jsonl"
    metrics.unlink(missing_ok=True)
    env = run_env(OMP_NUM_THREADS="1", VERL_FILE_LOGGER_PATH=str(metrics))
    cmd = sft_command(base, sft_parquet, out / "sft", steps=sft_steps)
    rc, wall, cpu = timed(cmd, out / "sft.log", out, env)
    if rc:
        sys.exit(f"SFT failed: {out / 'sft.log'}")
    last = json.loads(metrics.read_text().splitlines()[-1])["data"]
    print(f"SFT: {sft_steps} steps, wall {wall:.0f} s, CPU {cpu:.0f} s, L_total {last['train/L_total']:.4f}")
    return latest_hf_checkpoint(out / "sft"), data / "rl.parquet"


def grpo(model: Path, rl: Path, run_dir: Path, steps: int, overrides: list[str]) -> list[dict]:
    run_dir.mkdir(parents=True, exist_ok=True)
    metrics = run_dir / "metrics.jsonl"
    metrics.unlink(missing_ok=True)
    cmd = grpo_command(model, rl, run_dir, steps, overrides)
    rc, wall, cpu = timed(cmd, run_dir / "grpo.log", run_dir, run_env(VERL_FILE_LOGGER_PATH=str(metrics)))
    if rc:
        sys.exit(f"GRPO failed: {run_dir / 'grpo.log'}")
    rows = [json.loads(line)["data"] for line in metrics.read_text().splitlines() if line.strip()]
    print(f"{run_dir.name}: {steps} steps, wall {wall:.0f} s, CPU {cpu:.0f} s", flush=True)
    return rows


def probe(model: Path, state: Path | None, rl: Path, n: int, top_k: int) -> float:
    """Mean reward of ``n`` samples per RL prompt at temperature 1 (``top_k`` > 0: top-k sampling), from the
    Hugging Face ``model`` with, if given, the actor weights of a verl checkpoint (``state``)."""
    import pyarrow.parquet as pq
    import torch
    from funrl.reward import compute_score
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model)
    lm = AutoModelForCausalLM.from_pretrained(model).eval()
    if state is not None:
        weights = torch.load(state, weights_only=False, map_location="cpu")  # verl's FSDP2 shard (one rank)
        lm.load_state_dict({k: getattr(v, "_local_tensor", v) for k, v in weights.items()})
    torch.manual_seed(0)
    scores = []
    for row in pq.read_table(rl).to_pylist():
        ids = tok.apply_chat_template(row["prompt"], add_generation_prompt=True, return_tensors="pt")
        ids = ids if torch.is_tensor(ids) else ids["input_ids"]
        with torch.no_grad():
            out = lm.generate(
                ids.repeat(n, 1), do_sample=True, temperature=1.0, top_k=top_k or None, max_new_tokens=128
            )
        for seq in out:
            text = tok.decode(seq[ids.shape[1] :], skip_special_tokens=True)
            scores.append(compute_score(None, text, row["reward_model"]["ground_truth"])["score"])
    return sum(scores) / len(scores)


def report(name: str, rows: list[dict]) -> None:
    rewards = [r["critic/score/mean"] for r in rows]
    first, last = sum(rewards[:3]) / 3, sum(rewards[-3:]) / 3
    print(f"{name}: reward per step {' '.join(f'{x:.2f}' for x in rewards)}")
    print(
        f"{name}: steps 1-3 {first:.3f}, last 3 {last:.3f}; entropy {rows[0]['actor/entropy']:.2f} -> "
        f"{rows[-1]['actor/entropy']:.2f}; KL loss at the end {rows[-1]['actor/kl_loss']:.4f}; "
        f"entropy bonus mean {sum(r['funrl/entropy_bonus_mean'] for r in rows) / len(rows):.4f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--sft-steps", type=int, default=SFT_STEPS)
    parser.add_argument(
        "--wrong-copies",
        type=int,
        default=1,
        help="wrong answers per sample (0: the FCDR-filtered data alone)",
    )
    parser.add_argument("--run", action="append", default=[], help="NAME=OVERRIDE[,OVERRIDE...]")
    parser.add_argument("--probe", type=int, default=0, help="samples per prompt before/after (0: none)")
    args = parser.parse_args()
    out = args.out.resolve()
    model, rl = warm_start(out, args.wrong_copies, args.sft_steps)
    for spec in args.run or ["recipe="]:
        name, _, joined = spec.partition("=")
        overrides = [o for o in joined.split(",") if o]
        run_dir = out / "runs" / name
        rows = grpo(model, rl, run_dir, args.steps, overrides)
        report(name, rows)
        if args.probe:
            top_k = next((int(o.split("=")[1]) for o in overrides if "rollout.top_k=" in o), 0)
            states = sorted(
                (run_dir / "checkpoints").glob("global_step_*/actor/model_world_size_1_rank_0.pt")
            )
            final = max(states, key=lambda p: int(p.parts[-3].rsplit("_", 1)[1]))
            before, after = (
                probe(model, None, rl, args.probe, top_k),
                probe(model, final, rl, args.probe, top_k),
            )
            print(f"{name}: probe reward ({args.probe} samples x {rl.name}) {before:.3f} -> {after:.3f}")


if __name__ == "__main__":
    main()
