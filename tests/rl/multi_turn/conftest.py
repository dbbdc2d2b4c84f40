"""Shared pieces: the tiny tokenizer, BFCL entries. The scripted token server, the loop built as verl builds
one and the ground-truth script are the library's (``funrl.rl.multi_turn.warm_start``: the warm start of
the CPU test and of the demo drives the loop with them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from funrl.envs.bfcl import load_entries


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory):
    from funrl.toy import tiny_tokenizer

    return tiny_tokenizer(tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="session")
def entries() -> dict[str, dict]:
    """A few BFCL entries by id (base and miss_func)."""
    out = {e["id"]: e for e in load_entries("base")[:3]}
    out.update({e["id"]: e for e in load_entries("miss_func")[:2]})
    return out


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())
