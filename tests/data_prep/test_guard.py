"""#13 item 1: a run that loses everything, or too much to one cause, exits non-zero with a summary naming
the cause and example replies; rerun after the fix, it completes with nothing lost."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from funrl.data_prep.__main__ import main
from funrl.data_prep.config import InputConfig, load_config
from funrl.data_prep.guard import RunFailed, check_run
from funrl.data_prep.pipeline import run_all
from funrl.data_prep.readers import read_input
from funrl.data_prep.records import Sample
from funrl.data_prep.scripted_endpoints import ScriptedTeacherJudge

from funrl.toy.scripted_server import OpenAIServer

TOOLS = [{"name": "get_weather", "description": "Weather.", "parameters": {"city": {"type": "str"}}}]
N = 6


def _inputs(tmp_path):
    rows = [
        {
            "id": i,
            "query": f"Weather in Town{i}?",
            "tools": json.dumps(TOOLS),
            "answers": json.dumps([{"name": "get_weather", "arguments": {"city": f"Town{i}"}}]),
        }
        for i in range(N)
    ]
    data = tmp_path / "rows.json"
    data.write_text(json.dumps(rows))
    return data, [s for s in read_input(InputConfig(path=str(data), format="xlam")) if isinstance(s, Sample)]


def _config(path, data, work, url) -> None:
    ep = {"base_url": url, "model": "loopback", "concurrency": 4, "backoff_initial_s": 0.01}
    cfg = {"inputs": [{"path": str(data), "format": "xlam"}], "work_dir": str(work), "progress": False}
    judge = {**ep, "model": "loopback-judge"}  # the same loopback server, as a separate judge endpoint
    path.write_text(json.dumps({**cfg, "generate": {"endpoint": ep}, "judge": {"endpoint": judge}}))


def _tables(work):
    return [pq.read_table(work / f).to_pylist() for f in ("sft.parquet", "rl.parquet")]


def test_unparsable_judge_fails_the_run_and_a_resume_after_the_fix_loses_nothing(tmp_path, capsys):
    data, samples = _inputs(tmp_path)
    cfg_file, work = tmp_path / "prep.yaml", tmp_path / "work"
    garbage = ScriptedTeacherJudge(samples, garbage_verdicts=[s.id for s in samples])
    with OpenAIServer(garbage) as server:
        _config(cfg_file, data, work, server.base_url)
        assert main(["all", "--config", str(cfg_file)]) == 4
    err = capsys.readouterr().err
    assert f"{N} of {N} candidates (100%) dropped for unparsable judge replies" in err
    assert f"judge:unparsable:is_call {N}" in err
    assert "reply: 'I think this one is fine.'" in err
    assert "the output is empty: sft.parquet 0 rows, rl.parquet 0 rows" in err
    # 2 asks (parse_retries=1) of is_call per sample were unparsable: those are set aside.
    assert f"the {2 * N} behind unparsable judge replies are set aside" in err

    fixed = ScriptedTeacherJudge(samples)
    with OpenAIServer(fixed) as server:
        _config(cfg_file, data, work, server.base_url)
        assert main(["all", "--config", str(cfg_file)]) == 0
        resumed = list(server.log)
        reference = run_all(
            load_config(
                None,
                [
                    f"work_dir={tmp_path / 'ref'}",
                    "progress=false",
                    f"inputs=[{{path: {data}}}]",
                    f"generate.endpoint.base_url={server.base_url}",
                    "generate.endpoint.model=loopback",
                    f"judge.endpoint.base_url={server.base_url}",
                    "judge.endpoint.model=loopback-judge",
                ],
            )
        )
    assert _tables(work) == _tables(tmp_path / "ref")
    assert len(_tables(work)[1]) == N and (
        reference["export"]["sft_rows"],
        reference["export"]["rl_rows"],
    ) == (N, N)
    # The resume asked only the judge (5 checks per sample), never the generator again.
    assert len(resumed) == 5 * N


def test_check_run_thresholds():
    drops = [
        {"sample_id": f"s{i}", "reason": "generate:request_error", "detail": "http_400: no"} for i in range(3)
    ]
    guard = load_config(None, ["guard.max_drop_rate=0.5"]).guard
    check_run([(drops, 6, "candidates")], {"sft.parquet": 3}, guard, "")  # 3 of 6 is not above 0.5
    try:
        check_run([(drops, 5, "candidates")], {"sft.parquet": 2}, guard, "")
    except RunFailed as e:
        assert e.causes == ["endpoint errors"]
        assert "3 of 5 candidates (60%) dropped for endpoint errors" in str(e)
        assert "e.g. s0: http_400: no" in str(e)
    else:
        raise AssertionError("3 of 5 endpoint errors passed a 0.5 threshold")
    try:
        check_run([([], 5, "candidates")], {"sft.parquet": 0, "rl.parquet": 0}, guard, "")
    except RunFailed as e:
        assert e.causes == ["empty output"]
    else:
        raise AssertionError("an empty output passed")
