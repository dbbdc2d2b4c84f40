"""funrl.envs.bfcl's checker: agreement with BFCL's official verdicts, hand-made cases, per-turn check."""

from __future__ import annotations

import functools

import bfcl_eval  # noqa: E402, F401  (installed by the README's test command: pip install --no-deps bfcl-eval)
import pytest

from funrl.envs.bfcl import Checker, check_multi_turn, check_turns, load_all  # noqa: E402

from .bfcl_cases import CASES, MENTIONS, one_step  # noqa: E402


@functools.cache
def entries() -> dict[str, dict]:
    return {e["id"]: e for e in load_all()}


def _mismatches(golden: list[dict]) -> tuple[list, int]:
    """Candidates whose (valid, error_type) differs from the official verdict, and how many were compared
    (those where BFCL's own code raised, ``valid`` null, are skipped)."""
    by_id = entries()
    mismatches, n = [], 0
    for c in golden:
        result = check_multi_turn(by_id[c["id"]], c["model_turns"])  # never raises
        if c["valid"] is None:  # BFCL's own code raised on this candidate
            continue
        n += 1
        want = (c["valid"], None if c["valid"] else c["error_type"])
        got = (result.valid, result.error_type)
        if got != want:
            mismatches.append((c["id"], c["kind"], want, got))
    return mismatches, n


def test_golden_agreement():
    """100% agreement (valid and error_type) with the official checker's golden verdicts."""
    from tests.bfcl_multi_turn_data import candidates

    by_id = entries()
    everything = candidates()
    mismatches, n = _mismatches(everything)
    raised = sum(c["valid"] is None for c in everything)
    assert n + raised == len(everything) >= 36_000  # the whole golden set, every entry of the 4 categories
    assert len({c["id"] for c in everything}) == len(by_id) == 800
    assert not mismatches, f"{len(mismatches)} of {n} differ, e.g. {mismatches[:5]}"


def test_golden_agreement_on_calls_inside_arguments():
    """Nested calls as BFCL's decoder writes them (``f(a=g(b=1))``) run as BFCL's eval runs them: the
    official verdicts of 4,265 candidates (builtins around values, ground-truth calls inside arguments,
    an undefined name after a nested call), 100% agreement."""
    from tests.bfcl_multi_turn_data import nested_candidates

    everything = nested_candidates()
    mismatches, _ = _mismatches(everything)
    kinds = {c["kind"] for c in everything}
    assert len(everything) == 4265 and len(kinds) == 7 and all(c["valid"] is not None for c in everything)
    assert sum(c["valid"] for c in everything) == 1101  # both verdicts well represented
    assert not mismatches, f"{len(mismatches)} of {len(everything)} differ, e.g. {mismatches[:5]}"


@pytest.mark.parametrize("name,entry_id,transform,build,expected", CASES, ids=[c[0] for c in CASES])
def test_hand_cases(name, entry_id, transform, build, expected):
    entry = entries()[entry_id]
    if transform is not None:
        entry = transform(entry)
    result = check_multi_turn(entry, build(entry["ground_truth"]))
    assert (result.valid, result.error_type) == expected, result.error_message


def test_ground_truth_of_every_entry_passes():
    for entry in entries().values():
        assert check_multi_turn(entry, one_step(entry["ground_truth"])).valid, entry["id"]


def test_result_details_and_float():
    entry = entries()["multi_turn_base_0"]
    turns = one_step(entry["ground_truth"])
    turns[1] = [[entry["ground_truth"][1][0]]]  # the grep result is missing
    r = check_multi_turn(entry, turns)
    assert not r and float(r) == 0.0
    assert r.error_message.endswith("for turn 1.")
    assert len(r.details["missing_items"]) == 1 and "budget analysis" in r.details["missing_items"][0]
    ok = check_multi_turn(entry, one_step(entry["ground_truth"]))
    assert ok and float(ok) == 1.0 and ok.error_type is None


def test_inference_error_and_empty_steps_dropped():
    entry = entries()["multi_turn_base_0"]
    assert check_multi_turn(entry, "nope").error_type == "multi_turn:inference_error"
    turns = [[[], [""], [c]] for c in ([t[0]] for t in entry["ground_truth"])]
    # only the first call of each turn: fails, but the empty steps themselves change nothing
    base = check_multi_turn(entry, [[[t[0]]] for t in entry["ground_truth"]])
    assert (check_multi_turn(entry, turns).error_type) == base.error_type
    padded = [[[], *[[c] for c in t], [""]] for t in entry["ground_truth"]]
    assert check_multi_turn(entry, padded).valid


def test_strict_refuses_functions_before_their_turn():
    entry = entries()["multi_turn_miss_func_0"]
    gt = entry["ground_truth"]
    turns = one_step([gt[0], gt[1] + ["sort(file_name='final_report.pdf')"], [], ["pwd()"], gt[4]])
    assert check_multi_turn(entry, turns).valid  # BFCL executes it
    strict = check_multi_turn(entry, turns, strict=True)
    assert strict.error_type == "multi_turn:execution_response_mismatch"


def test_check_turns_per_turn():
    entry = entries()["multi_turn_base_0"]
    gt = entry["ground_truth"]
    turns = one_step(gt)
    assert [v.passed for v in check_turns(entry, turns)] == [True] * 4
    assert [v.passed for v in check_turns(entry, turns[:2])] == [True, True]  # a prefix
    broken = one_step([gt[0], gt[1][:1], gt[2], gt[3]])  # grep missing in turn 1 only
    verdicts = check_turns(entry, broken)
    assert [v.passed for v in verdicts] == [True, False, True, True]
    assert verdicts[1].error_type == "multi_turn:execution_response_mismatch"
    empty = one_step([gt[0], [], gt[2], gt[3]])
    # turn 1 skipped (no cd into temp): the sort of turn 2 then fails, and turn 3 ends in another folder
    assert [v.error_type for v in check_turns(entry, empty)] == [
        None,
        "multi_turn:empty_turn_model_response",
        "multi_turn:execution_response_mismatch",
        "multi_turn:instance_state_mismatch",
    ]


def test_aliasing_is_per_evaluation():
    """The Twitter default-list case gives the same verdict every time (no state left in the process)."""
    entry = entries()["multi_turn_base_88"]
    turns = one_step(entry["ground_truth"])
    turns[2][0] = turns[2][0] + MENTIONS
    first = [check_multi_turn(entry, turns).error_type for _ in range(3)]
    assert first == ["multi_turn:execution_response_mismatch"] * 3
    assert check_multi_turn(entry, one_step(entry["ground_truth"])).valid  # nothing leaked


def test_cache_off_same_verdicts():
    by_id = entries()
    uncached = Checker(cache_size=0)
    for entry_id in ("multi_turn_base_0", "multi_turn_long_context_5", "multi_turn_miss_param_3"):
        entry = by_id[entry_id]
        for turns in (one_step(entry["ground_truth"]), one_step([t[:-1] for t in entry["ground_truth"]])):
            a, b = check_multi_turn(entry, turns), uncached.check(entry, turns)
            assert (a.valid, a.error_type) == (b.valid, b.error_type)
