"""Token counts with the target model's tokenizer: the FunReason Table 1 length report and the SFT length
filter that keeps a row longer than the SFT recipe's ``data.max_length`` out of ``sft.parquet``.

A conversation is counted as verl's ``MultiTurnSFTDataset`` sees it: the tokenizer's chat template over all
its messages, no generation prompt. transformers is imported only when a tokenizer is given (the light
install does not need it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from .config import ConfigError


@lru_cache(maxsize=4)
def load_tokenizer(tokenizer_dir: str):
    from transformers import AutoTokenizer  # lazy: only when a tokenizer is configured

    try:
        return AutoTokenizer.from_pretrained(tokenizer_dir)
    except (OSError, ValueError) as e:
        raise ConfigError(f"output.tokenizer {tokenizer_dir!r} cannot be loaded: {e}") from None


def conversation_counter(tokenizer_dir: str) -> Callable[[list[dict]], int]:
    """-> count(messages): the number of tokens verl's SFT dataset builds from these messages."""
    tok = load_tokenizer(tokenizer_dir)
    if not getattr(tok, "chat_template", None):
        raise ConfigError(
            f"output.tokenizer {tokenizer_dir!r} has no chat template; verl's SFT dataset needs one "
            "(point output.tokenizer at the chat model's tokenizer)"
        )

    def count(messages: list[dict]) -> int:
        ids = tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=False)
        if isinstance(ids, dict) or hasattr(ids, "keys"):  # newer transformers may return a BatchEncoding
            ids = ids["input_ids"]
        return len(ids)

    return count


def split_overlong(
    rows: list[dict], tokenizer_dir: str | None, max_length: int | None
) -> tuple[list[dict], list[dict], str]:
    """SFT rows -> (kept, overlong records, what was checked). Nothing is dropped without a tokenizer or
    a limit (the third value says so); an overlong record is {sample_id, index, tokens, max_length}."""
    if max_length is None:
        return rows, [], "off (output.max_length is null)"
    if tokenizer_dir is None:
        return rows, [], "off (no output.tokenizer: token counts need the target tokenizer)"
    count = conversation_counter(tokenizer_dir)
    kept, overlong = [], []
    for row in rows:
        n = count(row["messages"])
        if n > max_length:
            overlong.append(
                {"sample_id": row["sample_id"], "index": row["index"], "tokens": n, "max_length": max_length}
            )
        else:
            kept.append(row)
    return kept, overlong, f"tokens of {tokenizer_dir} <= {max_length}"
