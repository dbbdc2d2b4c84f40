"""Ground truth: loud, field-naming errors on bad data; verl's contract; helpers for data prep."""

from __future__ import annotations

import json

import pytest
from funrl.reward import (
    GroundTruthError,
    check,
    compute_score,
    ground_truth_json,
    possible_answer_from_calls,
    prepare,
    score,
)

FN = [
    {
        "name": "add",
        "description": "",
        "parameters": {
            "type": "dict",
            "properties": {
                "a": {"type": "integer"},
                "b": {"type": "number"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["a"],
        },
    }
]
ANS = [{"add": {"a": [1], "b": [2.0, ""], "tags": [""]}}]


@pytest.mark.parametrize(
    ("functions", "answer", "category", "field"),
    [
        (FN, ANS, "paralel", "category"),
        (FN, ANS, "simple_java", "category"),
        ([], ANS, "simple", "functions"),
        (FN, [], "simple", "possible_answer"),
        (FN, [{"add": {"a": 1}}], "simple", "possible_answer[0].add.a"),
        (FN, [{"add": {}, "x": {}}], "simple", "possible_answer[0]"),
        ([{"description": "no name"}], ANS, "simple", "functions[0].name"),
        ([{"name": "add"}], ANS, "simple", "functions[0].parameters"),
        (
            [{"name": "add", "parameters": {"properties": {"a": {"type": "int"}}}}],
            ANS,
            "simple",
            "properties.a.type",
        ),
        (
            [{"name": "add", "parameters": {"properties": {"a": {"type": "array"}}}}],
            ANS,
            "simple",
            "properties.a.items.type",
        ),
        (FN, [{"sub": {"a": [1]}}], "multiple", "possible_answer[0]: expected function 'sub'"),
        (FN, [{"add": {"a": [1], "d": [{"k": "v"}]}}], "simple", "possible_answer[0].add.d[0].k"),
    ],
)
def test_malformed_ground_truth_raises_naming_the_field(functions, answer, category, field):
    # score() validates what its check reads (here the output gives every parameter named above) ...
    with pytest.raises(GroundTruthError) as info:
        score("[add(a=1, d={'k': 'v'})]", functions=functions, possible_answer=answer, category=category)
    assert field in str(info.value)
    # ... prepare() and ground_truth_json() validate everything, whatever an output would read
    for build in (prepare, ground_truth_json):
        with pytest.raises(ValueError) as info:
            build(functions, answer, category)
        assert field in str(info.value)


def test_score_validates_lazily_but_prepare_does_not():
    bad_unused = [
        dict(
            FN[0],
            parameters=dict(
                FN[0]["parameters"], properties=dict(FN[0]["parameters"]["properties"], z={"type": "int"})
            ),
        )
    ]
    assert score("[add(a=1)]", functions=bad_unused, possible_answer=ANS, category="simple").valid
    with pytest.raises(GroundTruthError, match=r"properties\.z\.type"):
        prepare(bad_unused, ANS, "simple")


def test_compute_score_contract():
    gt = ground_truth_json(FN, ANS, "simple")
    good = compute_score("bfcl_simple", "[add(a=1, b=2)]", gt)
    assert good == {"score": 1.0, "acc": 1.0, "format_ok": 1.0, "error_type": ""}
    wrong = compute_score("bfcl_simple", "[add(a=2)]", gt, extra_info={"index": 3})
    assert wrong == {"score": 0.0, "acc": 0.0, "format_ok": 1.0, "error_type": "value_error:others"}
    bad = compute_score("bfcl_simple", "add(a=", gt)
    assert bad["score"] == 0.0 and bad["format_ok"] == 0.0 and bad["error_type"].startswith("format_error:")
    # reward_kwargs override the ground truth's format options; verl's own extra kwargs are ignored
    strict = ground_truth_json(FN, ANS, "simple", fmt="answer", require_think=True)
    assert compute_score("s", "[add(a=1)]", strict)["error_type"] == "format_error:missing_think"
    assert compute_score("s", "[add(a=1)]", strict, fmt="python", require_think=False)["score"] == 1.0
    assert compute_score("s", "[add(a=1)]", json.loads(gt), reward_router_address=None)["score"] == 1.0
    with pytest.raises(ValueError, match="ground_truth.functions"):
        compute_score("s", "[add(a=1)]", json.dumps({"possible_answer": ANS, "category": "simple"}))
    with pytest.raises(ValueError, match="ground_truth: not valid JSON"):
        compute_score("s", "[add(a=1)]", "{not json")


def test_ground_truth_json_validates_when_written():
    with pytest.raises(ValueError, match="fmt"):
        ground_truth_json(FN, ANS, "simple", fmt="yaml")
    with pytest.raises(ValueError, match="category"):
        ground_truth_json(FN, ANS, "nope")
    decoded = json.loads(ground_truth_json(FN, ANS, "live_simple", fmt="answer", require_think=True))
    assert decoded == {
        "functions": FN,
        "possible_answer": ANS,
        "category": "live_simple",
        "fmt": "answer",
        "require_think": True,
    }


def test_possible_answer_from_calls_round_trips():
    calls = [{"add": {"a": 3, "tags": ("x", "y")}}]
    pa = possible_answer_from_calls(calls, FN)
    assert pa == [{"add": {"a": [3], "tags": [["x", "y"]], "b": [""]}}]
    assert (
        check(calls, functions=FN, possible_answer=pa, category="simple").valid is False
    )  # tuple for an array
    assert check(
        [{"add": {"a": 3, "tags": ["x", "y"]}}], functions=FN, possible_answer=pa, category="simple"
    ).valid
    with pytest.raises(ValueError, match="not among functions"):
        possible_answer_from_calls([{"mul": {}}], FN)


def test_check_on_decoded_calls_and_json_schema_aliases():
    assert check(
        [{"add": {"a": 1, "b": 2}}], functions=FN, possible_answer=ANS, category="simple"
    ).valid  # number: int ok
    r = check([{"add": 1}], functions=FN, possible_answer=ANS, category="simple")
    assert (r.valid, r.error_type) == (False, "format_error:wrong_output_format")
