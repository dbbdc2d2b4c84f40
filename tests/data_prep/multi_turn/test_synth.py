"""Phases II and III against the scripted roles on a real loopback HTTP server, checked by hand on small
cases: the query writer's request and reply, a reasoner that fails until a critic's hint, one that
never passes (dropped with its reason), a broken format, an endpoint error, and the pipeline's report."""

from __future__ import annotations

import asyncio
import json

import pyarrow.parquet as pq
import pytest
from funrl.data_prep.__main__ import main as data_prep_main
from funrl.data_prep.client import ChatClient
from funrl.data_prep.config import ConfigError, EndpointConfig
from funrl.data_prep.journal import Journal
from funrl.data_prep.multi_turn.config import load_config
from funrl.data_prep.multi_turn.pipeline import run_multi_turn
from funrl.data_prep.multi_turn.prompts import PROMPT_VERSION, WRITER_SYSTEM, advanced_tool
from funrl.data_prep.multi_turn.scripted import MARKER, NOISE, ScriptedRoles
from funrl.data_prep.multi_turn.states import bare_config
from funrl.data_prep.multi_turn.synth import Counts, Roles, synthesize

from funrl.envs.bfcl import check_multi_turn
from funrl.envs.bfcl.backend import function_docs
from funrl.toy.scripted_server import OpenAIServer

FS = "GorillaFileSystem"
TOUCH, CAT, MKDIR = "touch(file_name='a.txt')", "cat(file_name='a.txt')", "mkdir(dir_name='x')"
WALKED = {
    "id": "hand_0",
    "involved_classes": [FS],
    "initial_config": {FS: bare_config(FS)},
    "state_source": "test",
    "rounds": [
        {"target": "cat", "calls": [TOUCH, CAT], "outputs": ["None", '{"file_content": ""}']},
        {"target": "mkdir", "calls": [MKDIR], "outputs": ["None"]},
    ],
}
HINT_CAT = "The request is only complete after the last step, cat; do not stop before it."


def test_advanced_tool_by_hand():
    tool = advanced_tool([TOUCH, CAT], [FS])
    assert tool["name"] == "advanced_cat"
    assert tool["parameters"] == {
        "touch.file_name": {"type": "string", "value": "a.txt"},
        "cat.file_name": {"type": "string", "value": "a.txt"},
    }
    assert tool["description"].startswith("Does these steps in order: (1) touch: Create a new file")
    assert " (2) cat: Display the contents of a file" in tool["description"]


def _synthesize(roles: ScriptedRoles, tmp_path, k_max: int = 3, faults=()):
    with OpenAIServer(roles) as server:
        for kind, match in faults:
            server.add_fault(kind, match=match)
        cfg = load_config(None, [f"k_max={k_max}", "progress=false"])

        async def go():
            journal = Journal(tmp_path / "journal.sqlite")
            ep = EndpointConfig(base_url=server.base_url, model="loopback", concurrency=2, max_retries=0)
            clients = [ChatClient(ep, journal, role=r) for r in ("query_writer", "reasoner", "critic")]
            try:
                counts = Counts()
                traj, drops = await synthesize(Roles(*clients), cfg, WALKED, counts)
            finally:
                for c in clients:
                    await c.aclose()
                ids = [e.logical_id for e in journal.entries()]
                journal.close()
            return traj, drops, counts, ids

        traj, drops, counts, ids = asyncio.run(go())
        assert not server.errors
        return traj, drops, counts, ids, [r.body for r in server.log]


def test_fails_then_passes_after_the_critics_hint(tmp_path):
    traj, drops, counts, ids, bodies = _synthesize(ScriptedRoles(wrong_first={"cat"}), tmp_path)
    assert drops == []
    r0, r1 = traj["rounds"]
    assert r0["query"] == NOISE + MARKER + f"{TOUCH} then {CAT}"  # Phase II: the writer's reply
    assert (r0["tries"], r0["hints"], r1["tries"], r1["hints"]) == (2, [HINT_CAT], 1, [])
    assert r0["failures"] == [
        "multi_turn:execution_response_mismatch: Model response execution results so far does not contain "
        "all the ground truth response execution results for turn 0."
    ]
    assert r0["steps"] == [[TOUCH], [CAT]] and r1["steps"] == [[MKDIR]]
    assert r0["messages"] == [
        {
            "role": "assistant",
            "content": f"<think>Step 1 of the request: touch.</think><tool_call>[{TOUCH}]</tool_call>",
        },
        {"role": "tool", "content": '<tool_response>["None"]</tool_response>'},
        {
            "role": "assistant",
            "content": f"<think>Step 2 of the request: cat.</think><tool_call>[{CAT}]</tool_call>",
        },
        {"role": "tool", "content": '<tool_response>["{\\"file_content\\": \\"\\"}"]</tool_response>'},
        {"role": "assistant", "content": "<think>Every step has been carried out.</think>All done."},
    ]
    # requests: writer r0; try 1 (touch, end); critic; try 2 (touch, cat, end); writer r1; r1 (mkdir, end)
    assert len(bodies) == 1 + 2 + 1 + 3 + 1 + 2
    writer = bodies[0]["messages"]
    assert (
        writer[0]["content"] == WRITER_SYSTEM
        and f"CALL: {TOUCH}\nRESULT: None\nCALL: {CAT}" in writer[1]["content"]
    )
    assert bodies[4]["messages"][-1]["content"] == r0["query"] + "\n\nHint: " + HINT_CAT
    round_1 = bodies[-1]["messages"]  # round 1 sees round 0's query (no hint) and accepted messages
    assert [m["content"] for m in round_1[1:7]] == [r0["query"], *(m["content"] for m in r0["messages"])]
    assert (counts.hints, dict(counts.tries), counts.tool_calls) == (1, {"2": 1, "1": 1}, 4)
    assert all(i.startswith(f"mt/{PROMPT_VERSION}/hand_0/r") for i in ids) and len(ids) == len(bodies)


def test_never_passing_round_is_dropped_with_its_reason(tmp_path):
    traj, drops, counts, _, bodies = _synthesize(ScriptedRoles(stubborn={"cat"}), tmp_path, k_max=2)
    assert traj["rounds"] == []
    assert [(d["round"], d["reason"]) for d in drops] == [
        (0, "reasoner:never_passed"),
        (None, "trajectory:reasoner:never_passed"),
    ]
    assert drops[0]["detail"].startswith("2 tries; last: multi_turn:execution_response_mismatch")
    assert len(bodies) == 1 + 2 + 1 + 2  # writer, try 1, critic, try 2 (no critic after the last try)
    assert counts.hints == 1 and not counts.tries


def test_broken_format_fails_the_try(tmp_path):
    traj, drops, counts, _, _ = _synthesize(ScriptedRoles(bad_format={"cat"}), tmp_path)
    assert not drops and traj["rounds"][0]["tries"] == 2
    assert traj["rounds"][0]["failures"] == [
        "format: the reply does not start with a <think>...</think> span"
    ]
    assert dict(counts.failures) == {"format": 1}


def test_endpoint_error_drops_the_round(tmp_path):
    faults = [("http_400", f"- {NOISE}")]  # round 1's writer request lists round 0's query
    traj, drops, _, _, _ = _synthesize(ScriptedRoles(), tmp_path, faults=faults)
    assert len(traj["rounds"]) == 1  # round 1's writer request (it lists round 0's query) got a 400
    assert [(d["round"], d["reason"]) for d in drops] == [(1, "query_writer:request_error")]


def _run(tmp_path, roles, *overrides):
    with OpenAIServer(roles) as server:
        cfg = load_config(
            None,
            [
                f"work_dir={tmp_path}",
                "progress=false",
                f"query_writer.base_url={server.base_url}",
                "query_writer.model=loopback",
                "query_writer.concurrency=4",
                *overrides,
            ],
        )
        return run_multi_turn(cfg)


def test_pipeline_outputs_and_report(tmp_path):
    roles = ScriptedRoles(wrong_first={"cat", "place_order"}, stubborn={"get_order_details"})
    report = _run(tmp_path, roles, "trajectories=6", "class_sets=[[GorillaFileSystem, TradingBot]]")
    trajs = [json.loads(x) for x in (tmp_path / "trajectories.jsonl").read_text().splitlines()]
    rl = [json.loads(x) for x in (tmp_path / "rl_multi_turn.jsonl").read_text().splitlines()]
    sft = pq.read_table(tmp_path / "sft.parquet").to_pylist()
    kept = report["kept"]
    assert kept["trajectories"] == len(trajs) == len(rl) > 0
    assert sum(report["phase_3_chain"]["tries_per_accepted_round"].values()) == sum(
        len(t["rounds"]) for t in trajs
    )
    n_assistant = sum(m["role"] == "assistant" for t in trajs for r in t["rounds"] for m in r["messages"])
    assert len(sft) == kept["sft_rows"] == n_assistant
    for entry, traj in zip(rl, trajs):
        assert entry["ground_truth"] == [r["calls"] for r in traj["rounds"]]
        assert check_multi_turn(entry, [[[c] for c in turn] for turn in entry["ground_truth"]]).valid
        assert check_multi_turn(entry, [r["steps"] for r in traj["rounds"]]).valid
    for row in sft:
        assert row["messages"][-1]["role"] == "assistant" and row["messages"][0]["role"] == "system"
    drops = [json.loads(x) for x in (tmp_path / "drops.jsonl").read_text().splitlines()]
    never_passed = sum(d["reason"] == "reasoner:never_passed" for d in drops)
    accepted = report["phase_3_chain"]["rounds_accepted"]
    assert never_passed > 0 and report["phase_2_queries"]["rounds_queried"] == accepted + never_passed
    assert report["drop_reasons"] == {
        r: sum(d["reason"] == r for d in drops) for r in sorted({d["reason"] for d in drops})
    }


def test_nothing_kept_fails_loudly(tmp_path, capsys):
    every_tool = {d["name"] for d in function_docs(FS)}
    with OpenAIServer(ScriptedRoles(stubborn=every_tool)) as server:
        (tmp_path / "c.yaml").write_text(
            json.dumps(
                {
                    "work_dir": str(tmp_path / "w"),
                    "trajectories": 1,
                    "class_sets": [["GorillaFileSystem"]],
                    "walk": {"rounds": 1, "blocked_share": 1.0},
                    "progress": False,
                    "k_max": 1,
                    "query_writer": {"base_url": server.base_url, "model": "m"},
                }
            )
        )
        code = data_prep_main(["multi_turn", "--config", str(tmp_path / "c.yaml")])
    err = capsys.readouterr().err
    assert code == 4 and "the output is empty: no trajectory kept (reasoner:never_passed 1" in err


def test_bad_config_names_the_key(capsys):
    assert data_prep_main(["multi_turn", "walk.roundz=2"]) == 2
    assert "unknown key(s) ['walk.roundz']" in capsys.readouterr().err
    with pytest.raises(ConfigError, match=r"class_sets\[0\]: \['MemoryAPI'\]"):
        load_config(None, ["class_sets=[[MemoryAPI]]"])
    with pytest.raises(ConfigError, match=r"walk.rounds \* walk.max_calls must be <= 256"):
        load_config(None, ["walk.rounds=100"])
