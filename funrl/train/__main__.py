"""``python -m funrl.train [--check] +recipe=<name> [hardware=<gpu>] [key=value ...] [Hydra flags]``.

``--check`` composes, resolves and validates the config, prints the batch arithmetic and exits without
starting anything. Hydra's own flags work as usual: ``--cfg job [--resolve]`` prints the composed config,
``--info defaults`` shows which files it came from.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from funrl.train import CONFIG_MODULE, PRIMARY_CONFIG
from funrl.train.extras import require_train_extra
from funrl.train.usage import HELP_FLAGS, help_text

if TYPE_CHECKING:
    from omegaconf import DictConfig

CHECK_FLAG = "--check"
_check_only = False


def _task(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from funrl.train.runners import prepare, run

    try:
        summary = prepare(cfg)
    except ValueError as err:
        print(f"[funrl.train] config error: {err}", file=sys.stderr, flush=True)
        sys.exit(2)
    for line in summary:
        print(f"[funrl.train] {line}", flush=True)
    if _check_only:
        print("[funrl.train] config OK (--check: nothing started)", flush=True)
        return
    run(cfg, overrides=list(HydraConfig.get().overrides.task))


def main() -> None:
    """Console entry point (``funrl-train``) and ``python -m funrl.train``."""
    if any(arg in HELP_FLAGS for arg in sys.argv[1:]):
        print(help_text())
        return
    require_train_extra("funrl.train")
    import hydra

    global _check_only
    _check_only = CHECK_FLAG in sys.argv[1:]
    sys.argv = [arg for arg in sys.argv if arg != CHECK_FLAG]
    hydra.main(config_path=f"pkg://{CONFIG_MODULE}", config_name=PRIMARY_CONFIG, version_base=None)(_task)()


if __name__ == "__main__":
    main()
