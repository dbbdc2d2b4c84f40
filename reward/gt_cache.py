"""The cache of prepared ground truths, bounded in bytes rather than by count.

verl scores a whole group of rollouts against the same ground-truth JSON string, so
:func:`funrl.reward.compute_score` (verl's reward workers), the reward server's workers and the CLI keep
each string's prepared :class:`~funrl.reward.GroundTruth`, least recently used first out. The bound is on
memory: each entry is charged ``COST_PER_BYTE`` times the size of its JSON string (``sys.getsizeof``) plus
``ENTRY_OVERHEAD``, and the charges of all entries stay at most the budget -- ``FUNRL_GT_CACHE_BYTES``
(bytes, read at import; ``0`` turns caching off), default ``DEFAULT_BUDGET`` (256 MiB) per process. A
string whose charge alone passes the budget is prepared but not kept.

``COST_PER_BYTE`` is a measured upper bound: a prepared ground truth (the decoded JSON, its parameter
plans and every standardised form a check can build) takes 5-12 times its JSON's size for BFCL-like
data and at most ~67 times for the worst shapes measured (tens of thousands of empty dicts or lists as
acceptable values; tests/reward/test_gt_cache.py measures it), so the resident memory of the cache stays
within the budget.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps
from typing import Any

DEFAULT_BUDGET = 256 * 2**20
COST_PER_BYTE = 72
ENTRY_OVERHEAD = 16 * 2**10
ENV_BUDGET = "FUNRL_GT_CACHE_BYTES"


def budget_from_env(environ: Any = os.environ) -> int:
    raw = environ.get(ENV_BUDGET)
    if raw is None or raw.strip() == "":
        return DEFAULT_BUDGET
    try:
        budget = int(raw)
    except ValueError:
        budget = -1
    if budget < 0:
        raise ValueError(f"{ENV_BUDGET} must be a number of bytes (0 turns the cache off), got {raw!r}")
    return budget


def charge(key: str) -> int:
    """What an entry keyed by this JSON string is charged against the budget, in bytes."""
    return COST_PER_BYTE * sys.getsizeof(key) + ENTRY_OVERHEAD


class ByteBoundedCache:
    """A thread-safe LRU map from JSON strings to prepared values whose total charge stays <= budget."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.hits = self.misses = 0
        self._entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        # The most recently used (key, value), read without the lock: verl scores a group of rollouts one
        # after another against one ground-truth string, so most lookups are this one. Always an entry
        # the cache holds (its MRU end), replaced as a whole (one atomic store).
        self.last: tuple[str | None, Any] = (None, None)

    def get(self, key: str) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            self.last = (key, entry[0])
            return entry[0]

    def put(self, key: str, value: Any) -> None:
        cost = charge(key)
        if cost > self.budget:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.used -= old[1]
            while self._entries and self.used + cost > self.budget:
                self.used -= self._entries.popitem(last=False)[1][1]
            self._entries[key] = (value, cost)
            self.used += cost
            self.last = (key, value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.used = self.hits = self.misses = 0
            self.last = (None, None)

    def info(self) -> dict:
        with self._lock:
            return {
                "entries": len(self._entries),
                "used": self.used,
                "budget": self.budget,
                "hits": self.hits,
                "misses": self.misses,
            }


def byte_bounded_cache(fn: Callable[[str], Any]) -> Callable[[str], Any]:
    """Cache ``fn(text)`` in a :class:`ByteBoundedCache` (``wrapper.cache``); exceptions are not cached."""
    cache = ByteBoundedCache(budget_from_env())

    @wraps(fn)
    def wrapper(text: str) -> Any:
        key, value = cache.last
        if text == key:  # the same string as the last lookup (identity first, in C): no lock, no LRU move
            cache.hits += 1  # statistics: not under the lock, may undercount across threads
            return value
        value = cache.get(text)
        if value is None:
            value = fn(text)
            cache.put(text, value)
        return value

    wrapper.cache = cache  # type: ignore[attr-defined]
    wrapper.cache_clear = cache.clear  # type: ignore[attr-defined]
    wrapper.cache_info = cache.info  # type: ignore[attr-defined]
    return wrapper
