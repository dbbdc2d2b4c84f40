"""Benchmark: SRML vs verl's own SFT loss, on the same tiny-model CPU run of verl's SFT trainer.

    .venv/bin/python benchmarks/srml.py [--steps 40] [--rounds 3]

Each variant runs in its own process (funrl.cpu, 1 rank, 1 thread) on the tiny random Qwen2 model and the
bundled sample, global batch 8, micro-batch 4:

- ``verl_sft``: verl's stock ``SFTTrainer`` with ``MultiTurnSFTDataset`` and ``sft_loss``;
- ``srml``: ``SRMLSFTTrainer`` with ``SRMLSFTDataset`` (segment ids) and the SRML loss, alpha 0.7.

Step time = time of ``training_client.train_batch`` (forward, backward, optimizer step, and for SRML the
segment count and its metrics), median over steps after 3 warm-up steps: wall time, and the process's
CPU time, which other processes' load on a shared machine does not inflate (one thread per run).
Peak memory = the process's peak RSS (``ru_maxrss``), and its growth during training over the RSS just
before ``fit()``. The dataset time (segment ids are computed in ``__getitem__``) is measured separately
per sample.

A second part times the loss alone (forward + backward) on a large flat micro-batch.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _worker(variant: str, model: str, data: str, steps: int, out: str) -> None:
    os.environ["WANDB_MODE"] = "disabled"
    import torch
    from omegaconf import OmegaConf

    import funrl.cpu
    from funrl.train import compose_config

    torch.set_num_threads(1)
    funrl.cpu.activate()
    funrl.cpu.init_process_group()
    overrides = [
        "+recipe=sft_srml",
        "hardware=cpu",
        f"model.path={model}",
        f"data.train_files={data}",
        "data.train_batch_size=8",
        "data.use_dynamic_bsz=False",
        "data.micro_batch_size_per_gpu=4",
        "data.num_workers=0",
        f"trainer.total_training_steps={steps}",
        "trainer.total_epochs=100",
        "trainer.logger=[console]",
        "trainer.resume_mode=disable",
        "trainer.save_freq=-1",
        "checkpoint.save_contents=[]",
        f"trainer.default_local_dir={tempfile.mkdtemp()}",
        "optim.lr=1e-3",
        "optim.lr_warmup_steps_ratio=0.0",
        "optim.lr_scheduler_type=constant",
        "data.max_length=1024",
    ]
    if variant != "srml":  # verl's own dataset and trainer
        overrides += ["data.custom_cls.path=null", "data.custom_cls.name=null", "funrl.srml.enable=false"]
    config = compose_config(overrides)
    OmegaConf.resolve(config)

    from verl.trainer.sft_trainer import SFTTrainer

    from funrl.sft.trainer import SRMLSFTTrainer

    trainer = (SRMLSFTTrainer if variant == "srml" else SFTTrainer)(config=config)

    t0 = time.perf_counter()
    for i in range(len(trainer.train_dataset)):
        trainer.train_dataset[i]
    item_ms = (time.perf_counter() - t0) / len(trainer.train_dataset) * 1e3

    times: list[float] = []
    cpu_times: list[float] = []
    client = trainer.training_client
    inner = client.train_batch

    def timed_train_batch(data):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = inner(data)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - start_cpu)
        return result

    client.train_batch = timed_train_batch  # benchmark instrumentation only
    rss_before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open("/proc/self/statm") as f:
        rss_now_kb = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    trainer.fit()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    Path(out).write_text(
        json.dumps(
            {
                "step_s": times[3:],
                "step_cpu_s": cpu_times[3:],
                "peak_rss_mb": peak_kb / 1024,
                "train_growth_mb": (peak_kb - max(rss_before_kb, rss_now_kb)) / 1024,
                "item_ms": item_ms,
            }
        )
    )


def _loss_only(tokens: int = 65536, repeats: int = 20) -> dict[str, float]:
    """Median forward+backward time of each loss on one flat micro-batch of ``tokens`` targets."""
    import torch
    from verl.utils import tensordict_utils as tu
    from verl.workers.utils.losses import sft_loss

    from funrl.sft.loss import CALL, IGNORE, THINK
    from funrl.sft.trainer import NUM_CALL_KEY, NUM_THINK_KEY, srml_sft_loss

    torch.set_num_threads(1)
    n_seq = 16
    length = tokens // n_seq
    seg_one = torch.full((length,), THINK)
    seg_one[: length // 8] = IGNORE
    seg_one[-length // 11 :] = CALL
    segs = [seg_one] * n_seq
    masks = [(s != IGNORE).long() for s in segs]
    data = tu.get_tensordict(
        {
            "loss_mask": torch.nested.as_nested_tensor(masks, layout=torch.jagged),
            "segment_ids": torch.nested.as_nested_tensor(segs, layout=torch.jagged),
        },
        non_tensor_dict={"pad_mode": "no_padding"},
    )
    tu.assign_non_tensor(
        data,
        dp_size=1,
        batch_num_tokens=int(sum(m.sum() for m in masks)),
        **{
            NUM_THINK_KEY: int(sum((s == THINK).sum() for s in segs)),
            NUM_CALL_KEY: int(n_seq * (length // 11)),
        },
    )
    offsets = torch.arange(0, tokens + 1, length)
    results = {}
    for name, fn in (("verl_sft", sft_loss), ("srml", lambda *a: srml_sft_loss(*a, alpha=0.7))):
        samples = []
        for _ in range(repeats + 3):
            flat = (-torch.rand(tokens)).requires_grad_(True)
            out = {"log_probs": torch.nested.nested_tensor_from_jagged(flat, offsets)}
            start = time.perf_counter()
            loss, _ = fn(None, out, data)
            loss.backward()
            samples.append(time.perf_counter() - start)
        results[name] = statistics.median(samples[3:]) * 1e3
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs of each variant")
    parser.add_argument("--worker", choices=["srml", "verl_sft"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.model, args.data, args.steps, args.out)
        return

    from funrl.samples import write_sft_sample_parquet
    from funrl.toy import tiny_qwen2

    work = Path(tempfile.mkdtemp(prefix="srml_bench_"))
    model = tiny_qwen2(work / "model")
    data = write_sft_sample_parquet(work / "train.parquet")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled"}
    runs: dict[str, list[dict]] = {"verl_sft": [], "srml": []}
    for r in range(args.rounds):
        for variant in ("verl_sft", "srml"):
            out = work / f"{variant}_{r}.json"
            cmd = [sys.executable, __file__, "--worker", variant, "--model", str(model), "--data", str(data)]
            cmd += ["--steps", str(args.steps), "--out", str(out)]
            proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"{variant} run failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
            runs[variant].append(json.loads(out.read_text()))

    print(
        f"verl SFT trainer on CPU, tiny Qwen2 ({args.steps} steps x {args.rounds} rounds, batch 8, micro 4)"
    )
    print(
        f"{'variant':10} {'wall ms (median)':>17} {'CPU ms (median)':>16} {'peak RSS MB':>12} {'growth MB':>10} "
        f"{'item ms':>8}"
    )
    wall, cpu = {}, {}
    for variant, rs in runs.items():
        wall[variant] = statistics.median([s for r in rs for s in r["step_s"]]) * 1e3
        cpu[variant] = statistics.median([s for r in rs for s in r["step_cpu_s"]]) * 1e3
        print(
            f"{variant:10} {wall[variant]:17.2f} {cpu[variant]:16.2f} "
            f"{max(r['peak_rss_mb'] for r in rs):12.1f} {max(r['train_growth_mb'] for r in rs):10.1f} "
            f"{statistics.mean(r['item_ms'] for r in rs):8.2f}"
        )
    print(
        f"SRML step-time overhead: wall {(wall['srml'] / wall['verl_sft'] - 1) * 100:+.1f}%, "
        f"CPU {(cpu['srml'] / cpu['verl_sft'] - 1) * 100:+.1f}%"
    )
    loss = _loss_only()
    print(
        f"loss alone, forward+backward on 65,536 tokens: verl sft_loss {loss['verl_sft']:.2f} ms, "
        f"SRML {loss['srml']:.2f} ms"
    )


if __name__ == "__main__":
    main()
