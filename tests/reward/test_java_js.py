"""The ``language`` option: hand-computed Java/JS conversions and decodings, and its threading through
the public API (score, prepare, check, the JSON ground truth, compute_score, think formats)."""

from __future__ import annotations

import json
import random
import re

import pytest
from funrl.reward import (
    FormatError,
    GroundTruthError,
    check,
    compute_score,
    ground_truth_json,
    parse,
    prepare,
    score,
    score_prepared,
)
from funrl.reward.java_js import ValueTooLong, add_block, array_2d_end, java_value, js_value, map_body
from funrl.reward.langs import decode_source


@pytest.mark.parametrize(
    ("text", "type_name", "item", "expected"),
    [
        ("5L", "long", None, 5),
        ("5", "long", None, "5"),  # no L: stays a string (then fails the type check)
        ("-3.5f", "float", None, -3.5),
        ("3.5", "float", None, "3.5"),
        ("1e3", "double", None, 1000.0),
        ("1.5f\n", "float", None, 1.5),  # Python's $ also matches before a final newline
        ("true", "boolean", None, True),
        ("TRUE", "boolean", None, "TRUE"),
        ("'c'", "char", None, "'c'"),  # BFCL's char pattern never matches: kept as written
        ('new String[]{"a", "b"}', "Array", "String", ['"a"', '"b"']),  # String items keep quotes
        ("new int[]{1, 2,}", "Array", "integer", [1, 2]),
        ("new long[]{1L, 2}", "Array", "long", [1, "2"]),
        ('new ArrayList<>(Arrays.asList("a", "b"))', "ArrayList", "String", ["a", "b"]),
        ("new ArrayList<Integer>() {{ add(1); add(2); }}", "ArrayList", "integer", [1, 2]),
        ("new ArrayList<>()", "ArrayList", "any", []),
        ("[1, 2]", "ArrayList", "integer", "[1, 2]"),
        (
            'new HashMap<String, Object>() {{ put("k", 5L); put("s", "v"); }}',
            "HashMap",
            None,
            {"k": 5, "s": "v"},
        ),
        ("new HashMap<String,String>()", "HashMap", None, {}),
    ],
)
def test_java_conversions(text, type_name, item, expected):
    got = java_value(text, type_name, item)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("text", "type_name", "item", "expected"),
    [
        ("'abc'", "String", None, "abc"),
        ('"a\\"b"', "String", None, 'a\\"b'),  # escapes are not interpreted
        ("abc", "String", None, "abc"),
        ("10n", "Bigint", None, 10),
        ("10", "Bigint", None, "10"),
        ("4", "float", None, 4.0),
        ("1e3", "float", None, "1e3"),
        ("[1, 'two', true]", "array", None, [1, "two", True]),
        ("['a', 'b']", "array", "String", ["a", "b"]),
        ("new Array(1.5, 2)", "array", "float", [1.5, 2.0]),
        ("[[1, 2], [3, 4]]", "array", "array", [[1, 2], [3, 4]]),
        ("{}", "dict", None, {}),
        ("{'key': 'value', n: 2, arr: [1, 2]}", "dict", None, {"key": "value", "n": 2, "arr": [1, 2]}),
        ("{a: {b: 1}}", "dict", None, {"a": "{b: 1"}),  # read up to the first "}"
        ("x = 1", "dict", None, "x = 1"),
    ],
)
def test_js_conversions(text, type_name, item, expected):
    got = js_value(text, type_name, item)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("[A.b(x=\"s t\", n=5L, c='q')]", "java", [{"A.b": {"x": "s t", "n": "5L", "c": "q"}}]),
        ("[f(arr=new int[][]{{1, 2}}, s = 1 + 2)]", "java", [{"f": {"arr": "new int[]{{1,2}}", "s": "1+2"}}]),
        (
            '[foo(m=new HashMap<String, Integer>() {{ put("a", 1); }}, v=someVar)]',
            "java",
            [{"foo": {"m": "new HashMap<String,Integer>()", "v": "someVar"}}],
        ),
        ("[foooooooo(v, a=1)]", "java", [{"foooooooo": {None: "v", "a": "1"}}]),
        ("[fooooooooo(a=1); g(b=2)]", "java", [{"fooooooooo": {"a": "1"}}]),
        (
            "[f(a=[1, 2], b={k: 'v'}, c='it\\'s', d=5)]",
            "javascript",
            [{"f": {"a": "[1, 2]", "b": "{k: 'v'}", "c": "it\\'s", "d": "5"}}],
        ),
        ("[f(x, true, 5, a=1)]", "javascript", None),  # two None arguments: BFCL raises
        ("[f(a=1)]", "java", None),  # 6 bytes: tree-sitter prefers an ERROR to a missing ';'
        ("[foooooooo(a=new int[3])]", "java", None),
        ("[foooooooo(a={1, 2})]", "java", None),
        ("[f(a=1), g(b=2)]", "javascript", "wrong"),  # a sequence, not a call statement
    ],
)
def test_decoding(text, language, expected):
    if expected is None:
        with pytest.raises(ValueError) as e:
            decode_source(text, language)
        assert e.value.error_type == "format_error:decoder_failed"
    elif expected == "wrong":
        with pytest.raises(ValueError) as e:
            decode_source(text, language)
        assert e.value.error_type == "format_error:wrong_output_format"
    else:
        assert decode_source(text, language) == expected


# BFCL's tree-sitter (official parser, run in its venv) closes an outermost argument list that a ";"
# ends when the last argument is name=<one token>: it inserts a MISSING ")".
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[A.q(pageNo=3, pageSize=20;]", [{"A.q": {"pageNo": "3", "pageSize": "20"}}]),
        ("[f(a=1;]", [{"f": {"a": "1"}}]),  # 6 bytes, yet valid: the ";" is written
        ('[f(a="x;y";]', [{"f": {"a": "x;y"}}]),
        ("[f(b, a=this;]", [{"f": {None: "b", "a": "this"}}]),
        ("[f(a=1; g(b=2;]", [{"f": {"a": "1"}}]),
        ("[new X(a=1;]", "wrong"),  # an object creation is closed too; no method call: {}
        ("[f(a=1;)]", None),  # ")" after the ";": an ERROR
        ("[f(a=1,;]", None),
        ("[f(a=x.y;]", None),  # a field access last: an ERROR
        ("[f(a=super;]", None),
        ("[f(a=g(1;]", None),  # two lists left open
        ("[f(a=1, b=g(1;]", None),
        ("[f(a=1, b=2]", None),  # no ";": an ERROR
    ],
)
def test_java_missing_close_paren_before_semicolon(text, expected):
    test_decoding(text, "java", expected)


FN = [
    {
        "name": "Cache.put",
        "description": "",
        "parameters": {
            "type": "dict",
            "properties": {"key": {"type": "String"}, "ttl": {"type": "long"}},
            "required": ["key", "ttl"],
        },
    }
]
ANS = [{"Cache.put": {"key": ["user:1"], "ttl": [60]}}]
GOOD = '[Cache.put(key="user:1", ttl=60L)]'
BAD = '[Cache.put(key="user:1", ttl=60)]'


def test_language_threads_through_the_api():
    assert score(GOOD, functions=FN, possible_answer=ANS, category="simple_java", language="java")
    r = score(BAD, functions=FN, possible_answer=ANS, category="simple_java", language="java")
    assert r.error_type == "type_error:simple"
    gt = prepare(FN, ANS, "simple", language="java")
    assert score_prepared(gt, f"<think>ok</think><answer>{GOOD}</answer>", fmt="think_answer").valid
    assert score_prepared(gt, f"<think>ok</think>{GOOD}", fmt="think_python").valid
    tool = '<tool_call>{"name": "Cache.put", "arguments": {"key": "user:1", "ttl": "60L"}}</tool_call>'
    assert score_prepared(gt, tool, fmt="tool_call").valid
    native = '<tool_call>{"name": "Cache.put", "arguments": {"key": "user:1", "ttl": 60}}</tool_call>'
    assert score_prepared(gt, native).error_type == "type_error:java"
    assert check(
        [{"Cache.put": {"key": "user:1", "ttl": "60L"}}],
        functions=FN,
        possible_answer=ANS,
        category="simple",
        language="java",
    ).valid
    assert parse(GOOD, language="java") == [{"Cache.put": {"key": "user:1", "ttl": "60L"}}]
    text = ground_truth_json(FN, ANS, "simple_java", language="java")
    assert json.loads(text)["language"] == "java"
    assert compute_score("bfcl", GOOD, text)["score"] == 1.0
    assert compute_score("bfcl", BAD, text)["score"] == 0.0
    # A Python ground truth (types shared with JavaScript) checked as JavaScript via reward_kwargs.
    fn = [
        {
            "name": "f",
            "description": "",
            "parameters": {"type": "dict", "properties": {"n": {"type": "integer"}}},
        }
    ]
    plain = ground_truth_json(fn, [{"f": {"n": [5]}}], "simple")
    assert "language" not in json.loads(plain)  # old JSON unchanged
    assert compute_score("bfcl", '[f(n="5")]', plain)["error_type"] == "type_error:simple"
    assert compute_score("bfcl", '[f(n="5")]', plain, language="javascript")["score"] == 1.0


def test_bad_language_fails_loudly():
    with pytest.raises(GroundTruthError, match="language"):
        prepare(FN, ANS, "simple", language="rust")
    with pytest.raises(GroundTruthError, match="language"):
        prepare(FN, ANS, "simple_java")  # BFCL checks simple_java as Java
    with pytest.raises(GroundTruthError, match="ground_truth.language"):
        compute_score(
            "s",
            GOOD,
            json.dumps({"functions": FN, "possible_answer": ANS, "category": "simple", "language": "go"}),
        )
    bad_type = [{**FN[0], "parameters": {**FN[0]["parameters"], "properties": {"key": {"type": "Set"}}}}]
    with pytest.raises(GroundTruthError, match=r"properties\.key\.type"):
        prepare(bad_type, ANS, "simple", language="java")


def test_javascript_end_to_end():
    fn = [
        {
            "name": "sortItems",
            "description": "",
            "parameters": {
                "type": "dict",
                "properties": {
                    "items": {"type": "array", "items": {"type": "String"}},
                    "ascending": {"type": "Boolean"},
                },
                "required": ["items"],
            },
        }
    ]
    ans = [{"sortItems": {"items": [["b", "a"]], "ascending": [True, ""]}}]
    kw = dict(functions=fn, possible_answer=ans, category="simple_javascript", language="javascript")
    assert score("[sortItems(items=['b', 'a'], ascending=true)]", **kw)
    assert score('[sortItems(items=["B", "a"])]', **kw)  # strings are compared standardised
    assert score("[sortItems(items=['a', 'b'])]", **kw).error_type == "value_error:list/tuple"
    assert score("[sortItems(items=b)]", **kw).error_type == "type_error:simple"


# BFCL's own patterns (bfcl_eval/eval_checker/ast_eval/type_convertor), as the reference our linear-time
# replacements must agree with: they backtrack badly on some inputs, so only short texts are compared.
BFCL_ARRAY_2D = re.compile(
    r"\[\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\]|\bnew\s+Array\(\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\)"
)
BFCL_MAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)\s*\{\s*\{?\s*(.*?)\s*\}?\s*\}", re.DOTALL)
BFCL_ADD = re.compile(r"new\s+ArrayList<\w*>\(\)\s*\{\{\s*(.+?)\s*\}\}", re.DOTALL)


def test_linear_time_matchers_agree_with_bfcl_patterns():
    rng = random.Random(7)
    for _ in range(20_000):
        tail = "".join(rng.choice("[], \n1a){}>x(") for _ in range(rng.randrange(12)))
        text = rng.choice(["[", "[[", "[ [", "new Array(", "new Array( ["]) + tail
        m = BFCL_ARRAY_2D.match(text)
        assert array_2d_end(text) == (m.end() if m else None), text
        text = rng.choice(["new HashMap<>() {", "new HashMap<a>b>(){", "new HashMap<> ", "x"]) + tail
        m = BFCL_MAP.search(text)
        assert map_body(text) == (m.group(1) if m else None), text
        text = rng.choice(["new ArrayList<>() {{", "new ArrayList<T>()\n{{", "new ArrayList<>() {"]) + tail
        m = BFCL_ADD.search(text)
        assert add_block(text) == (m.group(1) if m else None), text


def test_pathological_values_are_read_or_refused_quickly():
    # BFCL's own patterns take exponential (2-D arrays) or high-polynomial time on these.
    rows = "[" + "[1]," * 1000 + "]"
    assert js_value(rows, "array") == ["[1"]  # no "]]" nor "],[...]]" ending: the 1-D pattern, "[" to "]"
    assert js_value("[[1]" + ",[2]" * 900 + "]", "array")[:2] == [[1], [2]]
    assert java_value("new HashMap<>() {x" + " " * 4000 + "y", "HashMap") == {}  # no "}": the empty map
    assert java_value("new ArrayList<>() {{" + " " * 4000, "ArrayList", "integer") == []
    with pytest.raises(ValueTooLong):
        java_value("new int[]{" + "1, " * 2000 + "}", "Array", "integer")
    fn = [
        {
            "name": "f",
            "description": "",
            "parameters": {
                "type": "dict",
                "properties": {"a": {"type": "array", "items": {"type": "integer"}}},
            },
        }
    ]
    r = score(
        "[f(a=[" + "1, " * 2000 + "])]",
        functions=fn,
        possible_answer=[{"f": {"a": [[1]]}}],
        category="simple_javascript",
        language="javascript",
    )
    assert r.error_type == "value_error:too_long"


def test_decoders_never_raise_anything_but_format_errors():
    rng = random.Random(11)
    pieces = [
        "f(",
        "a=",
        "1",
        "'x'",
        '"y"',
        "[",
        "]",
        "{",
        "}",
        "(",
        ")",
        ",",
        ";",
        "\n",
        " ",
        "new ",
        "int",
        "L",
        ".",
        "=>",
        "->",
        "<",
        ">",
        "`",
        "/",
        "*",
        "//",
        "/*",
        "\\",
        "0x",
        "1e",
        "?",
        ":",
        "!",
        "&",
        "|",
    ]
    for _ in range(5_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 30)))
        for language in ("java", "javascript"):
            try:
                decode_source(text, language)
            except FormatError as e:
                assert e.error_type.startswith("format_error:")
    deep = "[f(a=" + "(" * 5000 + "1" + ")" * 5000 + ")]"
    for language in ("java", "javascript"):
        with pytest.raises(FormatError):
            decode_source(deep, language)


def test_score_file_reads_the_language_of_inline_and_json_ground_truths(tmp_path):
    from funrl.reward.score_file import score_file

    rows = [
        {
            "output": GOOD,
            "functions": FN,
            "possible_answer": ANS,
            "category": "simple_java",
            "language": "java",
        },
        {"output": BAD, "ground_truth": ground_truth_json(FN, ANS, "simple_java", language="java")},
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = score_file(str(path))
    assert report["scored"] == 2 and report["correct"] == 1, report
