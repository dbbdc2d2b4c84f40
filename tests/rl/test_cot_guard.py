"""The no-CoT guard (funrl.rl.cot_guard) and its setting funrl.entropy.no_cot_stop_after."""

from __future__ import annotations

import logging

import pytest

from funrl.config import EntropyConfig, funrl_config_from
from funrl.rl.cot_guard import STOP_KEY, NoCotError, NoCotGuard


def test_warns_on_the_first_no_cot_step_then_stops_at_the_limit(caplog):
    guard = NoCotGuard(stop_after=3)
    with caplog.at_level(logging.WARNING, logger="funrl.rl.cot_guard"):
        assert guard.observe(0.0, step=1) == 1
        assert len(caplog.records) == 1
        assert "step 1" in caplog.text and "plain GRPO" in caplog.text and "<think>...</think>" in caplog.text
        assert guard.observe(0.0, step=2) == 2
        assert len(caplog.records) == 1  # one warning per run of no-CoT steps
        with pytest.raises(NoCotError, match=r"3 steps in a row \(up to step 3\)") as stopped:
            guard.observe(0.0, step=3)
    message = str(stopped.value)
    assert STOP_KEY + "=0" in message and "max_response_length" in message and "warm start" in message


def test_a_step_with_cot_resets_the_count(caplog):
    guard = NoCotGuard(stop_after=2)
    with caplog.at_level(logging.WARNING, logger="funrl.rl.cot_guard"):
        assert guard.observe(0.0, step=1) == 1
        assert guard.observe(0.125, step=2) == 0  # one response in eight had a span
        assert guard.observe(0.0, step=3) == 1  # a new run: warned again, not stopped
    assert len(caplog.records) == 2
    with pytest.raises(NoCotError):
        guard.observe(0.0, step=4)


def test_zero_switches_the_stop_off_but_still_warns(caplog):
    guard = NoCotGuard(stop_after=0)
    with caplog.at_level(logging.WARNING, logger="funrl.rl.cot_guard"):
        for step in range(1, 101):
            assert guard.observe(0.0, step=step) == step
    assert len(caplog.records) == 1
    assert "Training stops after no such steps" in caplog.text


def test_stop_after_one_stops_on_the_first_step():
    with pytest.raises(NoCotError, match="1 steps in a row"):
        NoCotGuard(stop_after=1, open_tag="<reason>", close_tag="</reason>").observe(0.0, step=7)


def test_setting_default_range_and_type():
    assert EntropyConfig().no_cot_stop_after == 5
    assert funrl_config_from({"funrl": {"entropy": {"no_cot_stop_after": 0}}}).entropy.no_cot_stop_after == 0
    for bad in (-1, True):
        with pytest.raises(ValueError, match="funrl.entropy.no_cot_stop_after"):
            EntropyConfig(no_cot_stop_after=bad)
    for bad in (2.5, "3"):
        with pytest.raises(ValueError, match="funrl.entropy.no_cot_stop_after"):
            funrl_config_from({"funrl": {"entropy": {"no_cot_stop_after": bad}}})
