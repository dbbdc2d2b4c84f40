"""``python -m funrl.rl.multi_turn.warm_start``: bad settings are one line naming the option and exit 2,
before any work; a warm start whose loss is not finite exits 1 instead of leaving a broken model."""

from __future__ import annotations

import math

import pytest

from funrl.rl.multi_turn import warm_start


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps=-1"], "--steps must be an integer >= 1, got -1"),
        (["--steps=0"], "--steps must be an integer >= 1, got 0"),
        (["--lr=-3"], "--lr must be a finite number > 0, got -3.0"),
        (["--lr=nan"], "--lr must be a finite number > 0, got nan"),
        (["--max_tool_output_chars=0"], "--max_tool_output_chars must be an integer >= 1, got 0"),
        (["--ids=,"], "--ids: no BFCL base entry id given"),
        (["--ids=multi_turn_base_0,nope_1"], "--ids: not BFCL base entries: ['nope_1']"),
    ],
)
def test_bad_settings_exit_2_naming_the_option(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        warm_start.main(["--out", str(out), *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"python -m funrl.rl.multi_turn.warm_start: error: {message}"
    assert not (out / "model").exists()  # nothing built


def test_a_diverged_warm_start_exits_1(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(warm_start, "warm_start", lambda *a, **k: [7.0, math.nan])  # as lr=1e9 does
    code = warm_start.main(["--out", str(tmp_path / "out"), "--steps=2"])
    assert code == 1
    assert "loss is nan after 2 steps" in capsys.readouterr().err
    assert not (tmp_path / "out" / "warm_start.json").exists()  # no report of a usable model
