"""Time the entropy-augmented GRPO advantage against verl's GRPO estimators on the same batch.

    .venv/bin/python benchmarks/advantage.py [--responses 4096] [--tokens 4096] [--group 8] [--repeats 5]

Prints the median wall time of each estimator (CPU, float32), side by side in one process on the same
batch, and its ratio to both of verl's GRPO estimators: ``grpo`` (``compute_grpo_outcome_advantage``, a
loop over groups, what ``algorithm.adv_estimator=grpo`` runs) and ``grpo_vectorized`` (verl's fastest).
Target: both FunRL forms <= 1.2x ``grpo_vectorized``. Runs are interleaved; on a shared machine compare
the ratios of one run, and use ``--threads 1`` to keep other processes from stalling torch's threads.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from verl.trainer.ppo.core_algos import get_adv_estimator_fn

from funrl.rl.advantage import entropy_shaped_grpo_advantage


def make_batch(responses: int, tokens: int, group: int, seed: int = 0) -> dict:
    """A GRPO batch like a real step: binary rewards on the last token, ragged lengths, CoT spans."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(tokens // 4, tokens + 1, (responses,), generator=gen)  # (bs,)
    positions = torch.arange(tokens).unsqueeze(0)  # (1, T)
    response_mask = (positions < lengths.unsqueeze(1)).to(torch.int64)  # (bs, T)
    rewards = (torch.rand(responses, generator=gen) < 0.5).float()  # (bs,)
    token_level_rewards = torch.zeros(responses, tokens)  # (bs, T)
    token_level_rewards[torch.arange(responses), lengths - 1] = rewards
    cot_end = (lengths.float() * torch.rand(responses, generator=gen) * 0.9).long()  # (bs,)
    cot_mask = (positions >= 3) & (positions < cot_end.unsqueeze(1))  # (bs, T)
    entropy = torch.rand(responses, tokens, generator=gen) * 2 * response_mask  # (bs, T)
    index = np.array([f"uid-{i // group}" for i in range(responses)], dtype=object)  # (bs,)
    return {
        "token_level_rewards": token_level_rewards,
        "response_mask": response_mask,
        "index": index,
        "entropy": entropy,
        "cot_mask": cot_mask,
    }


def median_seconds(runs: dict, repeats: int) -> dict[str, float]:
    """Median wall time of each run; the runs are interleaved so that machine load hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for fn in runs.values():
        fn()  # warm-up
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--responses", type=int, default=4096)
    parser.add_argument("--tokens", type=int, default=4096)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    b = make_batch(args.responses, args.tokens, args.group)
    verl_kwargs = {k: b[k] for k in ("token_level_rewards", "response_mask", "index")}
    runs = {
        "verl grpo": lambda: get_adv_estimator_fn("grpo")(**verl_kwargs),
        "verl grpo_vectorized": lambda: get_adv_estimator_fn("grpo_vectorized")(**verl_kwargs),
    }
    for form in ("sequence", "token"):
        runs[f"funrl {form}"] = lambda form=form: entropy_shaped_grpo_advantage(**b, form=form)

    print(
        f"batch {args.responses} responses x {args.tokens} tokens, groups of {args.group}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeats}"
    )
    medians = median_seconds(runs, args.repeats)
    loop, vectorised = medians["verl grpo"], medians["verl grpo_vectorized"]
    print(f"{'estimator':22s} {'median':>12s}   {'/ verl grpo':>11s}   {'/ verl grpo_vectorized':>22s}")
    for name, seconds in medians.items():
        print(f"{name:22s} {seconds * 1e3:9.1f} ms   {seconds / loop:10.2f}x   {seconds / vectorised:21.2f}x")


if __name__ == "__main__":
    main()
