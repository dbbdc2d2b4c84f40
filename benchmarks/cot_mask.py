"""Time the CoT token mask on a training-sized batch (default 1024 responses x 4096 tokens).

    .venv/bin/python benchmarks/cot_mask.py [--responses 1024] [--tokens 4096] [--vocab 151_000] [--repeats 5]

The responses look like FunRL rollouts: ``<think>`` (split into 1-3 tokens at random), reasoning, ``</think>``,
``<answer>[call]</answer>``, then padding; some rows have no closing tag. The vocabulary is a synthetic
byte-level table the size of Qwen's (token bytes drawn at random), so no tokenizer download is needed;
the masker's cost does not depend on where the table came from. Prints the median time, and for scale the
time of one float32 (bs, T) elementwise pass (what a training step does thousands of times).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import torch

from funrl.rl.cot_mask import CotMasker

TAG_PIECES = {
    "<think>": [["<think>"], ["<", "think", ">"], ["<th", "ink>"], ["\n<think>"]],
    "</think>": [["</think>"], ["</", "think", ">"], [".</", "think>\n"], ["</think>\n\n"]],
}


def build_vocab(size: int, rng: random.Random) -> tuple[list[bytes], dict[bytes, int]]:
    specials = {p.encode() for pieces in TAG_PIECES.values() for split in pieces for p in split}
    specials |= {b"<answer>", b"</answer>", b"<|endoftext|>"}
    table = dict.fromkeys(specials)
    alphabet = b"abcdefghijklmnopqrstuvwxyz ,.()[]='_"
    while len(table) < size:
        table.setdefault(bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 8))))
    table = list(table)
    return table, {b: i for i, b in enumerate(table)}


def build_batch(responses: int, tokens: int, table: list[bytes], ids: dict[bytes, int], rng: random.Random):
    plain = [i for i, b in enumerate(table) if b"<" not in b]
    out = torch.full((responses, tokens), ids[b"<|endoftext|>"], dtype=torch.long)
    mask = torch.zeros(responses, tokens, dtype=torch.long)
    for r in range(responses):
        length = rng.randint(tokens // 4, tokens)
        cot = rng.randint(0, length - 40)
        row = [ids[p.encode()] for p in rng.choice(TAG_PIECES["<think>"])]
        row += rng.choices(plain, k=cot)
        if rng.random() < 0.9:  # 10 % of rows never close the CoT
            row += [ids[p.encode()] for p in rng.choice(TAG_PIECES["</think>"])]
        row += [ids[b"<answer>"]] + rng.choices(plain, k=20) + [ids[b"</answer>"]]
        row += rng.choices(plain, k=max(0, length - len(row)))
        row = row[:length]
        out[r, :length] = torch.tensor(row)
        mask[r, :length] = 1
    return out, mask


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--responses", type=int, default=1024)
    parser.add_argument("--tokens", type=int, default=4096)
    parser.add_argument("--vocab", type=int, default=151_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(0)
    table, ids = build_vocab(args.vocab, rng)
    start = time.perf_counter()
    masker = CotMasker(token_bytes=table)
    setup = time.perf_counter() - start
    responses, response_mask = build_batch(args.responses, args.tokens, table, ids, rng)

    masker(responses, response_mask)  # warm-up
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        cot = masker(responses, response_mask)
        times.append(time.perf_counter() - start)
    x = torch.rand(args.responses, args.tokens)
    passes = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        torch.mul(x, 2.0)
        passes.append(time.perf_counter() - start)
    print(
        f"batch {args.responses} x {args.tokens} tokens, vocab {len(table)}, "
        f"{torch.get_num_threads()} threads, median of {args.repeats}"
    )
    print(f"CotMasker table build      {setup * 1e3:8.1f} ms (once per trainer)")
    print(f"CotMasker mask             {statistics.median(times) * 1e3:8.1f} ms")
    print(f"one float32 (bs, T) pass   {statistics.median(passes) * 1e3:8.1f} ms (for scale)")
    print(f"CoT tokens per response    {cot.sum(1).float().mean():8.1f}")


if __name__ == "__main__":
    main()
