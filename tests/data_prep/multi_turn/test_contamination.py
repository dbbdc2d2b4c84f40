"""The contamination report: word n-gram overlap with BFCL's multi-turn questions, by hand and against
BFCL's real questions, and the near-duplicate drop in the pipeline."""

from __future__ import annotations

import json

from funrl.data_prep.multi_turn.config import load_config
from funrl.data_prep.multi_turn.export import BfclQuestions, contamination
from funrl.data_prep.multi_turn.pipeline import run_multi_turn
from funrl.data_prep.multi_turn.scripted import ScriptedRoles

from funrl.envs.bfcl import load_entries
from funrl.toy.scripted_server import OpenAIServer

BFCL_LIKE = [
    {
        "id": "b1",
        "question": [
            [{"role": "user", "content": "Please move the report file into the archive folder now"}]
        ],
    }
]


def test_overlap_by_hand():
    q = BfclQuestions(3, BFCL_LIKE)
    # 8 trigrams in the query; 6 of them in b1 (move the report ... the archive folder)
    assert q.overlap("Could you move the report file into the archive folder") == (0.75, "b1")
    assert q.overlap("Something else entirely here") == (0.0, None)
    assert q.overlap("too short") == (0.0, None)
    trajs = [{"id": "t1", "rounds": [{"query": "Could you move the report file into the archive folder"}]}]
    report, drop = contamination(trajs, q, drop_above=0.5)
    assert drop == {"t1"} and report["max_overlap"] == 0.75 and report["queries_with_any_overlap"] == 1
    assert contamination(trajs, q, drop_above=0.8)[1] == set()


def test_a_bfcl_question_is_found_in_bfcl():
    entry = load_entries("base")[3]
    text = entry["question"][0][0]["content"]
    share, nearest = BfclQuestions(8).overlap(text)
    assert share == 1.0 and nearest is not None
    assert text in [
        m["content"] for e in load_entries("base") if e["id"] == nearest for t in e["question"] for m in t
    ]


def test_near_duplicates_are_dropped_in_the_pipeline(tmp_path):
    with OpenAIServer(ScriptedRoles()) as server:
        settings = [f"query_writer.base_url={server.base_url}", "query_writer.model=m", "progress=false"]
        settings += ["trajectories=3", "class_sets=[[TradingBot]]", "walk.rounds=1"]
        first = run_multi_turn(
            load_config(None, [f"work_dir={tmp_path / 'a'}", *settings]), questions=BfclQuestions(8, [])
        )
        trajs = [json.loads(x) for x in (tmp_path / "a" / "trajectories.jsonl").read_text().splitlines()]
        copied = trajs[0]["rounds"][0]["query"]  # pretend BFCL holds this query
        fake = BfclQuestions(8, [{"id": "bfcl_x", "question": [[{"role": "user", "content": copied}]]}])
        cfg = load_config(None, [f"work_dir={tmp_path / 'b'}", "contamination.drop_above=0.9", *settings])
        second = run_multi_turn(cfg, questions=fake)
    assert second["kept"]["trajectories"] == first["kept"]["trajectories"] - 1
    assert second["drop_reasons"]["contamination:near_duplicate"] == 1
    report = json.loads((tmp_path / "b" / "contamination.json").read_text())
    assert report["dropped_trajectories"] == [trajs[0]["id"]] and report["top"][0]["nearest_bfcl"] == "bfcl_x"
