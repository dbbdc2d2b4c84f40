"""Render a run's SFT loss, reward, KL and entropy curves to a PNG from its local logs (no network).

    python -m funrl.curves wandb/latest-run -o curves.png
    python -m funrl.curves sft/metrics.jsonl wandb/latest-run --title "SRML SFT + grpo_entropy"  # several runs
    python -m funrl.curves wandb/offline-run-20260101_120000-abcd1234 -o curves.png
    python -m funrl.curves funrl/grpo_entropy_qwen2.5-coder-7b.jsonl -o curves.png   # verl's `file` logger
    python -m funrl.curves RUN --metric train/L_think --metric train/L_call           # any logged keys

Sources:
- a W&B run folder (``wandb/run-*`` or ``wandb/offline-run-*``, or ``wandb/`` itself for its latest run),
  or its ``run-<id>.wandb`` file: W&B writes it locally whether online or offline. It is a LevelDB-style
  record log of protobuf ``Record`` messages (``wandb.proto``); the history records are read from it.
- verl's ``file`` logger (``trainer.logger=[...,file]``): JSON lines ``{"step": s, "data": {key: value}}``.

Default panels (each drawn with the keys it finds; a panel none of whose keys was logged is left out):
SFT loss ``train/L_think``, ``train/L_call``, ``train/L_total`` (SRML); reward ``critic/score/mean``; KL ``actor/kl_loss`` (KL to the reference policy) and ``actor/ppo_kl`` (to the
sampling policy); entropy ``actor/entropy`` and ``funrl/cot_entropy_mean`` (CoT tokens only).
"""

from __future__ import annotations

import argparse
import json
import math
import struct
from collections.abc import Sequence
from pathlib import Path

Series = dict[str, list[tuple[int, float]]]

DEFAULT_PANELS: dict[str, tuple[str, ...]] = {
    "SFT loss": ("train/L_think", "train/L_call", "train/L_total"),
    "reward": ("critic/score/mean",),
    "KL": ("actor/kl_loss", "actor/ppo_kl"),
    "entropy": ("actor/entropy", "funrl/cot_entropy_mean"),
}

_WANDB_HEADER = b":W&B"
_BLOCK = 32768
_RECORD_HEADER = 7  # crc32 (4), length (2, little endian), type (1)
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def wandb_file(path: Path) -> Path:
    if path.is_file():
        return path
    if (path / "latest-run").exists():
        path = path / "latest-run"
    files = sorted(path.glob("run-*.wandb"))
    if len(files) != 1:
        raise FileNotFoundError(
            f"{path}: expected one run-*.wandb file in a W&B run folder, found {len(files)}"
        )
    return files[0]


def wandb_records(data: bytes) -> list[bytes]:
    """Split a ``.wandb`` file into its record payloads (LevelDB log format, 32 KiB blocks)."""
    if not data.startswith(_WANDB_HEADER):
        raise ValueError("not a W&B run file (no ':W&B' header)")
    records, pending, pos = [], b"", 7  # 4-byte ident, 2-byte magic, 1-byte version
    while pos + _RECORD_HEADER <= len(data):
        left_in_block = _BLOCK - pos % _BLOCK
        if left_in_block < _RECORD_HEADER:  # block trailer padding
            pos += left_in_block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + _RECORD_HEADER])
        payload = data[pos + _RECORD_HEADER : pos + _RECORD_HEADER + length]
        pos += _RECORD_HEADER + length
        if kind == 0 and length == 0:  # zero padding
            continue
        if kind == _FULL:
            records.append(payload)
        elif kind == _FIRST:
            pending = payload
        elif kind == _MIDDLE:
            pending += payload
        elif kind == _LAST:
            records.append(pending + payload)
            pending = b""
        else:
            raise ValueError(f"W&B run file: unknown record type {kind} at byte {pos}")
    return records


def read_wandb(path: str | Path) -> Series:
    """History of a local W&B run: ``{key: [(step, value), ...]}`` for every numeric key."""
    from wandb.proto import wandb_internal_pb2 as pb

    series: Series = {}
    for payload in wandb_records(wandb_file(Path(path)).read_bytes()):
        record = pb.Record()
        record.ParseFromString(payload)
        if not record.HasField("history"):
            continue
        row = {}
        for item in record.history.item:
            key = item.key or "/".join(item.nested_key)
            row[key] = json.loads(item.value_json)
        step = row.get("_step", record.history.step.num)
        for key, value in row.items():
            if not key.startswith("_") and isinstance(value, int | float) and not isinstance(value, bool):
                series.setdefault(key, []).append((int(step), float(value)))
    return series


def read_jsonl(path: str | Path) -> Series:
    """History from verl's ``file`` logger: lines ``{"step": s, "data": {key: value}}``."""
    series: Series = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if "step" not in row or not isinstance(row.get("data"), dict):
                raise ValueError(f"{path}:{number}: not a verl file-logger line (needs 'step' and 'data')")
            for key, value in row["data"].items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    series.setdefault(key, []).append((int(row["step"]), float(value)))
    return series


def read_run(path: str | Path) -> Series:
    """Read a W&B run (folder or ``.wandb`` file) or a verl ``.jsonl`` log."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such run log: {path}")
    if path.suffix == ".jsonl":
        return read_jsonl(path)
    return read_wandb(path)


def plotted_series(
    series: Series, panels: dict[str, Sequence[str]], *, skip_missing: bool = False
) -> dict[str, Series]:
    """What ``plot`` draws: panel name -> {key: finite (step, value) points, sorted}. KeyError naming the
    panels with no logged key (``skip_missing``: such panels are left out; KeyError only if none is left)."""
    chosen = {name: [k for k in keys if k in series] for name, keys in panels.items()}
    missing = [name for name, keys in chosen.items() if not keys]
    if skip_missing and len(missing) < len(chosen):
        chosen = {name: keys for name, keys in chosen.items() if keys}
    elif missing:
        wanted = {name: list(panels[name]) for name in missing}
        raise KeyError(f"no logged values for {wanted}; logged keys: {sorted(series)}")
    return {
        name: {k: sorted(p for p in series[k] if math.isfinite(p[1])) for k in keys}
        for name, keys in chosen.items()
    }


def plot(
    series: Series,
    panels: dict[str, Sequence[str]],
    out: str | Path,
    *,
    title: str = "",
    skip_missing: bool = False,
) -> Path:
    """Draw one panel per entry of ``panels`` (the keys present in ``series``; steps on an integer axis)
    and save a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    chosen = plotted_series(series, panels, skip_missing=skip_missing)
    fig, axes = plt.subplots(1, len(chosen), figsize=(5 * len(chosen), 3.6), squeeze=False)
    for ax, (name, lines) in zip(axes[0], chosen.items()):
        for key, points in lines.items():
            ax.plot(
                [s for s, _ in points],
                [v for _, v in points],
                marker="." if len(points) < 50 else None,
                label=key,
            )
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def read_runs(paths: Sequence[str | Path]) -> Series:
    """Several runs (e.g. the SFT warm start and the RL run) as one history; a key logged by several runs
    keeps the points of each."""
    series: Series = {}
    for path in paths:
        for key, points in read_run(path).items():
            series.setdefault(key, []).extend(points)
    return series


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m funrl.curves RUN [RUN ...] [-o PNG] [--metric KEY ...] [--title TEXT]``."""
    parser = argparse.ArgumentParser(prog="python -m funrl.curves", description=__doc__.split("\n")[0])
    parser.add_argument(
        "runs", nargs="+", metavar="run", help="W&B run folder / .wandb file, or a verl file-logger .jsonl"
    )
    parser.add_argument("-o", "--out", default="curves.png", help="PNG to write (default: curves.png)")
    parser.add_argument(
        "--metric", action="append", default=[], help="a logged key to plot in its own panel (repeatable)"
    )
    parser.add_argument("--title", default=None, help="figure title (default: the run paths)")
    args = parser.parse_args(argv)
    from funrl.train.extras import require_train_extra

    # matplotlib draws; wandb's protobuf classes read a W&B run (verl's .jsonl logs need only matplotlib)
    jsonl_only = all(str(run).endswith(".jsonl") for run in args.runs)
    require_train_extra("funrl.curves", ("matplotlib",) if jsonl_only else ("matplotlib", "wandb"))
    series = read_runs(args.runs)
    panels = {key: (key,) for key in args.metric} if args.metric else DEFAULT_PANELS
    title = args.title if args.title is not None else ", ".join(map(str, args.runs))
    try:
        out = plot(series, panels, args.out, title=title, skip_missing=not args.metric)
    except KeyError as err:
        parser.exit(2, f"funrl.curves: {err.args[0]}\n")
    print(f"wrote {out} ({', '.join(panels)})")


if __name__ == "__main__":
    main()
