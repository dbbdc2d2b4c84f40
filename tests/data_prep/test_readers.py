"""Readers, schema conversion, config loading, verdict parsing, output formats (no server needed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from funrl.data_prep.config import ConfigError, InputConfig, load_config
from funrl.data_prep.pipeline import check_judges, run_all
from funrl.data_prep.prompts import VerdictError, parse_verdict
from funrl.data_prep.readers import (
    bfcl_entry_to_sample,
    read_input,
)
from funrl.data_prep.records import Sample
from funrl.data_prep.render import render_answer
from funrl.data_prep.schemas import SchemaError, python_type_to_bfcl, schema_violation, xlam_tool_to_bfcl
from funrl.reward import leading_think as split_think
from funrl.reward import parse

XLAM_TOOL = {
    "name": "search",
    "description": "Search.",
    "parameters": {
        "q": {"description": "query", "type": "str"},
        "n": {"description": "count", "type": "int, optional", "default": 5},
        "tags": {"description": "tags", "type": "List[str]"},
        "exact": {"description": "exact match", "type": "Optional[bool]"},
    },
}


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _read(path, fmt, **kw):
    out = list(read_input(InputConfig(path=str(path), format=fmt, **kw)))
    return [s for s in out if isinstance(s, Sample)], [q for q in out if isinstance(q, dict)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("str", ("string", False, None)),
        ("int, optional", ("integer", True, None)),
        ("List[int]", ("array", False, "integer")),
        ("Optional[float]", ("float", True, None)),
        ("Dict[str, Any]", ("dict", False, None)),
        ("Tuple[int, int]", ("tuple", False, None)),
        ("bool", ("boolean", False, None)),
    ],
)
def test_python_types_map_to_bfcl(text, expected):
    assert python_type_to_bfcl(text) == expected


def test_xlam_tool_conversion_marks_optional_parameters():
    doc = xlam_tool_to_bfcl(XLAM_TOOL)
    assert doc["parameters"]["required"] == ["q", "tags"]
    assert doc["parameters"]["properties"]["tags"] == {
        "type": "array",
        "description": "tags",
        "items": {"type": "string"},
    }
    assert doc["parameters"]["properties"]["n"]["default"] == 5
    with pytest.raises(SchemaError, match="parameter 'x'.*unsupported type 'Frobnicator'"):
        xlam_tool_to_bfcl({"name": "f", "parameters": {"x": {"type": "Frobnicator"}}})


def test_xlam_reader_reads_good_rows_and_quarantines_bad_ones(tmp_path):
    tools = json.dumps([XLAM_TOOL])
    rows = [
        {
            "id": 0,
            "query": "find cats",
            "tools": tools,
            "answers": json.dumps([{"name": "search", "arguments": {"q": "cats", "tags": []}}]),
        },
        {"id": 1, "query": "find dogs", "tools": "[{broken", "answers": "[]"},
        {
            "id": 2,
            "query": "find",
            "tools": tools,
            "answers": json.dumps([{"name": "nope", "arguments": {}}]),
        },
        {"id": 3, "tools": tools, "answers": "[]"},
        {
            "id": 4,
            "query": "two",
            "tools": tools,
            "answers": json.dumps([{"name": "search", "arguments": {"q": "a", "tags": []}}] * 2),
        },
    ]
    path = tmp_path / "x.json"
    path.write_text(json.dumps(rows))
    samples, quarantine = _read(path, "xlam", name="xl")
    assert [s.id for s in samples] == ["xl:0", "xl:4"]
    assert samples[0].reference_calls == [{"search": {"q": "cats", "tags": []}}]
    assert samples[0].category == "simple" and samples[1].category == "parallel"
    assert [(q["row"], q["reason"]) for q in quarantine] == [
        (1, "read:bad_json"),
        (2, "read:unknown_function"),
        (3, "read:missing_field"),
    ]
    assert "field 'tools' is not valid JSON" in quarantine[0]["detail"]


def test_bfcl_reader_uses_possible_answers(tmp_path):
    fn = {
        "name": "f",
        "description": "",
        "parameters": {
            "type": "dict",
            "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
            "required": ["a"],
        },
    }
    entries = [
        {"id": "simple_3", "question": [[{"role": "user", "content": "f of 2"}]], "function": [fn]},
        {"id": "irrelevance_1", "question": [[{"role": "user", "content": "poem"}]], "function": [fn]},
        {"id": "multiple_2", "question": [[{"role": "user", "content": "x"}]], "function": [fn]},
        {"id": "java_0", "question": [[{"role": "user", "content": "x"}]], "function": [fn]},
        {
            "id": "simple_4",
            "question": [[{"role": "user", "content": "q"}]],
            "function": [{**fn, "parameters": {"type": "dict", "properties": {"a": {"type": "String"}}}}],
        },
    ]
    answers = [
        {"id": "simple_3", "ground_truth": [{"f": {"a": [2], "b": ["", "x"]}}]},
        {"id": "simple_4", "ground_truth": [{"f": {"a": ["1"]}}]},
    ]
    samples, quarantine = _read(
        _write_jsonl(tmp_path / "b.jsonl", entries),
        "bfcl",
        possible_answers=str(_write_jsonl(tmp_path / "a.jsonl", answers)),
    )
    assert [s.id for s in samples] == ["b:simple_3", "b:irrelevance_1"]
    simple, irrelevant = samples
    assert simple.reference_calls == [{"f": {"a": 2, "b": "x"}}]
    assert simple.possible_answer == answers[0]["ground_truth"] and simple.category == "simple"
    assert irrelevant.reference_calls == [] and not irrelevant.is_call
    assert [q["reason"] for q in quarantine] == [
        "read:no_possible_answer",
        "read:unsupported_category",
        "read:bad_tools",
    ]


def test_chat_reader_openai_and_hermes(tmp_path):
    tool = {
        "type": "function",
        "function": {
            "name": "g",
            "parameters": {
                "type": "object",
                "properties": {"x": {"type": "number"}, "y": {"type": "array", "items": {"type": "integer"}}},
                "required": ["x"],
            },
        },
    }
    rows = [
        {
            "tools": [tool],
            "messages": [
                {"role": "user", "content": "q1"},
                {
                    "role": "assistant",
                    "content": "<think>because</think>",
                    "tool_calls": [
                        {"type": "function", "function": {"name": "g", "arguments": '{"x": 1.5}'}}
                    ],
                },
            ],
        },
        {
            "messages": [
                {"role": "system", "content": f"<tools>\n{json.dumps(tool)}\n</tools>"},
                {"role": "user", "content": "q2"},
                {
                    "role": "assistant",
                    "content": '<tool_call>\n{"name": "g", "arguments": {"x": 2, "y": [1]}}\n</tool_call>',
                },
            ]
        },
        {
            "tools": [tool],
            "messages": [
                {"role": "user", "content": "q3"},
                {"role": "assistant", "content": "No tool fits."},
            ],
        },
        {
            "tools": [tool],
            "messages": [
                {"role": "user", "content": "q4"},
                {"role": "assistant", "content": "<tool_call>{oops</tool_call>"},
            ],
        },
        {"tools": [tool], "messages": [{"role": "user", "content": "q5"}]},
    ]
    samples, quarantine = _read(_write_jsonl(tmp_path / "c.jsonl", rows), "chat")
    assert [s.query for s in samples] == ["q1", "q2", "q3"]
    assert samples[0].reference_calls == [{"g": {"x": 1.5}}] and samples[0].cot == "because"
    assert samples[0].tools[0]["parameters"] == {
        "type": "dict",
        "properties": {"x": {"type": "float"}, "y": {"type": "array", "items": {"type": "integer"}}},
        "required": ["x"],
    }
    assert samples[1].reference_calls == [{"g": {"x": 2, "y": [1]}}] and samples[1].cot is None
    assert samples[2].reference_calls == [] and not samples[2].is_call
    assert [q["reason"] for q in quarantine] == ["read:bad_calls", "read:bad_messages"]


def test_schema_violations_name_the_parameter():
    tools = [xlam_tool_to_bfcl(XLAM_TOOL)]
    assert schema_violation([{"search": {"q": "a", "tags": ["x"]}}], tools) is None
    cases = {
        "schema_error:type": {"search": {"q": "a", "tags": ["x"], "n": "5"}},
        "schema_error:unknown_param": {"search": {"q": "a", "tags": [], "zz": 1}},
        "schema_error:missing_required": {"search": {"q": "a"}},
        "schema_error:unknown_function": {"other": {}},
    }
    for error_type, call in cases.items():
        assert schema_violation([call], tools)[0] == error_type
    assert schema_violation([{"search": {"q": "a", "tags": [1]}}], tools) == (
        "schema_error:type",
        "search.tags: [1] is not of type array",
    )
    assert schema_violation([{"search": {"q": "a", "tags": [], "n": True}}], tools)[0] == "schema_error:type"


def test_config_file_plus_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("work_dir: out\njudge:\n  max_rounds: 5\ngenerate:\n  endpoint:\n    model: teacher\n")
    cfg = load_config(
        path, ["judge.max_rounds=2", "generate.endpoint.concurrency=8", "judge.endpoint.model=judge"]
    )
    assert cfg.judge.max_rounds == 2 and cfg.work_dir == "out"
    assert cfg.generate.endpoint.model == "teacher" and cfg.generate.endpoint.concurrency == 8
    assert cfg.judge_endpoint.model == "judge" and cfg.judge.on_fail["query_tool_fit"] == "discard"
    assert cfg.final_judge_endpoint is cfg.judge.endpoint  # the final judge defaults to the judge


def test_judge_endpoint_never_falls_back_to_the_generator():
    default = load_config(None, [])
    assert default.judge.endpoint is None
    with pytest.raises(ConfigError, match=r"^judge\.endpoint is not set"):
        default.judge_endpoint  # noqa: B018
    with pytest.raises(ConfigError, match=r"^final_judge\.endpoint is not set"):
        default.final_judge_endpoint  # noqa: B018
    # the whole pipeline refuses before stage 0 sends anything
    with pytest.raises(ConfigError, match=r"^judge\.endpoint is not set"):
        run_all(load_config(None, ["inputs=[{path: none.json}]", "work_dir=/nonexistent/w"]))


def test_judge_on_the_generators_endpoint_warns_in_plain_data_prep(tmp_path):
    cfg = load_config(None, ["judge.endpoint.model=Qwen/QwQ-32B", "final_judge.enabled=true"])
    assert cfg.judges_share_generator() == ["judge.endpoint", "final_judge.endpoint"]
    with pytest.warns(UserWarning, match="judge.endpoint is the generator's endpoint"):
        check_judges(cfg, ("judge",))
    other = load_config(None, ["judge.endpoint.base_url=http://127.0.0.1:8000/v1/", "judge.endpoint.model=j"])
    assert other.judges_share_generator() == []


@pytest.mark.parametrize(
    "override, message",
    [
        ("judge.max_round=2", r"unknown key\(s\) \['judge.max_round'\]"),
        ("judge.max_rounds=two", "judge.max_rounds: expected int"),
        ("output.format=xml", "output.format must be one of"),
        ("judge.on_fail.format=ignore", "judge.on_fail.format must be 'regenerate' or 'discard'"),
        ("judge.checks=[is_call, vibes]", r"judge.checks: unknown check\(s\) \['vibes'\]"),
        ("inputs=[{path: a.jsonl, format: bfcl}]", r"inputs\[0\].possible_answers is required"),
        ("nonsense", "must look like key.sub=value"),
    ],
)
def test_bad_config_names_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"verdict": "pass", "reason": "ok"}', (True, "ok")),
        ('<think>hmm</think>\n{"verdict": "fail", "reason": "wrong value"}', (False, "wrong value")),
        ('```json\n{"verdict": "pass", "reason": ""}\n```', (True, "")),
    ],
)
def test_verdict_parsing_accepts_exactly_the_object(text, expected):
    assert parse_verdict(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "pass",
        '{"verdict": "yes", "reason": "ok"}',
        '{"verdict": "pass"}',
        '{"verdict": "pass", "reason": "ok", "score": 1}',
        'Sure! {"verdict": "pass", "reason": "ok"}',
        '{"verdict": "pass", "reason": "ok"} and more',
        '["pass", "ok"]',
    ],
)
def test_verdict_parsing_rejects_anything_else(text):
    with pytest.raises(VerdictError):
        parse_verdict(text)


CALLS = [{"f": {"a": 1, "s": "it's", "l": [1.5, None], "d": {"k": True}}}, {"pkg.g": {}}]


@pytest.mark.parametrize("fmt", ["think_answer", "think_python", "think_tool_call"])
def test_rendered_answers_parse_back_with_the_reward(fmt):
    text = render_answer("step 1", CALLS, fmt)
    assert split_think(text)[0] == "step 1"
    assert parse(text, fmt, require_think=True) == CALLS


def test_import_pulls_in_neither_torch_nor_verl():
    code = (
        "import sys, funrl.data_prep, funrl.data_prep.pipeline, funrl.data_prep.__main__, funrl.data_prep.demo; "
        "print(sorted(m for m in ('torch', 'verl', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_read_without_inputs_names_the_key(tmp_path):
    from funrl.data_prep.pipeline import run_read

    with pytest.raises(ConfigError, match="inputs: no input files configured"):
        run_read(load_config(None, [f"work_dir={tmp_path}"]))


def test_bfcl_dict_answers_become_concrete_reference_values():
    """BFCL answers a dict parameter with a dict of acceptable-value lists; the reference call must hold
    the values themselves (first acceptable, "" = omitted), and score 1.0 against the possible answer."""
    from funrl.reward import check

    fn = {
        "name": "db.fetch",
        "description": "",
        "parameters": {
            "type": "dict",
            "properties": {
                "table": {"type": "string"},
                "conditions": {"type": "dict"},
                "rows": {"type": "array", "items": {"type": "dict"}},
            },
            "required": ["table", "conditions"],
        },
    }
    entry = {"id": "simple_python_1", "question": [[{"role": "user", "content": "Fetch."}]], "function": [fn]}
    answer = {
        "id": "simple_python_1",
        "ground_truth": [
            {
                "db.fetch": {
                    "table": ["students"],
                    "conditions": [{"department": ["Science", "science"], "school": ["", "Bluebird HS"]}],
                    "rows": [[{"k": ["a"], "v": [1, 2]}], ""],
                }
            }
        ],
    }
    sample = bfcl_entry_to_sample(entry, answer, "bfcl")
    assert sample.reference_calls == [
        {
            "db.fetch": {
                "table": "students",
                "conditions": {"department": "Science", "school": "Bluebird HS"},
                "rows": [{"k": "a", "v": 1}],
            }
        }
    ]
    verdict = check(
        sample.reference_calls, functions=[fn], possible_answer=answer["ground_truth"], category="simple"
    )
    assert verdict.valid, verdict
