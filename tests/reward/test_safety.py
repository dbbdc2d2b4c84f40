"""Model output is never executed, and inputs are bounded."""

from __future__ import annotations

import sys

import pytest
from funrl.reward import MAX_CALL_CHARS, MAX_NESTING, MAX_TEXT_CHARS, score

FN = [
    {
        "name": "f",
        "description": "",
        "parameters": {"type": "dict", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
    }
]
ANS = [{"f": {"a": [1]}}]

_executed: list[str] = []
_watching = False


def _audit(event, args):
    # 'exec' is raised by eval()/exec() of a code object; 'os.system' / 'subprocess.Popen' by those.
    if _watching and event in ("exec", "os.system", "subprocess.Popen", "os.exec", "import"):
        _executed.append(event)


sys.addaudithook(_audit)  # cannot be removed; it only records while _watching is set

PAYLOADS = [
    "[f(a=1 + __import__('os').getpid())]",
    "[f(a=__import__('os').system('touch /tmp/funrl_pwned') + 1)]",
    "[f(a=(lambda: __import__('os'))() + 1)]",
    "[f(a=[c for c in ().__class__.__base__.__subclasses__()] + [1])]",
    "[f(a=eval('1') + 0)]",
    "[f(a=exec('import os') or 1)]",
    "[f(a=open('/etc/passwd').read() + '')]",
    "[f(a=globals()['__builtins__'] + 1)]",
    "[f(a=(yield 1) + 1)]",
    "[f(a=lambda: __import__('os').system('id'))]",
    "f(a=__import__('subprocess').call(['true']) * 1)",
    "<answer>[f(a=__import__('os').getpid() - 0)]</answer>",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_are_never_executed(payload, tmp_path):
    global _watching
    _executed.clear()
    _watching = True
    try:
        r = score(payload, functions=FN, possible_answer=ANS, category="simple")
    finally:
        _watching = False
    assert _executed == []
    assert r.valid is False
    assert r.error_type.startswith("format_error:")


def test_no_eval_or_exec_in_reward_source():
    import pathlib

    import funrl.reward

    for path in pathlib.Path(funrl.reward.__file__).parent.glob("*.py"):
        src = path.read_text()
        for banned in ("eval(", "exec(", "compile(", "__import__("):
            # only the word in comments/docstrings ("BFCL's eval") may appear, never a call
            for line in src.splitlines():
                code = line.split("#", 1)[0]
                assert f" {banned}" not in code and f"={banned}" not in code and f"({banned}" not in code, (
                    path,
                    line,
                )


@pytest.mark.parametrize(
    ("value", "error_type"),
    [
        ("2**10**10", "format_error:unsupported_expression"),
        ("10**10**10**10", "format_error:unsupported_expression"),
        ("1 << 10**9", "format_error:unsupported_expression"),
        ("'x' * 10**12", "format_error:unsupported_expression"),
        ("[[0]*300]*300*300", "format_error:unsupported_expression"),
        ("'%999999999d' % 1", "format_error:unsupported_expression"),
        ("1/0", "format_error:decoder_failed"),  # Python's own error, as in BFCL
        ("10.0**400", "format_error:decoder_failed"),
    ],
)
def test_arithmetic_bombs_are_refused_quickly(value, error_type):
    r = score(f"[f(a={value})]", functions=FN, possible_answer=ANS, category="simple")
    assert (r.valid, r.error_type) == (False, error_type)


def test_bounded_arithmetic_still_matches_python():
    assert score("[f(a=2**3 - 7)]", functions=FN, possible_answer=ANS, category="simple").valid
    big = [{"f": {"a": [2**1000]}}]
    assert score("[f(a=2**1000)]", functions=FN, possible_answer=big, category="simple").valid


def test_size_and_depth_caps():
    kw = dict(functions=FN, possible_answer=ANS, category="simple")
    assert score("x" * (MAX_TEXT_CHARS + 1), **kw).error_type == "format_error:too_long"
    long_call = "[f(a=1, b='" + "x" * MAX_CALL_CHARS + "')]"
    assert score(long_call, **kw).error_type == "format_error:too_long"
    deep = "[f(a=" + "[" * (MAX_NESTING + 5) + "]" * (MAX_NESTING + 5) + ")]"
    assert score(deep, **kw).error_type == "format_error:too_deep"
    deep_json = (
        '[{"name": "f", "arguments": {"a": ' + "[" * (MAX_NESTING + 5) + "]" * (MAX_NESTING + 5) + "}}]"
    )
    assert score(deep_json, **kw).error_type == "format_error:too_deep"
    very_deep_json = '[{"name": "f", "arguments": {"a": ' + "[" * 40_000 + "]" * 40_000 + "}}]"
    assert score(very_deep_json, **kw).error_type in ("format_error:too_deep", "format_error:decoder_failed")
    chain = "[f(a=" + "+".join(["1"] * 20_000) + ")]"
    assert score(chain, **kw).valid is False  # deep left-nested BinOp: refused, no crash


def test_non_string_output_is_a_format_error():
    r = score(None, functions=FN, possible_answer=ANS, category="simple")  # type: ignore[arg-type]
    assert (r.valid, r.error_type) == (False, "format_error:not_text")
