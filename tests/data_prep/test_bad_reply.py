"""#12 item 2: an endpoint reply holding a lone surrogate is journaled as a bad reply; the run goes on,
and a rerun neither asks again nor stops."""

from __future__ import annotations

import json
import sqlite3

import pyarrow.parquet as pq
from funrl.data_prep.config import InputConfig, load_config
from funrl.data_prep.journal import Journal
from funrl.data_prep.pipeline import run_all
from funrl.data_prep.prompts import JUDGE_SYSTEM
from funrl.data_prep.readers import read_input
from funrl.data_prep.records import Sample, read_jsonl
from funrl.data_prep.scripted_endpoints import ScriptedTeacherJudge

from funrl.toy.scripted_server import OpenAIServer

TOOLS = [{"name": "get_weather", "description": "Weather.", "parameters": {"city": {"type": "str"}}}]


def _rows(n: int) -> list[dict]:
    return [
        {
            "id": i,
            "query": f"Weather in Town{i}?",
            "tools": json.dumps(TOOLS),
            "answers": json.dumps([{"name": "get_weather", "arguments": {"city": f"Town{i}"}}]),
        }
        for i in range(n)
    ]


def test_journal_stores_a_lone_surrogate_reply_as_a_bad_reply(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    entry = journal.put("k", "gen/x/0/0", "calls \ud800 here", None)
    assert entry.content is None and entry.error.startswith("bad_reply: the reply is not valid Unicode")
    assert "\\ud800" in entry.error
    journal.close()
    again = Journal(tmp_path / "j.sqlite")  # what was committed reads back
    assert again.get("k") == entry
    again.close()


def test_a_surrogate_reply_drops_its_sample_and_the_run_goes_on(tmp_path):
    data = tmp_path / "rows.json"
    data.write_text(json.dumps(_rows(6)))
    samples = [s for s in read_input(InputConfig(path=str(data), format="xlam")) if isinstance(s, Sample)]
    model = ScriptedTeacherJudge(samples)

    def responder(body: dict) -> str:
        text = json.dumps(body["messages"])
        if "Town1?" in text and body["messages"][0]["content"] != JUDGE_SYSTEM:
            return "<think>ok</think><answer>[get_weather(city='\ud800')]</answer>"
        if "Town4?" in text and "Check: is_call" in text:
            return '{"verdict": "pass", "reason": "\udfff"}'
        return model(body)

    with OpenAIServer(responder) as server:
        overrides = [
            f"work_dir={tmp_path / 'w'}",
            "progress=false",
            f"inputs=[{{path: {data}, format: xlam}}]",
            f"generate.endpoint.base_url={server.base_url}",
            "generate.endpoint.model=loopback",
            f"judge.endpoint.base_url={server.base_url}",
            "judge.endpoint.model=loopback-judge",
        ]
        first = run_all(load_config(None, overrides))
        sent = len(server.log)
        again = run_all(load_config(None, overrides))
        assert len(server.log) == sent  # the rerun asks nothing again
    for report in (first, again):
        assert report["generate"]["drop_reasons"] == {"generate:request_error": 1}
        assert report["judge"]["drop_reasons"] == {"judge:request_error:is_call": 1}
        assert (report["export"]["sft_rows"], report["export"]["rl_rows"]) == (4, 4)
    drops = list(read_jsonl(tmp_path / "w" / "generate.drops.jsonl"))
    assert drops[0]["sample_id"] == "rows:1" and drops[0]["detail"].startswith("bad_reply:")
    ids = [r["extra_info"]["sample_id"] for r in pq.read_table(tmp_path / "w" / "rl.parquet").to_pylist()]
    assert sorted(ids) == ["rows:0", "rows:2", "rows:3", "rows:5"]
    db = sqlite3.connect(tmp_path / "w" / "journal.sqlite")
    bad = db.execute("SELECT logical_id FROM replies WHERE error LIKE 'bad_reply:%'").fetchall()
    assert sorted(b[0] for b in bad) == ["gen/rows:1/0/0", "judge/rows:4/0/0/is_call/0"]
