"""Per-step means of the multi-turn loop's per-trajectory metrics (logged as ``funrl/multi_turn/*``).

verl 0.9.1's V1 trainer logs ``reward_extra_info`` only in validation; the trainer hook
(``funrl.rl.trainer_hook``) reads each training row's ``extra_fields`` from the TransferQueue and logs
what this module computes: the mean of every numeric metric of :func:`.rewards.trajectory_reward`
(``funrl/multi_turn/final``, ``turn_mean``, ``turns_passed``, ``steps``, ``tool_errors``, ...) and the
share of trajectories per BFCL error type (``funrl/multi_turn/error/<type>``). Standard library only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

PREFIX = "multi_turn/"


def step_metrics(extra_fields: Iterable[Any]) -> dict[str, float]:
    """Means over the rows the ``bfcl_multi_turn`` loop produced ({} when there are none)."""
    rows = [e for e in extra_fields if isinstance(e, dict) and "bfcl_id" in e]
    if not rows:
        return {}
    sums: Counter[str] = Counter()
    for row in rows:
        for key, value in (row.get("reward_extra_info") or {}).items():
            sums[key] += float(value)
    out = {f"{PREFIX}{key}": total / len(rows) for key, total in sums.items()}
    errors = Counter(row.get("bfcl_error_type") or "none" for row in rows)
    out.update({f"{PREFIX}error/{kind}": count / len(rows) for kind, count in errors.items()})
    out[f"{PREFIX}trajectories"] = float(len(rows))
    return out
