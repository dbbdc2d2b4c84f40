"""#12 items 1 and 11: one bad row never stops the read stage; each is quarantined with its row number and
reason, every good row goes on, and a resume after the bad input has every good row exactly once."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from funrl.data_prep.config import InputConfig, load_config
from funrl.data_prep.pipeline import run_all, run_read
from funrl.data_prep.readers import read_input
from funrl.data_prep.records import Sample, read_jsonl
from funrl.data_prep.scripted_endpoints import ScriptedTeacherJudge

from funrl.toy.scripted_server import OpenAIServer

TOOLS = [{"name": "get_weather", "description": "Weather.", "parameters": {"city": {"type": "str"}}}]


def good(i: int) -> dict:
    answers = [{"name": "get_weather", "arguments": {"city": f"Town{i}"}}]
    return {
        "id": i,
        "query": f"Weather in Town{i}?",
        "tools": json.dumps(TOOLS),
        "answers": json.dumps(answers),
    }


def jsonl_with_bad_rows() -> bytes:
    """Lines 0-8; the good rows are 0, 2, 5 and 8."""
    lines = [
        json.dumps(good(0)).encode(),
        json.dumps(good(1)).replace("Town1?", "Town1 \\ud800?").encode(),  # lone surrogate, valid JSON
        json.dumps(good(2)).encode(),
        json.dumps(good(3)).encode().replace(b"Town3?", b"Town3 \xff?"),  # not UTF-8
        b"[" * 100_000 + b"]" * 100_000,  # RecursionError in json.loads
        json.dumps(good(5)).encode(),
        json.dumps({**good(6), "query": 42}).encode(),
        json.dumps(good(2)).encode(),  # id 2 again
        json.dumps(good(8)).encode(),
    ]
    return b"\n".join(lines) + b"\n"


def test_each_bad_line_is_quarantined_with_its_row_and_reason(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl_with_bad_rows())
    cfg = load_config(None, [f"work_dir={tmp_path / 'w'}", f"inputs=[{{path: {path}, format: xlam}}]"])
    stats = run_read(cfg)
    assert stats["samples"] == 4 and stats["quarantined"] == 5
    ids = [s["id"] for s in read_jsonl(tmp_path / "w" / "samples.jsonl")]
    assert ids == ["rows:0", "rows:2", "rows:5", "rows:8"]
    quarantine = {q["row"]: q for q in read_jsonl(tmp_path / "w" / "quarantine.jsonl")}
    assert {row: q["reason"] for row, q in quarantine.items()} == {
        1: "read:bad_unicode",
        3: "read:bad_encoding",
        4: "read:too_deep",
        6: "read:bad_type",
        7: "read:duplicate_id",
    }
    assert "byte 0xff" in quarantine[3]["detail"]
    assert quarantine[6]["detail"] == "field 'query' is an int (42), not a string"
    assert quarantine[7]["detail"] == f"sample id 'rows:2' was already read from row 2 of {path}"


def test_one_bad_element_of_a_json_array_file(tmp_path):
    path = tmp_path / "rows.json"
    elements = [json.dumps(good(0)), '{"query": nope, "x": [1, "]"]}', json.dumps(good(2)), "[[[", "7"]
    elements.insert(3, json.dumps(good(3)).replace("Town3?", "\\udfff"))
    path.write_text("[\n" + ",\n".join(elements) + "\n]\n")
    items = list(read_input(InputConfig(path=str(path), format="xlam")))
    assert [s.id for s in items if isinstance(s, Sample)] == ["rows:0", "rows:2"]
    bad = [(q["row"], q["reason"]) for q in items if isinstance(q, dict)]
    # "[[[" swallows the rest of the file (it never closes), so "7" is part of element 4.
    assert bad == [(1, "read:bad_json"), (3, "read:bad_unicode"), (4, "read:bad_json")]


def test_a_garbage_element_then_good_ones(tmp_path):
    path = tmp_path / "rows.json"
    path.write_bytes(
        b"[" + json.dumps(good(0)).encode() + b', {"q": \xfe\xff}, ' + json.dumps(good(2)).encode() + b"]"
    )
    items = list(read_input(InputConfig(path=str(path), format="xlam")))
    assert [s.id for s in items if isinstance(s, Sample)] == ["rows:0", "rows:2"]
    assert [(q["row"], q["reason"]) for q in items if isinstance(q, dict)] == [(1, "read:bad_encoding")]


def test_resume_after_bad_input_has_every_good_row_once(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl_with_bad_rows())
    samples = [s for s in read_input(InputConfig(path=str(path), format="xlam")) if isinstance(s, Sample)]
    with OpenAIServer(ScriptedTeacherJudge(samples)) as server:
        overrides = [
            f"work_dir={tmp_path / 'w'}",
            "progress=false",
            f"inputs=[{{path: {path}, format: xlam}}]",
            f"generate.endpoint.base_url={server.base_url}",
            "generate.endpoint.model=loopback",
            f"judge.endpoint.base_url={server.base_url}",
            "judge.endpoint.model=loopback-judge",
            "guard.max_drop_rate=1.0",  # 5 of these 9 rows are bad on purpose
        ]
        first = run_all(load_config(None, overrides))
        sent = len(server.log)
        again = run_all(load_config(None, overrides))
        assert len(server.log) == sent  # the resume asks nothing again
    assert first["read"] == again["read"]
    for name in ("sft.parquet", "rl.parquet"):
        rows = pq.read_table(tmp_path / "w" / name).to_pylist()
        ids = [r.get("sample_id") or r["extra_info"]["sample_id"] for r in rows]
        assert sorted(ids) == ["rows:0", "rows:2", "rows:5", "rows:8"]
