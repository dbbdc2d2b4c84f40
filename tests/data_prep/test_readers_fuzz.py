"""Property tests: data prep's readers and verdict parser never crash on arbitrary rows and replies."""

from __future__ import annotations

import json

from funrl.data_prep.prompts import VerdictError, parse_verdict
from funrl.data_prep.readers import (
    RowError,
    bfcl_entry_to_sample,
    chat_row_to_sample,
    xlam_row_to_sample,
)
from funrl.data_prep.records import Sample
from hypothesis import given, settings
from hypothesis import strategies as st

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
_name = st.sampled_from(["f", "g"]) | _json
_xlam_row = st.fixed_dictionaries(
    {
        "query": st.text(max_size=5) | _json,
        "tools": st.lists(
            st.fixed_dictionaries(
                {
                    "name": _name,
                    "parameters": st.dictionaries(
                        st.text(max_size=3),
                        st.fixed_dictionaries(
                            {"type": st.sampled_from(["str", "int, optional", "List[int]", "Frob"]) | _json},
                            optional={"default": _json},
                        )
                        | _json,
                        max_size=3,
                    )
                    | _json,
                }
            ),
            max_size=2,
        )
        | _json,
        "answers": st.lists(st.fixed_dictionaries({"name": _name, "arguments": _json}), max_size=2) | _json,
    }
)
_chat_row = st.fixed_dictionaries(
    {
        "tools": st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.just("function"),
                    "function": st.fixed_dictionaries(
                        {
                            "name": _name,
                            "parameters": st.fixed_dictionaries(
                                {
                                    "properties": st.dictionaries(
                                        st.text(max_size=3),
                                        st.fixed_dictionaries(
                                            {"type": st.sampled_from(["string", "number"]) | _json}
                                        )
                                        | _json,
                                        max_size=2,
                                    )
                                    | _json,
                                    "required": st.lists(st.text(max_size=3), max_size=2) | _json,
                                }
                            )
                            | _json,
                        }
                    ),
                }
            )
            | _json,
            max_size=2,
        ),
        "messages": st.lists(
            st.fixed_dictionaries(
                {
                    "role": st.sampled_from(["system", "user", "assistant"]),
                    "content": st.text(max_size=8) | _json,
                },
                optional={
                    "tool_calls": st.lists(
                        st.fixed_dictionaries(
                            {
                                "function": st.fixed_dictionaries(
                                    {"name": _name, "arguments": st.text(max_size=6) | _json}
                                )
                            }
                        )
                        | _json,
                        max_size=2,
                    )
                    | _json
                },
            )
            | _json,
            max_size=4,
        )
        | _json,
    }
)
_bfcl = st.tuples(
    st.fixed_dictionaries(
        {
            "id": st.sampled_from(["simple_0", "parallel_1", "irrelevance_2", "java_3", "bad"]) | _json,
            "question": st.lists(
                st.lists(
                    st.fixed_dictionaries({"role": st.just("user"), "content": st.text(max_size=5) | _json}),
                    max_size=2,
                )
                | _json,
                max_size=2,
            )
            | _json,
            "function": st.lists(
                st.fixed_dictionaries(
                    {
                        "name": _name,
                        "parameters": st.fixed_dictionaries(
                            {
                                "properties": st.dictionaries(
                                    st.text(max_size=3),
                                    st.fixed_dictionaries(
                                        {"type": st.sampled_from(["integer", "String"]) | _json}
                                    )
                                    | _json,
                                    max_size=2,
                                )
                                | _json,
                                "required": _json,
                            }
                        )
                        | _json,
                    }
                )
                | _json,
                max_size=2,
            )
            | _json,
        }
    ),
    st.none()
    | st.fixed_dictionaries(
        {
            "ground_truth": st.lists(
                st.dictionaries(
                    _name.filter(lambda n: isinstance(n, str)),
                    st.dictionaries(st.text(max_size=3), _json, max_size=2) | _json,
                    max_size=2,
                ),
                max_size=2,
            )
            | _json
        }
    ),
)


@settings(max_examples=400, deadline=None)
@given(xlam=_xlam_row, as_string=st.booleans(), chat=_chat_row, bfcl=_bfcl)
def test_readers_never_crash_on_garbage(xlam, as_string, chat, bfcl):
    """Whatever a row holds, a reader returns a Sample or raises RowError (-> quarantine), nothing else."""
    if as_string:
        xlam = {k: json.dumps(v) if k != "query" else v for k, v in xlam.items()}
    for reader in (
        lambda: xlam_row_to_sample(xlam, "x:0", "x"),
        lambda: chat_row_to_sample(chat, "c:0", "c"),
        lambda: bfcl_entry_to_sample(bfcl[0], bfcl[1], "b"),
    ):
        try:
            assert isinstance(reader(), Sample)
        except RowError:
            pass


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60) | _json.map(json.dumps))
def test_verdict_parser_never_crashes(text):
    try:
        passed, reason = parse_verdict(text)
    except VerdictError:
        return
    assert isinstance(passed, bool) and isinstance(reason, str)


_GOOD_LINE = json.dumps(
    {
        "query": "Weather in Oslo?",
        "tools": json.dumps([{"name": "w", "description": "", "parameters": {"city": {"type": "str"}}}]),
        "answers": json.dumps([{"name": "w", "arguments": {"city": "Oslo"}}]),
    }
).encode()
_line = st.one_of(
    st.binary(max_size=40),
    st.just(_GOOD_LINE),
    st.just(b'{"query": "\\ud800"}'),
    st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n),
    st.builds(lambda a, b: a + b, st.just(_GOOD_LINE[:30]), st.binary(max_size=10)),
    _json.map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(_line, max_size=8), fmt=st.sampled_from(["xlam", "chat", "bfcl"]), array=st.booleans())
def test_readers_never_crash_on_arbitrary_bytes(lines, fmt, array):
    """Any bytes: every row is read or quarantined with a reason; the read stage writes both files."""
    import tempfile
    from pathlib import Path

    from funrl.data_prep.config import InputConfig
    from funrl.data_prep.pipeline import read_samples

    blob = b"[" + b",".join(lines) + b"]" if array else b"\n".join(lines)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.jsonl"
        path.write_bytes(blob)
        inp = InputConfig(path=str(path), format=fmt, possible_answers=str(path))
        kept, quarantine, _ = read_samples([inp])
    for q in quarantine:
        assert set(q) == {"source", "row", "reason", "detail"} and q["reason"].startswith("read:")
        json.dumps(q, ensure_ascii=False).encode("utf-8")  # writable
    for line in kept:
        line.encode("utf-8")
    text = blob.decode("utf-8", "surrogateescape")
    if (
        not text.removeprefix("\ufeff").lstrip(" \t\n\r").startswith("[")
    ):  # JSONL: one outcome per non-blank line
        assert len(kept) + len(quarantine) == sum(bool(x.strip()) for x in text.split("\n"))
        assert sorted(q["row"] for q in quarantine) == sorted(set(q["row"] for q in quarantine))
