"""Time the entropy-augmented GRPO advantage against verl's GRPO estimators on the same batch.

    .venv/bin/python benchmarks/advantage.py [--sizes 4096x4096,4096x8192] [--group 8] [--repeats 7]

For each batch size (responses x response tokens; 4096 x 8192 is the 7B recipe's step, 512 prompts x 8
rollouts of up to 8192 tokens, recipes/recipe/grpo.yaml) it prints, side by side in one process on the same
CPU float32 batch, each estimator's warm time (best of ``--repeats`` interleaved runs, wall clock and the
process's CPU time), its ratio to both of verl's GRPO estimators, ``grpo`` (``compute_grpo_outcome_advantage``,
a loop over groups, what ``algorithm.adv_estimator=grpo`` runs) and ``grpo_vectorized`` (verl's fastest), its
cold time (the first call in a fresh process) and its peak extra memory (the peak resident set of that first
call above the process's resident set before it: inputs excluded, output and temporaries included).

Rows: verl's two estimators, FunRL's shaping (``entropy_shaped_grpo_advantage``) in both forms, and
``grpo_entropy`` as verl calls it (the registered estimator, token form: the shaping plus its check,
inside the shaping's block loop, that verl's response mask lies within the hook's bool mask, i.e. that the
hook's rows line up with verl's). Target: both forms <= 1.2x ``grpo_vectorized``. One torch thread by
default: verl computes advantages in its driver, the ``TaskRunner`` Ray actor, which declares no CPUs, so
Ray sets ``OMP_NUM_THREADS=1`` there. On a shared machine compare the ratios, best of several runs; the
CPU-time ratios are the least disturbed by other processes.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from verl.trainer.ppo.core_algos import get_adv_estimator_fn

from funrl.config import EntropyConfig
from funrl.rl.advantage import entropy_shaped_grpo_advantage
from funrl.rl.estimator import ESTIMATOR_NAME, EntropyInputs, entropy_inputs

NAMES = ("verl grpo", "verl grpo_vectorized", "funrl sequence", "funrl token", f"{ESTIMATOR_NAME} (token)")


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


def estimators(b: dict) -> dict[str, Callable[[], object]]:
    """The rows of the table, each a call on batch ``b`` (the hook's inputs as their own tensors)."""
    verl_kwargs = {k: b[k] for k in ("token_level_rewards", "response_mask", "index")}
    hook = EntropyInputs(
        entropy=b["entropy"],
        cot_mask=b["cot_mask"],
        response_mask=b["response_mask"].bool(),  # as the hook hands it over
        settings=EntropyConfig(form="token"),
    )

    def registered() -> object:
        with entropy_inputs(hook):
            return get_adv_estimator_fn(ESTIMATOR_NAME)(**verl_kwargs)

    return {
        NAMES[0]: lambda: get_adv_estimator_fn("grpo")(**verl_kwargs),
        NAMES[1]: lambda: get_adv_estimator_fn("grpo_vectorized")(**verl_kwargs),
        NAMES[2]: lambda: entropy_shaped_grpo_advantage(**b, form="sequence"),
        NAMES[3]: lambda: entropy_shaped_grpo_advantage(**b, form="token"),
        NAMES[4]: registered,
    }


def best_of(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, tuple[float, float]]:
    """Best (wall, CPU) seconds of each run after a warm-up; interleaved so that load hits all alike."""
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for fn in runs.values():
        fn()  # warm-up
    for _ in range(repeats):
        for name, fn in runs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            cpu[name].append(time.process_time() - start_cpu)
            wall[name].append(time.perf_counter() - start)
    return {name: (min(wall[name]), min(cpu[name])) for name in runs}


def _status_kib(field: str) -> int:
    """A ``VmRSS``/``VmHWM``-style line of /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} line")


def probe(name: str, responses: int, tokens: int, group: int) -> dict[str, float]:
    """Cold time and peak extra resident memory of the first call of ``name`` in this (fresh) process."""
    run = estimators(make_batch(responses, tokens, group))[name]
    before = _status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current resident set
    start = time.perf_counter()
    run()
    cold = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    if peak < before:  # a kernel without the reset: fall back on the (never reset) lifetime peak
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"cold_ms": cold * 1e3, "peak_extra_mib": (peak - before) / 1024}


def probe_in_fresh_process(name: str, args: argparse.Namespace, responses: int, tokens: int) -> dict:
    """Run ``probe`` for ``name`` in a new interpreter (so that nothing is warm) and return its figures."""
    command = [sys.executable, __file__, "--probe", name, "--sizes", f"{responses}x{tokens}"]
    command += ["--group", str(args.group), "--threads", str(torch.get_num_threads())]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"probe of {name!r} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(args: argparse.Namespace, responses: int, tokens: int) -> None:
    """Print the table for one batch size."""
    warm = best_of(estimators(make_batch(responses, tokens, args.group)), args.repeats)
    cold = {name: probe_in_fresh_process(name, args, responses, tokens) for name in NAMES}
    loop, vec = warm[NAMES[0]], warm[NAMES[1]]
    print(
        f"\nbatch {responses} responses x {tokens} tokens, groups of {args.group}; warm: best of "
        f"{args.repeats} interleaved runs; cold: first call in a fresh process"
    )
    print(
        f"{'estimator':26s} {'warm wall':>10s} {'/ grpo':>7s} {'/ grpo_vec':>10s}   {'warm CPU':>9s} "
        f"{'/ grpo_vec':>10s}   {'cold':>9s}   {'peak extra':>10s}"
    )
    for name in NAMES:
        (w, c), first = warm[name], cold[name]
        print(
            f"{name:26s} {w * 1e3:7.1f} ms {w / loop[0]:6.2f}x {w / vec[0]:9.2f}x   {c * 1e3:6.1f} ms "
            f"{c / vec[1]:9.2f}x   {first['cold_ms']:6.1f} ms   {first['peak_extra_mib']:6.0f} MiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="4096x4096,4096x8192", help="responses x tokens, comma-separated")
    parser.add_argument("--group", type=int, default=8, help="responses per prompt (rollout.n)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: verl's driver, a Ray actor; 0: torch's default)",
    )
    parser.add_argument("--probe", choices=NAMES, help=argparse.SUPPRESS)  # internal: one cold call
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]
    if args.probe:
        print(json.dumps(probe(args.probe, *sizes[0], args.group)))
        return
    print(f"torch {torch.__version__}, CPU float32, {torch.get_num_threads()} threads")
    for responses, tokens in sizes:
        report(args, responses, tokens)


if __name__ == "__main__":
    main()
