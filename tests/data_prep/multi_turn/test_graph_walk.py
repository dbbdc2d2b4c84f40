"""Phase I: the environment-API graph's prerequisite edges against BFCL's real classes, the seeded
states and walks, and the ground truth of every round replayed and checked with the multi-turn checker."""

from __future__ import annotations

import json

import pytest
from funrl.data_prep.multi_turn.graph import build_graph, probe_entry
from funrl.data_prep.multi_turn.params import is_error
from funrl.data_prep.multi_turn.states import bare_config, generate_config
from funrl.data_prep.multi_turn.walk import WalkConfig, Walker, ground_truth_entry, walk_trajectory

from funrl.envs.bfcl import BfclEnv, check_multi_turn

FS, TB = "GorillaFileSystem", "TradingBot"


def _run(class_name: str, calls: list[str], state: str = "bare") -> list[str]:
    env = BfclEnv(probe_entry(class_name, state))
    out = env.execute(calls)
    env.close()
    return out


def test_behaviour_by_hand():
    """What the edges rest on, written by hand against the real classes (no graph code involved)."""
    missing = _run(FS, ["cat(file_name='a.txt')"])
    assert json.loads(missing[0]) == {"error": "cat: 'a.txt': No such file or directory"}
    assert _run(FS, ["touch(file_name='a.txt')", "cat(file_name='a.txt')"]) == [
        "None",
        '{"file_content": ""}',
    ]
    assert "error" in json.loads(_run(FS, ["cd(folder='x')"])[0])
    assert _run(FS, ["mkdir(dir_name='x')", "cd(folder='x')"])[1] == '{"current_working_directory": "x"}'
    order = "place_order(order_type='Buy', symbol='AAPL', price=10.0, amount=5)"
    assert "not authenticated" in _run(TB, [order])[0]
    after = _run(TB, ["trading_login(username='u', password='p')", order])
    assert json.loads(after[1])["status"] == "Pending"


EXPECTED = {
    FS: {
        ("touch", "cat"),
        ("touch", "echo"),
        ("touch", "wc"),
        ("touch", "rm"),
        ("mkdir", "cd"),
        ("mkdir", "rmdir"),
    },
    TB: {
        ("trading_login", "place_order"),
        ("trading_login", "get_account_info"),
        ("trading_login", "fund_account"),
        ("trading_login", "get_watchlist"),
        ("place_order", "cancel_order"),
        ("place_order", "get_order_details"),
        ("add_to_watchlist", "remove_stock_from_watchlist"),
    },
}
MSG, TICKET, TW, CAR, TRAVEL = "MessageAPI", "TicketAPI", "TwitterAPI", "VehicleControlAPI", "TravelAPI"
EXPECTED.update(
    {
        MSG: {("message_login", "send_message"), ("send_message", "delete_message")},
        TICKET: {
            ("ticket_login", "create_ticket"),
            ("create_ticket", "close_ticket"),
            ("create_ticket", "get_ticket"),
        },
        TW: {("authenticate_twitter", "post_tweet"), ("post_tweet", "retweet"), ("post_tweet", "comment")},
        CAR: {
            ("lockDoors", "startEngine"),
            ("pressBrakePedal", "startEngine"),
            ("startEngine", "setCruiseControl"),
        },
        TRAVEL: {
            ("authenticate_travel", "register_credit_card"),
            ("register_credit_card", "book_flight"),
            ("book_flight", "cancel_booking"),
        },
    }
)
ABSENT = {
    MSG: {("send_message", "message_login")},
    TICKET: {("close_ticket", "create_ticket")},
    TW: {("retweet", "post_tweet")},
    CAR: {("startEngine", "lockDoors"), ("fillFuelTank", "startEngine")},  # BFCL starts on an empty tank
    TRAVEL: {("cancel_booking", "book_flight"), ("book_flight", "authenticate_travel")},
}
ABSENT |= {
    FS: {("cat", "touch"), ("touch", "mkdir"), ("ls", "cat"), ("pwd", "cd")},
    TB: {("place_order", "trading_login"), ("get_stock_info", "place_order")},
}


@pytest.mark.parametrize("class_name", [FS, TB, MSG, TICKET, TW, CAR, TRAVEL])
def test_prerequisite_edges_checked_against_behaviour(class_name):
    graph = build_graph((class_name,))
    edges = set(graph.prerequisites)
    assert EXPECTED[class_name] <= edges
    assert not ABSENT[class_name] & edges
    for (a, b), ev in graph.prerequisites.items():
        b_call = ev.failed[0]
        assert ev.passed[0] == b_call and ev.enabling[0].startswith(f"{a}(") and b_call.startswith(f"{b}(")
        before = _run(class_name, [*ev.prefix, b_call], ev.state)
        after = _run(class_name, [*ev.prefix, ev.enabling[0], b_call], ev.state)
        assert is_error(before[-1]), (a, b, before)  # B fails before A ...
        assert not any(map(is_error, after)), (a, b, after)  # ... and succeeds after
        assert (before[-1], after[-2], after[-1]) == (ev.failed[1], ev.enabling[1], ev.passed[1])


def test_no_edges_in_a_stateless_class_and_parameter_edges_from_schemas():
    assert build_graph(("MathAPI",)).prerequisites == {}
    params = build_graph((TB,)).parameters
    assert ("place_order", "order_id", "cancel_order", "order_id") in params
    assert ("get_symbol_by_name", "symbol", "get_stock_info", "symbol") in params
    assert not any(f == "amount" for _, f, _, _ in params)


def test_states_are_seeded_and_not_bfcl_defaults():
    assert generate_config([FS, TB], 7) == generate_config([FS, TB], 7)
    assert generate_config([FS, TB], 7) != generate_config([FS, TB], 8)
    with pytest.raises(ValueError, match="involved_classes: 'WebSearchAPI' is not supported"):
        generate_config(["WebSearchAPI"], 0)
    assert bare_config(TB)["authenticated"] is False


def test_walk_toward_a_blocked_target_by_hand():
    """Empty folder, target cat: the only way is touch (the file cat then reads), then cat."""
    entry = {"id": "w", "involved_classes": [FS], "initial_config": {FS: bare_config(FS)}}
    import random

    walker = Walker(build_graph((FS,)), entry, random.Random(0), WalkConfig())
    r = walker.walk("cat")
    walker.close()
    assert [c.split("(")[0] for c in r.calls] == ["touch", "cat"]
    name = r.calls[0][len("touch(file_name=") : -1]
    assert r.calls[1] == f"cat(file_name={name})" and r.outputs == ["None", '{"file_content": ""}']


CLASS_SETS = [
    (FS,),
    (TB,),
    (FS, TB),
    (TB, "MathAPI"),
    ("MessageAPI", "TicketAPI"),
    ("GorillaFileSystem", "TwitterAPI"),
    ("VehicleControlAPI", "MessageAPI"),
    ("TravelAPI", "TicketAPI"),
]


@pytest.mark.parametrize("classes", CLASS_SETS)
def test_walks_are_deterministic_and_replay_and_pass_the_checker(classes):
    graph = build_graph(classes)
    n_calls = 0
    for seed in range(8):
        entry = {
            "id": f"mt_{seed}",
            "involved_classes": list(classes),
            "initial_config": generate_config(list(classes), seed),
        }
        rounds = walk_trajectory(graph, entry, seed, WalkConfig(rounds=3))
        assert rounds == walk_trajectory(graph, entry, seed, WalkConfig(rounds=3))
        assert rounds, seed
        for r in rounds:
            assert r.calls[-1].startswith(f"{r.target}(") and not any(map(is_error, r.outputs))
            n_calls += len(r.calls)
        gt = ground_truth_entry(entry, rounds)
        env = BfclEnv(gt)
        for k, r in enumerate(rounds):  # a fresh environment gives the same feedback, turn by turn
            if k:
                env.start_turn()
            assert env.execute(r.calls) == r.outputs
        env.close()
        result = check_multi_turn(gt, [[r.calls] for r in rounds])
        assert result.valid, result
    assert n_calls > 24  # some rounds hold prerequisite steps


def test_generated_states_are_not_bfcl_states_unless_asked():
    from funrl.data_prep.multi_turn.config import load_config
    from funrl.data_prep.multi_turn.pipeline import walk_all

    from funrl.envs.bfcl import load_all

    bfcl = [e["initial_config"].get(c) for e in load_all() for c in (FS, TB)]
    settings = ["trajectories=6", "class_sets=[[GorillaFileSystem, TradingBot]]", "progress=false"]
    for w in walk_all(load_config(None, settings)):
        assert w["state_source"].startswith("generated:")
        assert w["initial_config"][FS] not in bfcl and w["initial_config"][TB] not in bfcl
    walks = walk_all(load_config(None, [*settings, "from_bfcl_states=true"]))
    base = {e["id"]: e for e in load_all()}
    assert (
        walks[1]["state_source"] == "bfcl:GorillaFileSystem=multi_turn_base_1,TradingBot=multi_turn_base_101"
    )
    assert walks[1]["initial_config"][TB] == base["multi_turn_base_101"]["initial_config"][TB]
    for w in walks:
        assert w["rounds"]
        gt = {**w, "ground_truth": [r["calls"] for r in w["rounds"]]}
        assert check_multi_turn(gt, [[r["calls"]] for r in w["rounds"]]).valid


def test_bfcl_shared_mentions_list_is_avoided():
    """BFCL shares post_tweet's default ``mentions`` list between the model's and the ground truth's
    tweets: a ground truth posting without mentions, then mentioning, fails its own check (BFCL's own
    verdict, which funrl.envs.bfcl reproduces). The walker passes the lists explicitly, and cuts a
    trajectory before any round that would still fail its own check."""
    config = bare_config("TwitterAPI")
    config["authenticated"] = True
    entry = {"id": "tw", "involved_classes": ["TwitterAPI"], "initial_config": {"TwitterAPI": config}}
    mention = "mention(tweet_id=0, mentioned_usernames=['ana'])"
    for post, valid in (("post_tweet(content='hi')", False), ("post_tweet(content='hi', mentions=[])", True)):
        gt = {**entry, "ground_truth": [[post, mention]]}
        assert check_multi_turn(gt, [[[post, mention]]]).valid is valid
    import random

    from funrl.data_prep.multi_turn.params import Live
    from funrl.data_prep.multi_turn.rules import sample_args

    doc = {"name": "post_tweet"}
    args = sample_args("TwitterAPI", doc, Live({"TwitterAPI": config}, random.Random(0)))
    assert args["mentions"] == [] and isinstance(args["tags"], list)
