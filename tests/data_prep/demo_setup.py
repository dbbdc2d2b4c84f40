"""The bundled demo data and a pipeline config pointed at a loopback server, shared by the pipeline tests."""

from __future__ import annotations

from funrl.data_prep.config import load_config
from funrl.data_prep.demo import demo_inputs
from funrl.data_prep.readers import read_input
from funrl.data_prep.records import Sample


def demo_samples() -> list[Sample]:
    """The demo inputs' samples, as the readers give them."""
    return [s for inp in demo_inputs() for s in read_input(inp) if isinstance(s, Sample)]


def demo_config(base_url: str, work_dir, *extra: str):
    """A config over the demo inputs (unless ``extra`` sets inputs) whose generator and judge endpoints are
    ``base_url`` (models ``loopback`` and ``loopback-judge``), with short retries; ``extra``: more
    ``key=value`` overrides."""
    cfg = load_config(
        None,
        [
            f"work_dir={work_dir}",
            "progress=false",
            f"generate.endpoint.base_url={base_url}",
            "generate.endpoint.model=loopback",
            "generate.endpoint.concurrency=4",
            "generate.endpoint.backoff_initial_s=0.01",
            "generate.endpoint.backoff_max_s=0.05",
            # the same loopback server judges (it tells the roles apart by the prompt), as its own model
            f"judge.endpoint.base_url={base_url}",
            "judge.endpoint.model=loopback-judge",
            "judge.endpoint.concurrency=4",
            "judge.endpoint.backoff_initial_s=0.01",
            "judge.endpoint.backoff_max_s=0.05",
            *extra,
        ],
    )
    if not cfg.inputs:
        cfg.inputs = demo_inputs()
    return cfg
