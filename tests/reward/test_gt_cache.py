"""The ground-truth cache is bounded in bytes, not by count (#12 item 6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc

import pytest
from funrl.reward import compute_score
from funrl.reward.ground_truth import ground_truth_from_dict, ground_truth_from_json
from funrl.reward.gt_cache import (
    COST_PER_BYTE,
    DEFAULT_BUDGET,
    ENV_BUDGET,
    ByteBoundedCache,
    budget_from_env,
    charge,
)


def big_gt(i: int, size: int = 200_000) -> str:
    """A distinct ground truth of about ``size`` characters (a long acceptable string)."""
    fn = [{"name": "f", "parameters": {"properties": {"s": {"type": "string"}}}}]
    return json.dumps(
        {"functions": fn, "possible_answer": [{"f": {"s": [f"{i}-" + "x" * size]}}], "category": "simple"}
    )


@pytest.fixture
def small_cache():
    cache = ground_truth_from_json.cache
    saved = cache.budget
    cache.clear()
    cache.budget = 40 * 2**20
    yield cache
    cache.budget = saved
    cache.clear()


def test_distinct_200kb_ground_truths_stay_within_the_byte_budget(small_cache):
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        texts = [big_gt(i) for i in range(60)]
        text_bytes = tracemalloc.get_traced_memory()[0] - base
        for t in texts:
            assert compute_score("x", '[f(s="no")]', t)["score"] == 0.0
        held = tracemalloc.get_traced_memory()[0] - base - text_bytes
    finally:
        tracemalloc.stop()
    info = small_cache.info()
    # 200 KB -> charged 72 x 200,049 + 16 KiB = 14.4 MB each: two fit in 40 MiB, the 58 others were evicted
    assert charge(texts[0]) == COST_PER_BYTE * sys.getsizeof(texts[0]) + 16 * 1024
    assert info["entries"] == 2 and info["used"] <= small_cache.budget
    assert held < small_cache.budget  # resident, measured: what the cache keeps is within its budget
    assert ground_truth_from_json(texts[-1]) is ground_truth_from_json(texts[-1])  # the newest is kept
    assert small_cache.info()["hits"] >= 1


def test_least_recently_used_goes_first_and_an_oversized_entry_is_not_kept():
    one = charge("a" * 100)
    cache = ByteBoundedCache(budget=2 * one)
    cache.put("a" * 100, 1)
    cache.put("b" * 100, 2)
    assert cache.get("a" * 100) == 1  # a is now the most recent
    cache.put("c" * 100, 3)
    assert cache.get("b" * 100) is None and cache.get("a" * 100) == 1 and cache.get("c" * 100) == 3
    cache.put("d" * 10_000, 4)  # charged more than the whole budget: not kept, nothing evicted
    assert cache.get("d" * 10_000) is None and cache.info()["entries"] == 2
    assert cache.info()["used"] == 2 * one


@pytest.mark.parametrize(
    "vals",
    [
        [{} for _ in range(20_000)],  # the worst shape measured (~67 x its JSON)
        [[] for _ in range(20_000)],
        ["ab" for _ in range(20_000)],
        ["z" * 2000 for _ in range(20)],
    ],
)
def test_charge_covers_the_prepared_footprint_of_hostile_shapes(vals):
    ptype = "dict" if isinstance(vals[0], dict) else "string" if isinstance(vals[0], str) else "array"
    schema = {"type": ptype, "items": {"type": "string"}}
    fn = [{"name": "f", "parameters": {"properties": {"p": schema}}}]
    text = json.dumps({"functions": fn, "possible_answer": [{"f": {"p": vals}}], "category": "simple"})
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        gt = ground_truth_from_dict(json.loads(text))
        ap = gt.plans[0].answer.param("p")
        built = (ap.std_strings, ap.std_lists, ap.std_dicts)  # every standardised form a check can build
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert held < charge(text)
    assert gt is not None and len(built) == 3


def test_budget_from_the_environment():
    assert budget_from_env({}) == DEFAULT_BUDGET == 256 * 2**20
    assert budget_from_env({ENV_BUDGET: "1000000"}) == 1_000_000
    assert budget_from_env({ENV_BUDGET: "0"}) == 0
    for bad in ("abc", "-5", "1.5"):
        with pytest.raises(ValueError, match=f"{ENV_BUDGET} must be a number of bytes"):
            budget_from_env({ENV_BUDGET: bad})
    # verl's reward workers and the server's workers import the same module: the variable reaches both
    code = (
        "from funrl.reward.ground_truth import ground_truth_from_json as g; "
        "from funrl.reward import serve_protocol; print(g.cache.budget)"
    )
    env = {**os.environ, ENV_BUDGET: "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "12345", out.stderr


def test_the_last_string_is_answered_without_a_lookup_and_never_outlives_the_cache(small_cache):
    """A group of rollouts is scored one after another against one string: the cache answers it from
    its last entry (an equal string, or the same object) -- but only what the cache itself keeps."""
    text = big_gt(1, size=10)
    first = ground_truth_from_json(text)
    hits = small_cache.info()["hits"]
    assert ground_truth_from_json(text) is first  # the same object
    assert ground_truth_from_json(text.encode().decode()) is first  # an equal string, a new object
    assert small_cache.info()["hits"] == hits + 2
    small_cache.clear()  # cleared: the last entry goes too
    assert ground_truth_from_json(text) is not first
    small_cache.budget = 0  # caching off: nothing is kept, not even the last string
    small_cache.clear()
    off = ground_truth_from_json(text)
    assert ground_truth_from_json(text) is not off and small_cache.info()["entries"] == 0
    # the verdicts do not depend on where the ground truth came from
    assert compute_score("x", '[f(s="1-xxxxxxxxxx")]', text)["score"] == 1.0
    assert compute_score("x", '[f(s="no")]', text)["error_type"] == "value_error:string"
