"""Fixtures shared by several test folders.

``WEATHER_FUNCTIONS`` is the one-function BFCL doc the reward, server and TRL tests score against
(``get_weather(city, unit)``, ``city`` required); the ``weather_functions`` fixture hands out a fresh copy
for tests that mutate it.
"""

from __future__ import annotations

import copy

import pytest

WEATHER_FUNCTIONS = [
    {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "dict",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
            "required": ["city"],
        },
    }
]


@pytest.fixture
def weather_functions() -> list[dict]:
    """A fresh copy of ``WEATHER_FUNCTIONS``."""
    return copy.deepcopy(WEATHER_FUNCTIONS)
