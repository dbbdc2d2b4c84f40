"""#14 item 2: FunRL's final LLM evaluation, an optional stage after AST validation: its own prompt,
journaled verdicts (a rerun asks nothing again), verdict parsing, drops and counts in the report."""

from __future__ import annotations

import pyarrow.parquet as pq
from funrl.data_prep.__main__ import main
from funrl.data_prep.demo import STUBBORN, WRONG_FIRST
from funrl.data_prep.pipeline import run_all
from funrl.data_prep.records import read_jsonl
from funrl.data_prep.scripted_endpoints import ScriptedTeacherJudge

from funrl.toy.scripted_server import OpenAIServer

from .demo_setup import demo_config, demo_samples

REJECT, GARBAGE = "demo_xlam:0", "demo_chat:1"


def _final_asks(server: OpenAIServer) -> list:
    return [r for r in server.log if r.body["messages"][-1]["content"].startswith("Check: final")]


def test_final_judge_drops_what_it_fails_and_counts_it(tmp_path):
    model = ScriptedTeacherJudge(
        demo_samples(),
        wrong_first=WRONG_FIRST,
        stubborn=STUBBORN,
        final_reject=[REJECT],
        final_garbage=[GARBAGE],
    )
    with OpenAIServer(model) as server:
        cfg = demo_config(server.base_url, tmp_path, "final_judge.enabled=true")
        report = run_all(cfg)
        asks = _final_asks(server)
        # The demo's 13 validated answers (11 calls + 2 non-calls) are judged once; the garbage one twice.
        assert len(asks) == 13 + 1
        assert all(a.body["response_format"]["json_schema"]["name"] == "verdict" for a in asks)
        assert "QUESTION:\nThis sample already passed" in asks[0].body["messages"][-1]["content"]
        sent = len(server.log)
        again = run_all(cfg)  # resume: every verdict comes from the journal
        assert len(server.log) == sent and again["final_judge"]["requests"]["final_judge"]["reused"] == 14
    final = report["final_judge"]
    assert (final["passed"], final["dropped"]) == (11, 2)
    assert final["drop_reasons"] == {"final_judge:fail": 1, "judge:unparsable:final": 1}
    assert final["requests"]["final_judge"]["sent"] == 14
    drops = {(d["sample_id"], d["reason"]) for d in read_jsonl(tmp_path / "final_judge.drops.jsonl")}
    assert drops == {(REJECT, "final_judge:fail"), (GARBAGE, "judge:unparsable:final")}
    # Both were call samples with an RL row: SFT 13 -> 11, RL 11 -> 9.
    assert (report["export"]["sft_rows"], report["export"]["rl_rows"]) == (11, 9)
    ids = {r["sample_id"] for r in pq.read_table(tmp_path / "sft.parquet").to_pylist()}
    assert REJECT not in ids and GARBAGE not in ids and len(ids) == 11


def test_final_judge_is_off_by_default(tmp_path):
    with OpenAIServer(ScriptedTeacherJudge(demo_samples(), final_reject=[REJECT])) as server:
        cfg = demo_config(server.base_url, tmp_path)
        report = run_all(cfg)
        assert _final_asks(server) == []
    assert "final_judge" not in report and report["export"]["sft_rows"] == 14
    assert main(["final_judge", f"work_dir={tmp_path}", "progress=false"]) == 2  # off: a configuration error
