"""Checks of what a run reads, before anything starts: data files, the model path, the tokenizer.

``check_inputs(cfg)`` (a *resolved* config) runs in ``--check`` and before every real run, in seconds and
without a GPU or a download:

- every data file (``data.train_files``, ``data.val_files``) exists, is a parquet file and has the
  columns the stage reads (RL: verl's ``data.prompt_key``, ``data.reward_fn_key`` and ``reward_model``;
  SFT: ``data.messages_key``), and the training file holds at least one batch (verl drops the last
  incomplete batch, so fewer rows than ``data.train_batch_size`` train nothing);
- the model path is a local model directory (with ``config.json``), or a Hugging Face Hub id when the
  Hub can be reached (offline, ``HF_HUB_OFFLINE=1``, a Hub id not in the local cache is refused: it is
  what a recipe's default model silently becomes);
- the tokenizer loads from local files and its chat template renders the first rows' prompts;
- RL rows scored by ``funrl.reward`` (the recipes' reward function) carry a ground truth that validates
  in full (a bad one would stop the run when its row comes up); ``bfcl_multi_turn`` rows carry a
  runnable BFCL entry.

Each failure raises ValueError with one line naming the key and the value. Remote paths (``hdfs://``,
``s3://``) are left to verl.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from funrl.train import RL, stage_of

OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
ROWS_RENDERED = 3
"""Rows whose prompts the chat template must render (the first ones of the training file)."""


def check_inputs(cfg: DictConfig) -> list[str]:
    """Check the data files, the model path and the tokenizer of a resolved config; return summary lines."""
    rl = stage_of(cfg) == RL
    columns = _required_columns(cfg, rl)
    lines = []
    train = _files(cfg, "train_files")
    for key in ("train_files", "val_files"):
        for path in _files(cfg, key):
            rows = _check_parquet(f"data.{key}", path, columns, rl)
            if rows is not None and rl:
                _check_rl_rows(f"data.{key}", path, scored=_scored_by_funrl_reward(cfg))
            if rows is not None:
                lines.append(f"data.{key}: {path} ({rows} rows)")
    _check_batch_fits(cfg, train, rl)
    model_key = "actor_rollout_ref.model" if rl else "model"
    model = OmegaConf.select(cfg, model_key)
    local = _check_model_path(f"{model_key}.path", model.get("path"))
    lines.append(f"model: {model.path}" + ("" if local else " (Hugging Face Hub id, downloaded at start)"))
    tokenizer_path = model.get("tokenizer_path") or model.path
    if local and train and "://" not in train[0]:
        tokenizer = _load_tokenizer(
            f"{model_key}.path", tokenizer_path, model.get("trust_remote_code", False)
        )
        _check_chat_template(cfg, tokenizer, tokenizer_path, train[0], rl)
        lines.append(f"chat template of {tokenizer_path} renders the first prompts of {train[0]}")
    return lines


def _required_columns(cfg: DictConfig, rl: bool) -> dict[str, str]:
    """{column: the config key (or reason) that makes the stage read it}."""
    if rl:
        return {
            cfg.data.get("prompt_key", "prompt"): "data.prompt_key",
            cfg.data.get("reward_fn_key", "data_source"): "data.reward_fn_key",
            "reward_model": "the reference answer, reward_model.ground_truth",
        }
    return {cfg.data.get("messages_key", "messages"): "data.messages_key"}


def _files(cfg: DictConfig, key: str) -> list[str]:
    value = cfg.data.get(key)
    if value is None:
        return []
    if isinstance(value, ListConfig | list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def _check_parquet(key: str, path: str, columns: dict[str, str], rl: bool) -> int | None:
    """Rows of a local parquet file that has ``columns``; None for a remote path. Raises ValueError."""
    if "://" in path:
        return None
    import pyarrow.parquet as pq

    local = Path(path).expanduser()
    if not local.is_file():
        what = "is a directory, not a parquet file" if local.is_dir() else "does not exist"
        raise ValueError(f"{key}={path} {what}")
    try:
        meta = pq.ParquetFile(local)
    except Exception as err:  # pyarrow raises several types for a file that is not parquet
        raise ValueError(f"{key}={path} is not a readable parquet file ({err})") from err
    names = set(meta.schema_arrow.names)
    missing = [c for c in columns if c not in names]
    if missing:
        why = ", ".join(f"{c} ({columns[c]})" for c in missing)
        hint = _other_stage_hint(names, rl)
        raise ValueError(
            f"{key}={path} lacks the column(s) the {'RL' if rl else 'SFT'} recipe reads: {why}; "
            f"it has: {', '.join(sorted(names))}{hint}"
        )
    if meta.metadata.num_rows == 0:
        raise ValueError(f"{key}={path} has no rows")
    return meta.metadata.num_rows


def _check_rl_rows(key: str, path: str, scored: bool) -> None:
    """What verl reads of each RL row only when the row comes up in a step: a broken one would stop the run
    there, hours in. ``bfcl_multi_turn`` rows (``agent_name``) carry a runnable BFCL entry; the others, when
    ``funrl.reward`` scores the run (``scored``), a ground truth that validates in full. Raises ValueError
    naming the row and the field."""
    import pyarrow.parquet as pq

    from funrl.rl.multi_turn import AGENT_NAME

    local = Path(path).expanduser()
    names = set(pq.ParquetFile(local).schema_arrow.names)
    agents = (
        pq.read_table(local, columns=["agent_name"]).column("agent_name").to_pylist()
        if "agent_name" in names
        else []
    )
    multi_turn = [i for i, agent in enumerate(agents) if agent == AGENT_NAME]
    if multi_turn:
        _check_multi_turn_rows(key, path, local, names, multi_turn)
    if scored:
        _check_ground_truths(key, path, local, skip=set(multi_turn))


def _check_multi_turn_rows(key: str, path: str, local: Path, names: set[str], rows: list[int]) -> None:
    """The ``bfcl_multi_turn`` rows ``rows`` carry a runnable BFCL entry in ``extra_info.bfcl_entry``."""
    import pyarrow.parquet as pq

    from funrl.rl.multi_turn import AGENT_NAME

    if "extra_info" not in names:
        raise ValueError(
            f"{key}={path} has {len(rows)} {AGENT_NAME} row(s) but no extra_info column (the BFCL entry, "
            "extra_info.bfcl_entry; write the rows with python -m funrl.rl.multi_turn.data)"
        )
    try:
        from funrl.rl.multi_turn.data import entry_of, validate_entry
    except ImportError as err:  # funrl.envs.bfcl's message says what to install
        raise ValueError(f"{key}={path} has {AGENT_NAME} rows: {err}") from None
    infos = pq.read_table(local, columns=["extra_info"]).column("extra_info").to_pylist()
    for i in rows:
        try:
            validate_entry(entry_of(infos[i]))
        except ValueError as err:
            raise ValueError(f"{key}={path} row {i}: {err}") from None


def _scored_by_funrl_reward(cfg: DictConfig) -> bool:
    """True when verl's reward function is ``funrl.reward.compute_score`` (every FunRL RL recipe's)."""
    fn = OmegaConf.select(cfg, "reward.custom_reward_function")
    if fn is None or not fn.get("path"):
        return False
    path, name = str(fn.get("path")), str(fn.get("name") or "compute_score")
    module = path[len("pkg://") :] if path.startswith("pkg://") else path
    return name == "compute_score" and module in ("funrl.reward", "funrl.reward.api")


def _check_ground_truths(key: str, path: str, local: Path, skip: set[int]) -> None:
    """Every row ``funrl.reward`` scores (all but ``skip``, the ``bfcl_multi_turn`` rows, whose loop sets
    the reward) carries a ground truth that loads and validates in full."""
    import json

    import pyarrow.parquet as pq

    from funrl.reward.api import load_ground_truth

    rewards = pq.read_table(local, columns=["reward_model"]).column("reward_model").to_pylist()
    fix = "write it with funrl.reward.ground_truth_json (funrl.data_prep export / convert do)"
    for i, reward in enumerate(rewards):
        if i in skip:
            continue
        if not isinstance(reward, dict) or "ground_truth" not in reward:
            what = (
                "no ground_truth" if isinstance(reward, dict) else f"a {type(reward).__name__}, not a struct"
            )
            raise ValueError(f"{key}={path} row {i}: reward_model is {what} (funrl.reward scores this row)")
        gt = reward["ground_truth"]
        try:  # not through the reward's cache: the driver scores nothing
            load_ground_truth(json.loads(gt) if isinstance(gt, str) else gt).validate()
            continue
        except json.JSONDecodeError as err:
            reason = f"not valid JSON ({err})"
        except RecursionError:
            reason = "nests too deep"
        except ValueError as err:  # GroundTruthError is one
            reason = str(err)
        raise ValueError(f"{key}={path} row {i}: reward_model.ground_truth: {reason}; {fix}")


def _other_stage_hint(names: set[str], rl: bool) -> str:
    if rl and "messages" in names:
        return " (an SFT parquet? RL recipes read rl.parquet from funrl.data_prep)"
    if not rl and "prompt" in names:
        return " (an RL parquet? SFT recipes read sft.parquet from funrl.data_prep)"
    return ""


def _check_batch_fits(cfg: DictConfig, train: list[str], rl: bool) -> None:
    import pyarrow.parquet as pq

    local = [p for p in train if "://" not in p]
    if not local or len(local) < len(train):
        return
    rows = sum(pq.ParquetFile(Path(p).expanduser()).metadata.num_rows for p in local)
    cap = int(cfg.data.get("train_max_samples", -1) or -1)
    if cap > 0:
        rows = min(rows, cap)
    batch = int(cfg.data.train_batch_size)
    unit = "prompts" if rl else "samples"
    if rows < batch:
        raise ValueError(
            f"data.train_batch_size={batch} {unit} does not fit the {rows} rows of data.train_files "
            f"({', '.join(train)}): not one full batch, and verl drops incomplete ones; lower "
            "data.train_batch_size or use more data"
        )


def _offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in {"1", "true", "yes", "on"} for v in OFFLINE_VARIABLES)


def _check_model_path(key: str, path: Any) -> bool:
    """True for a local model directory; False for a Hub id that may be used. Raises ValueError."""
    if path is None or path == "???":
        raise ValueError(
            f"{key} is required (a local model directory or a Hugging Face Hub id), e.g. {key}=/models/x"
        )
    path = str(path)
    local = Path(path).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise ValueError(f"{key}={path} is a directory without config.json (not a Hugging Face model)")
        return True
    if local.exists():
        raise ValueError(f"{key}={path} is a file, not a model directory")
    if path.startswith(("/", ".", "~")) or not HUB_ID.match(path):
        raise ValueError(f"{key}={path} does not exist")
    if _offline() and not _in_hub_cache(path):
        raise ValueError(
            f"{key}={path} is a Hugging Face Hub id, not in the local cache, and the Hub is off "
            f"(HF_HUB_OFFLINE=1): pass a local model directory, {key}=/path/to/model"
        )
    return _in_hub_cache(path) if _offline() else False


def _in_hub_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def _load_tokenizer(key: str, path: str, trust_remote_code: bool):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=trust_remote_code)
    except Exception as err:
        raise ValueError(f"{key}={path}: the tokenizer does not load ({type(err).__name__}: {err})") from err


def _check_chat_template(cfg: DictConfig, tokenizer: Any, where: str, path: str, rl: bool) -> None:
    import pyarrow.parquet as pq

    key = cfg.data.get("prompt_key", "prompt") if rl else cfg.data.get("messages_key", "messages")
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(f"tokenizer of {where} has no chat template; the recipes render chat prompts")
    kwargs = cfg.data.get("apply_chat_template_kwargs")
    kwargs = OmegaConf.to_container(kwargs, resolve=True) if isinstance(kwargs, DictConfig) else {}
    table = next(
        pq.ParquetFile(Path(path).expanduser()).iter_batches(batch_size=ROWS_RENDERED, columns=[key])
    )
    for i, messages in enumerate(table.column(0).to_pylist()):
        try:
            text = tokenizer.apply_chat_template(messages, add_generation_prompt=rl, tokenize=False, **kwargs)
        except Exception as err:
            raise ValueError(
                f"data.train_files={path} row {i}: the chat template of {where} does not render column "
                f"{key!r} ({type(err).__name__}: {err})"
            ) from err
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"data.train_files={path} row {i}: the chat template of {where} renders nothing")
