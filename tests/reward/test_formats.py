"""Each output format on hand-written cases, and what `auto` decides."""

from __future__ import annotations

import pytest
from funrl.reward import FormatError, parse, score

FN = [
    {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {
            "type": "dict",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
    {
        "name": "get_time",
        "description": "Time in a city.",
        "parameters": {"type": "dict", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
]
SIMPLE = [{"get_weather": {"city": ["Paris"], "days": [3, ""]}}]
PARALLEL = [{"get_weather": {"city": ["Paris"], "days": [""]}}, {"get_time": {"city": ["Tokyo"]}}]
CALLS = [{"get_weather": {"city": "Paris", "days": 3}}]
TWO = [{"get_weather": {"city": "Paris"}}, {"get_time": {"city": "Tokyo"}}]


@pytest.mark.parametrize(
    ("text", "fmt", "expected_fmt"),
    [
        ("[get_weather(city='Paris', days=3)]", "python", "python"),
        ("get_weather(city='Paris', days=3)", "python", "python"),  # brackets added, as BFCL does
        ('[{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}]', "json", "json"),
        ('[{"name": "get_weather", "parameters": {"city": "Paris", "days": 3}}]', "json", "json"),
        (
            '[{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\", \\"days\\": 3}"}]',
            "json",
            "json",
        ),
        ('{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}', "json", "json"),
        (
            '```json\n[{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}]\n```',
            "json",
            "json",
        ),
        (
            '[{"type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\", \\"days\\": 3}"}}]',
            "json",
            "json",
        ),
        (
            "<think>User wants weather.</think><answer>[get_weather(city='Paris', days=3)]</answer>",
            "answer",
            "answer",
        ),
        (
            "<think>x</think>\n\n<answer>\n[get_weather(city='Paris', days=3)]\n</answer>\n",
            "answer",
            "answer",
        ),
        (
            '<think>x</think><answer>[{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}]</answer>',
            "answer",
            "answer",
        ),
        (
            '<think>x</think><tool_call>[{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}]</tool_call>',
            "tool_call",
            "tool_call",
        ),
        (
            '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}\n</tool_call>',
            "tool_call",
            "tool_call",
        ),
        ("<think>x</think>\n\n[get_weather(city='Paris', days=3)]", "think_python", "python"),
        ("reasoning opened by the template</think>[get_weather(city='Paris', days=3)]", "python", "python"),
    ],
)
def test_each_format_decodes_to_the_same_calls(text, fmt, expected_fmt):
    assert parse(text, fmt) == CALLS
    r = score(text, functions=FN, possible_answer=SIMPLE, category="simple", fmt="auto")
    assert r.valid, r
    assert r.fmt == expected_fmt
    assert float(r) == 1.0


def test_hermes_one_block_per_call_and_parallel_order():
    text = (
        "<think>two things</think>\n"
        '<tool_call>\n{"name": "get_time", "arguments": {"city": "Tokyo"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    )
    assert parse(text) == TWO[::-1]
    assert score(text, functions=FN, possible_answer=PARALLEL, category="parallel").valid
    # the same calls in a simple category: wrong count
    r = score(text, functions=FN, possible_answer=SIMPLE, category="simple")
    assert (r.valid, r.error_type) == (False, "simple_function_checker:wrong_count")


@pytest.mark.parametrize(
    ("text", "fmt", "error_type"),
    [
        ("", "auto", "format_error:empty"),
        ("   \n", "python", "format_error:empty"),
        ("I don't know.", "python", "format_error:decoder_failed"),
        ("[get_weather(city='Paris'", "python", "format_error:decoder_failed"),
        ("<think>never closed [get_weather(city='Paris')]", "auto", "format_error:unclosed_think"),
        ("<think>a</think><think>b</think>[get_weather(city='Paris')]", "auto", "format_error:extra_think"),
        ("[get_weather(city='Paris')]", "answer", "format_error:no_answer"),
        (
            "<think>a</think>Sure! <answer>[get_weather(city='Paris')]</answer>",
            "answer",
            "format_error:extra_text",
        ),
        ("<answer>[get_weather(city='Paris')]</answer> done", "answer", "format_error:extra_text"),
        ("<answer>[get_weather(city='Paris')]", "answer", "format_error:unclosed_answer"),
        (
            "<answer>[get_weather(city='Paris')]</answer><answer>[]</answer>",
            "answer",
            "format_error:multiple_answers",
        ),
        ("<tool_call>{}</tool_call>", "tool_call", "format_error:wrong_output_format"),
        ('<tool_call>{"name": "get_weather"</tool_call>', "tool_call", "format_error:decoder_failed"),
        (
            '<tool_call>{"name": "get_weather", "arguments": {}}</tool_call> y',
            "tool_call",
            "format_error:extra_text",
        ),
        ('[{"name": 3, "arguments": {}}]', "json", "format_error:wrong_output_format"),
        ('[{"name": "get_weather", "arguments": [1]}]', "json", "format_error:wrong_output_format"),
        ('[{"name": "get_weather", "arguments": "not json"}]', "json", "format_error:decoder_failed"),
        ('[{"name": "get_weather", "arguments": "\\"{}\\""}]', "json", "format_error:wrong_output_format"),
        ("[get_weather(city=x.y)]", "python", "format_error:decoder_failed"),  # attributes: BFCL fails too
        ("[get_weather(city=lambda: 1)]", "python", "format_error:decoder_failed"),
    ],
)
def test_malformed_output_is_a_format_error_never_an_exception(text, fmt, error_type):
    r = score(text, functions=FN, possible_answer=SIMPLE, category="simple", fmt=fmt)
    assert (r.valid, float(r), r.error_type) == (False, 0.0, error_type)
    assert not r.format_ok
    with pytest.raises(FormatError) as info:
        parse(text, fmt)
    assert info.value.error_type == error_type


def test_require_think():
    ok = "<think>Paris, 3 days.</think><answer>[get_weather(city='Paris', days=3)]</answer>"
    bare = "<answer>[get_weather(city='Paris', days=3)]</answer>"
    empty = "<think>  </think><answer>[get_weather(city='Paris', days=3)]</answer>"
    kw = dict(functions=FN, possible_answer=SIMPLE, category="simple")
    assert score(ok, require_think=True, **kw).valid
    assert score(bare, **kw).valid
    assert score(bare, require_think=True, **kw).error_type == "format_error:missing_think"
    assert score(empty, require_think=True, **kw).error_type == "format_error:missing_think"


def test_bfcl_python_decoding_quirks():
    """What BFCL's decoder does with odd syntax, reproduced (values from reading resolve_ast_by_type)."""
    got = parse(
        "[f(a=+5, b=not 1, c=-2.5, d=x, e=g(1), f=h(k=1, z=2), g=d['k'][0], h=(1, 'a'), i=2*3, j='a'*2)]"
    )
    assert got == [
        {"f": {"a": -5, "b": -1, "c": -2.5, "d": "x", "e": "g(1)", "f": {"h": {"k": 1, "z": 2}},
               "g": "d['k'][0]", "h": (1, "a"), "i": 6, "j": "aa"}}
    ]  # fmt: skip
    assert parse("[f(1, 2, a=3)]") == [{"f": {"a": 3}}]  # positional arguments dropped
    assert parse("[f(a=1, a=2)]") == [{"f": {"a": 2}}]  # last repeated keyword wins
    assert parse("[a.b.c(x=1)]") == [{"a.b.c": {"x": 1}}]
    assert parse("f(a=1), g(b=2)") == [{"f": {"a": 1}}, {"g": {"b": 2}}]
    assert parse("[]") == []
    assert parse("f(a=[1])") == [{"f": {"a": [1]}}]
    with pytest.raises(FormatError):
        parse("Call: [f(a=1)]", "python")  # '[' is prepended but no ']' appended: a syntax error in BFCL too


def test_string_normalisation_and_types_on_hand_cases():
    kw = dict(functions=FN, possible_answer=SIMPLE, category="simple")
    assert score("[get_weather(city=' pa-ris.')]", **kw).valid  # ' ,./-_*^' ignored, case too
    assert score("[get_weather(city='Paris!')]", **kw).error_type == "value_error:string"
    assert score("[get_weather(city='Paris', days=3.0)]", **kw).error_type == "type_error:simple"
    assert score("[get_weather(city='Paris', days=True)]", **kw).error_type == "type_error:simple"
    assert score("[get_weather(city='Paris', days=4)]", **kw).error_type == "value_error:others"
    assert score("[get_weather(days=3)]", **kw).error_type == "simple_function_checker:missing_required"
    assert (
        score("[get_weather(city='Paris', hours=3)]", **kw).error_type
        == "simple_function_checker:unexpected_param"
    )
    assert score("[get_time(city='Paris')]", **kw).error_type == "simple_function_checker:wrong_func_name"
