"""Hand-made multi-turn candidates with the official checker's verdicts (bfcl-eval 2026.3.23, each computed
in a fresh process; recomputed by the interim agreement test when the official checker is importable).

Each case: (name, entry id, how to build model_turns from the ground truth, expected (valid, error_type)).
"""

from __future__ import annotations

import copy
import re

CARD = (
    "1234567812345678"  # a long-context credit card of BFCL's TravelAPI (module-level, shared by reference)
)


def one_step(gt):
    return [[list(t)] for t in gt]


def split_steps(gt):
    return [[[c] for c in t] for t in gt]


def _edit(turn, fn):
    def build(gt):
        turns = [list(t) for t in gt]
        turns[turn] = fn(turns[turn])
        return one_step(turns)

    return build


def _ext_card(gt):
    return [[re.sub(r"card_id='[^']*'", f"card_id='{CARD}'", c) for c in t] for t in gt]


def travel_ext_entry(entry):
    """The entry with every card_id of its ground truth replaced by a long-context extension card."""
    entry = copy.deepcopy(entry)
    entry["ground_truth"] = _ext_card(entry["ground_truth"])
    return entry


def travel_balance_entry(entry):
    """Extension card everywhere, and a balance query right after the first booking: the ground truth
    now reads a card that the model's booking also charged (BFCL shares it between the two)."""
    entry = travel_ext_entry(entry)
    for t in entry["ground_truth"]:
        for j, c in enumerate(t):
            if c.startswith("book_flight"):
                token = re.search(r"access_token='([^']*)'", c)[1]
                t.insert(j + 1, f"get_credit_card_balance(access_token='{token}', card_id='{CARD}')")
                return entry
    raise AssertionError("no book_flight call")


def mangle_entry(entry):
    """The entry with ' then ls (x)' appended to the first content='...' of its ground truth."""
    entry = copy.deepcopy(entry)
    for t in entry["ground_truth"]:
        for j, c in enumerate(t):
            new = re.sub(r"content='([^']*)'", r"content='\1 then ls (x)'", c, count=1)
            if new != c:
                t[j] = new
                return entry
    raise AssertionError("no content= argument")


MENTIONS = [f"mention(tweet_id={x}, mentioned_usernames=['@q'])" for x in range(13)]

# (name, entry id, entry transform or None, model_turns builder, (valid, error_type))
CASES = [
    ("ground truth, one step a turn", "multi_turn_base_0", None, one_step, (True, None)),
    ("ground truth, one call a step", "multi_turn_base_0", None, split_steps, (True, None)),
    (
        "one turn short",
        "multi_turn_base_0",
        None,
        lambda gt: one_step(gt[:-1]),
        (False, "multi_turn:force_terminated"),
    ),
    (
        "empty turn",
        "multi_turn_base_0",
        None,
        _edit(1, lambda t: []),
        (False, "multi_turn:empty_turn_model_response"),
    ),
    (
        "mkdir missing",
        "multi_turn_base_0",
        None,
        _edit(0, lambda t: [t[0], t[2]]),
        (False, "multi_turn:instance_state_mismatch"),
    ),
    (
        "read-only grep missing",
        "multi_turn_base_0",
        None,
        _edit(1, lambda t: t[:1]),
        (False, "multi_turn:execution_response_mismatch"),
    ),
    (
        "keyword -> positional (executes)",
        "multi_turn_base_0",
        None,
        _edit(0, lambda t: ["cd('document')", "mkdir('temp')", "mv('final_report.pdf', 'temp')"]),
        (True, None),
    ),
    (
        "trailing cd only changes private state",
        "multi_turn_base_0",
        None,
        _edit(3, lambda t: [*t, "cd(folder='..')"]),
        (True, None),
    ),
    (
        "30 == 30.0",
        "multi_turn_base_54",
        None,
        _edit(2, lambda t: [c.replace("tweet_id=10)", "tweet_id=10.0)") for c in t]),
        (True, None),
    ),
    (
        "junk calls: exit(), print(), unknown",
        "multi_turn_base_0",
        None,
        _edit(0, lambda t: [*t, "nonexistent_fn(a=1)", "exit()", "print('hi')"]),
        (True, None),
    ),
    (
        "miss_func function before its turn still executes",
        "multi_turn_miss_func_0",
        None,
        lambda gt: one_step([gt[0], gt[1] + ["sort(file_name='final_report.pdf')"], [], ["pwd()"], gt[4]]),
        (True, None),
    ),
    (
        "twitter: mention extends the shared default list (response check fails, state passes)",
        "multi_turn_base_88",
        None,
        _edit(2, lambda t: t + MENTIONS),
        (False, "multi_turn:execution_response_mismatch"),
    ),
    (
        "travel long context: the ground truth's balance sees the model's charge (shared card), so even the ground truth fails",
        "multi_turn_long_context_151",
        travel_balance_entry,
        one_step,
        (False, "multi_turn:execution_response_mismatch"),
    ),
    (
        "string mangling: method name in a string differs between model and ground truth",
        "multi_turn_long_context_5",
        mangle_entry,
        one_step,
        (False, "multi_turn:instance_state_mismatch"),
    ),
]
