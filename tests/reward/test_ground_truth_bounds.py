"""Malformed and oversized ground truths are GroundTruthError naming the field, at load time (#12 items 9, 10)."""

from __future__ import annotations

import json

import pytest
from funrl.reward import GroundTruthError, compute_score, load_ground_truth, prepare, score
from funrl.reward.ground_truth import MAX_CALLS, MAX_GT_NESTING

FN = [{"name": "f", "parameters": {"type": "dict", "properties": {"a": {"type": "integer"}}, "required": []}}]
ANS = [{"f": {"a": [1]}}]


def gt_json(**over) -> str:
    d = {"functions": FN, "possible_answer": ANS, "category": "simple"}
    d.update(over)
    return json.dumps(d)


def deep(n: int) -> str:
    return "[" * n + "]" * n


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"functions": ' + deep(10_000) + "}", "ground_truth: not valid JSON (nests too deep)"),
        (gt_json(functions=deep(10_000)), "ground_truth.functions: not valid JSON (nests too deep)"),
        (
            gt_json(possible_answer=json.dumps([{"f": {"a": [json.loads(deep(200))]}}])),
            f"possible_answer: nests deeper than {MAX_GT_NESTING} levels",
        ),
        (gt_json(category=["simple"]), "ground_truth.category: expected str, got list"),
        (gt_json(fmt="nope"), "ground_truth.fmt must be one of"),
        (gt_json(fmt=3), "ground_truth.fmt must be one of"),
        (
            gt_json(functions=[{"name": ["f"], "parameters": {}}], category="parallel"),
            "possible_answer[0]: expected function 'f' is not among functions (['f'])",
        ),
        (
            gt_json(functions=[{"name": ["f"], "parameters": {}}]),
            "functions[0].name: missing or not a string",
        ),
        (
            gt_json(possible_answer=[{"f": {}}] * (MAX_CALLS + 1), category="parallel"),
            f"possible_answer: {MAX_CALLS + 1} expected calls, more than MAX_CALLS ({MAX_CALLS})",
        ),
        (
            json.dumps({"functions": FN, "category": "simple"}),
            "ground_truth.possible_answer: missing (found: ",
        ),
    ],
)
def test_malformed_json_ground_truth_is_ground_truth_error_at_load(text, message):
    with pytest.raises(GroundTruthError) as e:
        load_ground_truth(text)
    assert message in str(e.value)
    with pytest.raises(GroundTruthError):  # and verl's entry point says the same (a data bug, not 0.0)
        compute_score("x", "[f(a=1)]", text)


def test_list_valued_category_and_name_through_the_python_api():
    with pytest.raises(GroundTruthError, match=r"^category: expected a string, got list$"):
        score("[f(a=1)]", functions=FN, possible_answer=ANS, category=["simple"])
    fns = [{"name": ["f"], "parameters": {}}, FN[0]]
    # a list-valued name is skipped while looking for the doc (BFCL's find_description), then reported
    assert score("[f(a=1)]", functions=fns, possible_answer=ANS, category="multiple").valid
    with pytest.raises(GroundTruthError, match=r"functions\[0\]\.name: missing or not a string"):
        prepare(fns, ANS, "multiple")


def test_non_string_parameter_key_is_a_data_bug():
    with pytest.raises(GroundTruthError, match=r"possible_answer\[0\]\.f: parameter name 1 is not a string"):
        prepare(FN, [{"f": {1: [1]}}], "simple")
    fns = [{"name": "f", "parameters": {"properties": {"a": {"type": "integer"}, 2: {"type": "string"}}}}]
    with pytest.raises(GroundTruthError, match=r"functions\[0\]\.parameters\.properties: parameter name 2"):
        prepare(fns, ANS, "simple")


def test_fmt_checked_when_loaded_not_when_scoring():
    with pytest.raises(GroundTruthError, match="ground_truth.fmt must be one of"):
        prepare(FN, ANS, "simple", fmt="nope")


@pytest.mark.timeout(20)
def test_calls_at_the_cap_are_matched_greedily_and_quickly():
    """MAX_CALLS expected calls in reverse order: greedy first-fit matching still finds them all."""
    fn = [{"name": "f", "parameters": {"properties": {"a": {"type": "integer"}}}}]
    answers = [{"f": {"a": [i]}} for i in range(MAX_CALLS)]
    text = "[" + ", ".join(f"f(a={i})" for i in reversed(range(MAX_CALLS))) + "]"
    gt = prepare(fn, answers, "parallel")
    for _ in range(5):
        assert score(text, functions=fn, possible_answer=answers, category="parallel").valid
    assert (
        compute_score(
            "x", text, json.dumps({"functions": fn, "possible_answer": answers, "category": "parallel"})
        )["score"]
        == 1.0
    )
    wrong = text.replace(f"f(a={MAX_CALLS - 1})", "f(a=-1)")
    r = score(wrong, functions=fn, possible_answer=answers, category="parallel")
    assert r.error_type == "parallel_function_checker_no_order:cannot_find_match"
    # more model calls than the cap: BFCL's count check answers first (no quadratic matching)
    many = "[" + ", ".join("f(a=1)" for _ in range(3000)) + "]"
    r = score(many, functions=fn, possible_answer=answers, category="parallel")
    assert r.error_type == "parallel_function_checker_no_order:wrong_count"
    assert gt.route == "parallel"


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_depth_bound_on_the_values_alone_equals_the_whole_document_walk(extra):
    """The load walks only the acceptable values that nest; the bound must be the one a walk of the whole
    possible_answer gives (check_depth over it, the reference), at the limit and one level either side."""
    from funrl.reward.ground_truth import check_depth

    # possible_answer -> {name: ...} -> {param: ...} -> [values] -> the value: 4 levels above the value
    value_depth = MAX_GT_NESTING - 4 + extra
    answers = [{"f": {"a": [1, json.loads(deep(value_depth))]}}]
    try:
        check_depth(answers, "possible_answer")
        too_deep = False
    except GroundTruthError:
        too_deep = True
    assert too_deep is (extra > 0)
    text = gt_json(possible_answer=answers)
    if too_deep:
        with pytest.raises(
            GroundTruthError, match=f"^possible_answer: nests deeper than {MAX_GT_NESTING} levels$"
        ):
            load_ground_truth(text)
        with pytest.raises(GroundTruthError, match="possible_answer: nests deeper"):
            prepare(FN, answers, "simple")
    else:
        assert load_ground_truth(text).answers[0].raw == answers[0]["f"]


@pytest.mark.timeout(20)
def test_many_nesting_values_load_in_linear_time():
    """100,000 list values: the depth walk collects them once (a quadratic collection would hang here)."""
    answers = [{"f": {"a": [[i] for i in range(100_000)]}}]
    assert len(load_ground_truth(gt_json(possible_answer=answers)).answers[0].raw["a"]) == 100_000


HUGE = "x" * 5_000_000


@pytest.mark.parametrize(
    ("over", "start"),
    [
        ({"category": HUGE}, "category: 'xxx"),
        ({"require_think": [HUGE]}, "ground_truth.require_think: expected true/false, got ['xxx"),
        (
            {"possible_answer": [{HUGE: {"a": [1]}}], "category": "multiple"},
            "possible_answer[0]: expected function",
        ),
        (
            {
                "functions": [
                    {"name": "f", "parameters": {"type": "dict", "properties": {"a": {"type": HUGE}}}}
                ]
            },
            "functions[0].parameters.properties.a.type: 'xxx",
        ),
        (
            {
                "functions": [
                    {"name": "f", "parameters": {"type": "dict", "properties": {HUGE: {"type": "str"}}}}
                ]
            },
            "functions[0].parameters.properties.xxx",
        ),
        (
            {"functions": [{"name": HUGE, "parameters": [HUGE]}]},
            "functions[0].parameters: missing or not a dict (function 'xxx",
        ),
    ],
)
def test_errors_on_huge_data_stay_short(over, start):
    """A hostile or broken ground truth with megabytes in one field: the error names the field and shows
    at most ~100 characters of the value (it goes to logs, the --check line and quarantine records)."""
    with pytest.raises(GroundTruthError) as err:
        load_ground_truth(json.loads(gt_json(**over))).validate()
    message = str(err.value)
    assert message.startswith(start), message[:300]
    assert len(message) < 1_000
