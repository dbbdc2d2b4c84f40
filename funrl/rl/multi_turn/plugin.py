"""verl plugin (entry point ``funrl_multi_turn`` of group ``verl.plugins``): the ``bfcl_multi_turn``
agent loop.

verl imports this module on every ``import verl``, in the driver and in every Ray worker; importing
:mod:`funrl.rl.multi_turn.loop` registers the loop with verl's ``@register``. A failure (e.g. bfcl-eval
not installed) is logged as a warning and never breaks ``import verl``; a run that selects the loop then
fails in verl (``Agent loop bfcl_multi_turn not registered``) with this warning above it.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

try:
    from funrl.rl.multi_turn import loop  # noqa: F401  (registers the agent loop)
except Exception:  # never break `import verl`
    logger.warning("funrl: could not register the bfcl_multi_turn agent loop", exc_info=True)
