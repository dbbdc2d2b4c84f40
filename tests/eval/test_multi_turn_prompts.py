"""Decoding a prompt-mode reply into executable call strings, as BFCL's ``default_decode_execute_prompting``.

Expected values from bfcl-eval 2026.3.23's own function, run in its venv:

    '[f(a=[1, 2], b={"k": 1}, c="x")]'  -> ["f(a=[1, 2], b={'k': 1}, c='x')"]
    'g(p={"a": {"x": 1}})'              -> ['g(p=a(x=1))']          (a dict of dicts reads as a call)
    '[h(q=(1, 2), r=None, s=-3.5)]'     -> ['h(q=(1, 2), r=None, s=-3.5)']
    '[k(d={})]'                         -> IndexError                (an empty dict cannot be written)
    '[m(x=1), n()]'                     -> ['m(x=1)', 'n()']
    '[f(a=1)'                           -> ['f(a=1)']
"""

from __future__ import annotations

import pytest

from funrl.eval.multi_turn_prompts import DecodeError, make_style

BFCL_DECODED = {
    '[f(a=[1, 2], b={"k": 1}, c="x")]': ["f(a=[1, 2], b={'k': 1}, c='x')"],
    'g(p={"a": {"x": 1}})': ["g(p=a(x=1))"],
    "[h(q=(1, 2), r=None, s=-3.5)]": ["h(q=(1, 2), r=None, s=-3.5)"],
    "[m(x=1), n()]": ["m(x=1)", "n()"],
    "[f(a=1)": ["f(a=1)"],  # BFCL adds the missing bracket
    "[]": [],
}


@pytest.mark.parametrize("reply", list(BFCL_DECODED))
def test_bfcl_decode_execute(reply):
    assert make_style("bfcl", "think_answer").decode(reply) == BFCL_DECODED[reply]


@pytest.mark.parametrize("reply", ["[k(d={})]", "I cannot do that.", "[f(a=1)]]"])
def test_replies_bfcl_cannot_decode_end_the_turn(reply):
    with pytest.raises(DecodeError):
        make_style("bfcl", "think_answer").decode(reply)


def test_training_formats_read_the_trained_output():
    answer = "<think>cd first</think><answer>[cd(folder='docs'), ls()]</answer>"
    assert make_style("training", "think_answer").decode(answer) == ["cd(folder='docs')", "ls()"]
    tool_call = '<think>x</think><tool_call>[{"name": "cd", "arguments": {"folder": "docs"}}]</tool_call>'
    assert make_style("training", "think_tool_call").decode(tool_call) == ["cd(folder='docs')"]
    with pytest.raises(DecodeError):  # the python list without the <answer> tag is not the trained format
        make_style("training", "think_answer").decode("[cd(folder='docs')]")
