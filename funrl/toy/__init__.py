"""Tiny models and tokenizers built locally, for tests, benchmarks and laptop debugging.

Nothing is downloaded. ::

    from funrl.toy import tiny_qwen2
    model_dir = tiny_qwen2(tmp_path / "model")   # a randomly initialised Qwen2 + its tokenizer
    # -> usable as verl's model.path, or with AutoModelForCausalLM / AutoTokenizer.from_pretrained

- ``tiny_tokenizer(dir)``: a byte-level BPE tokenizer (the same family as Qwen's) trained on the bundled
  SFT sample, with Qwen2.5's ChatML chat template (``<|im_start|>role\\n...<|im_end|>\\n``, default system
  prompt). ``<think>`` is ordinary text, as in Qwen2.5-Coder, so the tags may be split across tokens.
  ``extra_texts=`` adds training text (``funrl.demo`` adds its SFT messages, so its prompts take fewer
  tokens).
- ``tiny_qwen2(dir)``: the tokenizer plus a randomly initialised ``Qwen2ForCausalLM`` (2 layers, hidden
  64; about 0.1 M parameters) saved next to it.

Both are deterministic for given arguments. They import ``tokenizers`` / ``transformers`` / ``torch``
only when called.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# Qwen2.5's ChatML template, without the tools branch.
CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if not (message.role == 'system' and loop.first) %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- endif %}"
)


def _training_corpus() -> list[str]:
    from funrl.samples import sft_sample_rows

    texts = []
    for row in sft_sample_rows():
        for message in row["messages"]:
            texts.append(message["content"])
    texts.append("You are a helpful assistant. system user assistant")
    return texts


def tiny_tokenizer(directory: str | Path, *, vocab_size: int = 512, extra_texts: Sequence[str] = ()):
    """Build, save to ``directory`` and return a byte-level BPE ``PreTrainedTokenizerFast``.

    Args:
        directory: where ``tokenizer.json`` and its config are written (created if missing).
        vocab_size: BPE vocabulary size including the 256 byte tokens and the 3 special tokens (an upper
            bound: the merges stop when the corpus has no more pairs; the bundled sample alone gives 550).
        extra_texts: more training text besides the bundled sample, e.g. the messages of the data a demo
            trains on (its prompts and answers then take fewer tokens).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if vocab_size < 256 + len(SPECIAL_TOKENS):
        raise ValueError(f"vocab_size must be at least {256 + len(SPECIAL_TOKENS)}, got {vocab_size}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_training_corpus() + list(extra_texts), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHAT_TEMPLATE,
        clean_up_tokenization_spaces=False,
    )
    fast.save_pretrained(directory)
    return fast


def tiny_qwen2(
    directory: str | Path,
    *,
    hidden_size: int = 64,
    num_layers: int = 2,
    vocab_size: int = 512,
    seed: int = 0,
    extra_texts: Sequence[str] = (),
) -> Path:
    """Build a tiny randomly initialised Qwen2 model and its tokenizer in ``directory``; return the path.

    The directory can be given to verl as ``model.path`` or loaded with ``from_pretrained``.
    ``extra_texts``: more tokenizer training text (``tiny_tokenizer``).
    """
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    directory = Path(directory)
    tokenizer = tiny_tokenizer(directory, vocab_size=vocab_size, extra_texts=extra_texts)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        torch_dtype="float32",
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.save_pretrained(directory, safe_serialization=True)
    return directory


def run_sft_cpu(
    overrides: list[str],
    *,
    cwd: str | Path,
    nproc: int = 1,
    timeout_s: int = 600,
    env: dict[str, str] | None = None,
) -> list[dict[str, float]]:
    """Run ``python -m funrl.train +recipe=sft_srml hardware=cpu`` in a subprocess; return the per-step metrics.

    ``overrides`` are Hydra overrides on top of the recipe (model.path, data...); ``nproc > 1`` sets
    ``trainer.n_gpus_per_node=nproc``, so the entry point re-launches itself under torchrun with that many
    gloo ranks. Console logging is forced. Raises RuntimeError with the output's tail if the run fails.
    Returns one dict per logged step, e.g. ``{"step": 1, "train/loss": 6.27, ...}``.
    """
    import os
    import re
    import subprocess
    import sys

    cmd = [
        sys.executable,
        "-m",
        "funrl.train",
        "+recipe=sft_srml",
        "hardware=cpu",
        "trainer.logger=[console]",
    ]
    cmd += [f"trainer.n_gpus_per_node={nproc}", *overrides]
    full_env = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1", **(env or {})}
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout_s)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError(f"SFT run failed (exit {proc.returncode}): {' '.join(cmd)}\n{out[-4000:]}")
    steps = []
    for match in re.finditer(r"step:(\d+) - (.*)", out):
        metrics: dict[str, float] = {"step": int(match.group(1))}
        for item in match.group(2).split(" - "):
            key, _, value = item.partition(":")
            try:
                metrics[key.strip()] = float(value)
            except ValueError:
                continue
        steps.append(metrics)
    return steps
