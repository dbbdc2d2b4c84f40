"""Multi-turn RL on BFCL's environments in verl (docs/multi_turn_rl.md).

* :mod:`.loop` -- the ``bfcl_multi_turn`` agent loop (one ``funrl.envs.bfcl`` environment per
  trajectory, append-only tokens, reward set by the loop); imports verl;
* :mod:`.rewards` -- ``final`` / ``turn_mean`` rewards and per-trajectory metrics;
* :mod:`.settings` -- the ``bfcl_multi_turn:`` config block;
* :mod:`.data` -- RL parquet rows for BFCL multi-turn entries and the train/held-out split;
* :mod:`.plugin` -- the ``verl.plugins`` entry point that registers the loop.

This package imports nothing heavy itself; import the modules you need.
"""

AGENT_NAME = "bfcl_multi_turn"
"""The agent loop's name: the parquet column ``agent_name`` selects it per row (verl's ``@register``)."""
ENTRY_KEY = "bfcl_entry"
"""The ``extra_info`` key of a row's BFCL entry (a JSON string), the one the loop runs."""
