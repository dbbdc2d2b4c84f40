"""funrl.envs.bfcl environments: safety, isolation, bad input, tools, caps, entry validation."""

from __future__ import annotations

import copy
import functools
import os
import time

import bfcl_eval  # noqa: E402, F401  (installed by the README's test command: pip install --no-deps bfcl-eval)
import pytest

from funrl.envs.bfcl import BfclEnv, check_multi_turn, load_all, load_entries, validate_entry  # noqa: E402
from funrl.envs.bfcl.runtime import MAX_RESULT_ITEMS  # noqa: E402

ERR = "Error during execution: "


@functools.cache
def entries() -> dict[str, dict]:
    return {e["id"]: e for e in load_all()}


def env(entry_id: str = "multi_turn_base_0", **kw) -> BfclEnv:
    return BfclEnv(entries()[entry_id], **kw)


# ----------------------------------------------------------------------------------------- safety
def test_payloads_execute_nothing(tmp_path):
    marker = tmp_path / "pwned"
    e = env()
    before = e.state()
    payloads = [
        f"mkdir(dir_name=__import__('os').mkdir({str(marker)!r}))",
        f"echo(content=open({str(marker)!r}, 'w').write('x'), file_name='a.txt')",
        "cd(folder=__import__('os').getpid())",
        "ls(a=getattr(pwd, '__self__'))",
        "exit()",
        "quit()",
        "__import__('os').system('true')",
        "print('hi')",
        "GorillaFileSystem.ls()",
        "mkdir(dir_name=(lambda: 'x')())",
        "mkdir(dir_name=[c for c in 'ab'])",
        "mkdir(dir_name=getattr)",
        "mkdir(dir_name=e.__class__)",
        "mkdir(dir_name='%s' % 'x')",
        "mkdir(**{'dir_name': 'x'})",
        "mkdir(*['x'])",
    ]
    t0 = time.perf_counter()
    outputs = e.execute(payloads)
    assert time.perf_counter() - t0 < 5
    assert not marker.exists()
    assert all(o.startswith(ERR) for o in outputs), outputs
    assert e.state() == before  # nothing changed
    assert "__import__('os').mkdir" in outputs[0] and "attribute calls are not executed" in outputs[0]
    assert outputs[3] == ERR + "'getattr' is not an API function of this entry; funrl never evaluates it"
    assert outputs[9] == ERR + "\"lambda: 'x'\" is not a function of this entry; only API calls are executed"
    assert outputs[4] == ERR + "Function call exit is not allowed."  # BFCL's block-list text
    assert "never evaluates" in outputs[7]
    assert "unpacking" in outputs[14] and "unpacking" in outputs[15]


def test_payload_inside_multi_turn_trajectory(tmp_path):
    marker = tmp_path / "m"
    entry = entries()["multi_turn_base_0"]
    turns = [[list(t)] for t in entry["ground_truth"]]
    turns[1][0].append(f"cd(folder=open({str(marker)!r}, 'w').close())")
    turns[2][0].append("exit()")
    assert check_multi_turn(entry, turns).valid  # the refused calls give error strings, nothing else
    assert not marker.exists()


def test_deep_nesting_and_huge_values_bounded():
    e = env()
    deep = "mkdir(dir_name=" + "[" * 150 + "]" * 150 + ")"
    chain = "mkdir(dir_name=" + "+".join(["'a'"] * 5000) + ")"
    big = "echo(content='a'*(10**12), file_name='x.txt')"
    power = "mkdir(dir_name=2**10**10)"
    long_text = "mkdir(dir_name='" + "a" * 200_000 + "')"
    t0 = time.perf_counter()
    out = e.execute([deep, chain, big, power, long_text])
    assert time.perf_counter() - t0 < 5
    assert all(o.startswith(ERR) for o in out), [o[:80] for o in out]
    assert "nest" in out[0] or "nested" in out[0] or "too many" in out[0]
    assert "exceeds" in out[4]


def test_api_arguments_bounded():
    e = env("multi_turn_base_0")
    e2 = BfclEnv({**entries()["multi_turn_base_0"], "involved_classes": ["MathAPI"], "initial_config": {}})
    t0 = time.perf_counter()
    out = e2.execute(
        [
            "logarithm(value=10, base=2, precision=10**9)",
            "square_root(number=2, precision=10**9)",
            "power(base=10, exponent=10**9)",
            "round_number(number=5, decimal_places=-10**9)",
            "logarithm(value=8, base=2, precision=10)",
        ]
    )
    assert time.perf_counter() - t0 < 5
    assert all("refused by funrl" in o for o in out[:4]), out
    assert out[4].startswith("{'result': mpf('3.0")  # BFCL's str() of a dict json cannot dump
    del e


def test_huge_output_capped():
    entry = {**entries()["multi_turn_base_0"], "involved_classes": ["TwitterAPI"], "initial_config": {}}
    e = BfclEnv(entry, max_output_chars=1000, max_turn_output_chars=2500)
    e.execute(["authenticate_twitter(username='john', password='john123')"])
    e.execute([f"post_tweet(content='t{i}')" for i in range(40)])
    out = e.execute(["get_user_tweets(username='john')"] * 4)
    assert len(out[0]) < 1100 and "output truncated" in out[0]
    assert sum(len(o) for o in out) <= 2500 + 4 * 60


def test_result_size_bound():
    entry = {**entries()["multi_turn_base_0"], "involved_classes": ["TwitterAPI"], "initial_config": {}}
    e = BfclEnv(entry)
    e.execute(["authenticate_twitter(username='john', password='john123')"])
    e.execute([f"post_tweet(content='t{i}')" for i in range(40)])
    e.execute([f"post_tweet(content='u{i}')" for i in range(40)])
    assert "successfully" in e.execute(["mention(tweet_id=0, mentioned_usernames=['x']*60000)"])[0]
    t0 = time.perf_counter()
    out = e.execute(["get_user_tweets(username='john')"])
    assert time.perf_counter() - t0 < 5
    assert 80 * 60000 > MAX_RESULT_ITEMS and "result too large" in out[0]


def test_call_limits():
    e = env()
    out = e.execute(["pwd()"] * 70)
    assert out[0] == '{"current_working_directory": "/workspace"}' or out[0].startswith("{")
    assert "call limit" in out[-1] and "call limit" not in out[63]


# ----------------------------------------------------------------------------------------- bad input
def test_bad_calls_give_error_strings():
    e = env()
    out = e.execute(
        [
            "cd(folder='document'",  # unparsable
            "nonexistent(a=1)",  # not a function of the entry
            "cd(directory='x')",  # unknown argument
            "cd(folder='a', folder='b')",  # repeated keyword
            "cd(folder=undefined_name)",
            "cd(folder=['not', 'a', 'str'])",  # ill-typed: raises inside BFCL's class
            "mv(source='nope.txt', destination='x')",  # an API-level error (returned, not raised)
            "cd",
            "1/0",
            "cd(folder=1/0)",
        ]
    )
    assert out[0] == ERR + "'(' was never closed (<string>, line 1)"
    assert out[1] == ERR + "name 'nonexistent' is not defined"
    assert out[2] == ERR + "GorillaFileSystem.cd() got an unexpected keyword argument 'directory'"
    assert out[3] == ERR + "keyword argument repeated: folder (<string>, line 1)"
    assert out[4] == ERR + "name 'undefined_name' is not defined"
    assert out[5].startswith(ERR)
    assert "error" in out[6] and not out[6].startswith(ERR)
    assert out[7].startswith(ERR) and out[8].startswith(ERR)
    assert out[9] == ERR + "division by zero"


def test_non_string_call_does_not_raise():
    out = env().execute([None, 3, ["ls()"]])
    assert all(o.startswith(ERR) for o in out)


def test_malformed_entries_name_the_field():
    good = entries()["multi_turn_base_0"]
    validate_entry(good)
    for field, value in [
        ("id", 3),
        ("involved_classes", ["NoSuchAPI"]),
        ("involved_classes", []),
        ("initial_config", []),
        ("ground_truth", [["ls()"], "cd()"]),
        ("ground_truth", None),
        ("question", [[]]),
        ("missed_function", {"x": ["ls"]}),
    ]:
        bad = {**good, field: value}
        with pytest.raises(ValueError, match=repr(field)):
            validate_entry(bad)
        with pytest.raises(ValueError, match=repr(field)):
            BfclEnv(bad)
        with pytest.raises(ValueError, match=repr(field)):
            check_multi_turn(bad, [[]])
    with pytest.raises(ValueError):
        load_entries("no_such_category")


# ----------------------------------------------------------------------------------------- isolation
def _run(e: BfclEnv, turns: list[list[str]]) -> list[list[str]]:
    out = []
    for k, calls in enumerate(turns):
        if k:
            e.start_turn()
        out.append(e.execute(calls))
    return out


@pytest.mark.parametrize(
    "entry_id", ["multi_turn_base_88", "multi_turn_long_context_151", "multi_turn_base_5"]
)
def test_trajectories_isolated(entry_id):
    entry = entries()[entry_id]
    turns = [list(t) for t in entry["ground_truth"]]
    if any("post_tweet" in c for t in turns for c in t):
        turns[-1] = turns[-1] + [f"mention(tweet_id={i}, mentioned_usernames=['@z'])" for i in range(12)]
    alone = _run(BfclEnv(entry), turns)
    again = _run(BfclEnv(entry), turns)
    assert again == alone
    a, b = BfclEnv(entry), BfclEnv(entry)
    inter_a, inter_b = [], []
    for k, calls in enumerate(turns):
        if k:
            a.start_turn()
            b.start_turn()
        inter_a.append([a.execute([c])[0] for c in calls])
        inter_b.append([b.execute([c])[0] for c in calls])
    assert inter_a == alone and inter_b == alone
    assert a.state() == b.state()


def test_twitter_default_list_does_not_leak():
    entry = {**entries()["multi_turn_base_0"], "involved_classes": ["TwitterAPI"], "initial_config": {}}
    e1 = BfclEnv(entry)
    e1.execute(["authenticate_twitter(username='john', password='john123')", "post_tweet(content='a')"])
    tweet_id = max(e1.state()["TwitterAPI"]["tweets"])
    e1.execute([f"mention(tweet_id={tweet_id}, mentioned_usernames=['@leak'])"])
    e2 = BfclEnv(entry)
    out = e2.execute(["authenticate_twitter(username='john', password='john123')", "post_tweet(content='b')"])
    assert '"mentions": []' in out[1]
    # ... while inside one trajectory BFCL's sharing is kept: a second tweet sees the first's mention
    out1 = e1.execute(["post_tweet(content='c')"])
    assert '"mentions": ["@leak"]' in out1[0]


def test_module_globals_untouched():
    from bfcl_eval.eval_checker.multi_turn_eval.func_source_code import posting_api, travel_booking

    cards = copy.deepcopy(travel_booking.CREDIT_CARD_EXTENSION)
    defaults = copy.deepcopy(posting_api.TwitterAPI.post_tweet.__defaults__)
    entry = entries()["multi_turn_long_context_151"]
    check_multi_turn(entry, [[list(t)] for t in entry["ground_truth"]])
    test_twitter_default_list_does_not_leak()
    assert travel_booking.CREDIT_CARD_EXTENSION == cards
    assert posting_api.TwitterAPI.post_tweet.__defaults__ == defaults


def test_numeric_settings_restored():
    import decimal

    import mpmath

    dps, prec = mpmath.mp.dps, decimal.getcontext().prec
    e = BfclEnv({**entries()["multi_turn_base_0"], "involved_classes": ["MathAPI"], "initial_config": {}})
    e.execute(["logarithm(value=10, base=2, precision=50)", "square_root(number=2, precision=40)"])
    assert (mpmath.mp.dps, decimal.getcontext().prec) == (dps, prec)


# ----------------------------------------------------------------------------------------- tools, turns
def test_tools_miss_func():
    entry = entries()["multi_turn_miss_func_0"]
    e = BfclEnv(entry)
    names = [d["name"] for d in e.tools()]
    assert "sort" not in names and "cd" in names and "post_tweet" in names
    assert [d["name"] for d in e.tools(3)][-1] == "sort"
    assert [d["name"] for d in e.new_tools(3)] == ["sort"] and e.new_tools(2) == []
    assert len(e.tools(3)) == 18 + 14
    assert e.question(3) == []
    # strict: refused before turn 3, allowed from turn 3
    s = BfclEnv(entry, strict=True)
    s.execute(["cd(folder='document')"])
    assert "not available" in s.execute(["sort(file_name='final_report.pdf')"])[0]
    # by its name, whatever the arguments hold (a bad one, a nested call, both), and inside arguments
    hidden = ERR + "function 'sort' is not available at this turn"
    for call in ("sort(file_name=nope)", "sort(file_name=pwd(), x=nope)", "ls(a=sort(file_name='x'))"):
        assert s.execute([call]) == [hidden], call
    s.start_turn(3)
    assert not s.execute(["sort(file_name='final_report.pdf')"])[0].startswith(ERR)
    # default (BFCL): executes
    assert not e.execute(["cd(folder='document')", "sort(file_name='final_report.pdf')"])[1].startswith(ERR)


def test_trajectory_recorded_and_checked():
    entry = entries()["multi_turn_base_0"]
    e = BfclEnv(entry)
    for k, calls in enumerate(entry["ground_truth"]):
        if k:
            e.start_turn()
        for c in calls:
            e.execute([c])
    assert e.trajectory == [[[c] for c in t] for t in entry["ground_truth"]]
    assert check_multi_turn(entry, e.trajectory).valid
    e.close()
    with pytest.raises(RuntimeError):
        e.execute(["pwd()"])
    with pytest.raises(ValueError):
        BfclEnv(entry).start_turn(10)


def test_no_eval_in_package():
    import funrl.envs.bfcl as pkg

    root = os.path.dirname(pkg.__file__)
    for name in os.listdir(root):
        if name.endswith(".py"):
            text = open(os.path.join(root, name), encoding="utf-8").read()
            assert "eval(" not in text.replace("safe_arith", "").replace("literal_eval", ""), name
            assert "exec(" not in text, name


def _miss_func_103() -> tuple[dict, list]:
    """multi_turn_miss_func_103 (MessageAPI + TradingBot) and its ground truth as the model's turns."""
    entry = next(e for e in load_entries("miss_func") if e["id"] == "multi_turn_miss_func_103")
    return entry, [[calls] if calls else [] for calls in entry["ground_truth"]]


@pytest.mark.parametrize("error", [MemoryError, RecursionError])
def test_a_transient_parse_failure_is_not_remembered(monkeypatch, error):
    """Out of memory or stack while parsing is the moment's, not the call's: that call fails (as in
    BFCL, an error result), and the same call text later parses and runs (it was remembered for good)."""
    from funrl.envs.bfcl import calls, runtime

    entry, turns = _miss_func_103()
    assert check_multi_turn(entry, turns).valid
    real, fired = calls.ast.parse, []

    def failing_once(source, *args, **kwargs):
        if "funrl_eval_multi" in source and "send_message" in source and not fired:
            fired.append(source)
            raise error("out of it")
        return real(source, *args, **kwargs)

    monkeypatch.setattr(runtime, "_PARSE_CACHE", type(runtime._PARSE_CACHE)())
    monkeypatch.setattr(calls.ast, "parse", failing_once)
    failed = check_multi_turn(entry, turns)
    assert fired and (failed.valid, failed.error_type) == (False, "multi_turn:instance_state_mismatch")
    assert set(failed.details["differences"]) == {"generated_ids", "inbox", "message_count"}
    assert check_multi_turn(copy.deepcopy(entry), turns).valid
    assert not any(type(v) is str and "out of it" in v for v in runtime._PARSE_CACHE.values())


def test_remembered_refusals_keep_no_instances_alive(monkeypatch):
    """A refused call is remembered by its text; what is kept holds no frame, so no instance set."""
    import gc
    import weakref

    from funrl.envs.bfcl import runtime

    monkeypatch.setattr(runtime, "_PARSE_CACHE", type(runtime._PARSE_CACHE)())
    entry = load_entries("base")[0]
    env = BfclEnv(entry)
    first = env.execute(["cd(folder=", "__import__('os')", "ls(a=1, a=2)"])
    instances = weakref.ref(env._instances)
    env.close()
    del env
    gc.collect()
    assert instances() is None
    assert len(runtime._PARSE_CACHE) == 3 and all(type(v) is str for v in runtime._PARSE_CACHE.values())
    again = BfclEnv(entry).execute(["cd(folder=", "__import__('os')", "ls(a=1, a=2)"])
    assert again == first and all(out.startswith("Error during execution: ") for out in again)


def test_calls_inside_arguments_run_in_order_as_eval_runs_them(monkeypatch):
    from funrl.envs.bfcl import runtime

    e = env()  # multi_turn_base_0: GorillaFileSystem + TwitterAPI
    assert e.execute(["mkdir(dir_name=str(object='made_by_str'))"]) == ["None"]
    assert "made_by_str" in e.execute(["ls()"])[0]
    # a nested method runs (its state change stays), then the undefined name stops the outer call
    out = e.execute(["mkdir(dir_name='outer', x=mkdir(dir_name='inner'), y=not_defined(z=1))"])
    assert out == [ERR + "name 'not_defined' is not defined"]
    listing = e.execute(["ls()"])[0]
    assert "inner" in listing and "outer" not in listing
    # no nested call before it: refused before anything runs
    assert e.execute(["mkdir(dir_name=not_defined(z=1), x=mkdir(dir_name='never'))"]) == [
        ERR + "name 'not_defined' is not defined"
    ]
    assert "never" not in e.execute(["ls()"])[0]
    # bounds: round's digits, and what nested calls return counts against the trajectory's arguments
    assert e.execute(["mkdir(dir_name=round(number=5, ndigits=-100000))"]) == [
        ERR + "|ndigits| above 10000 is refused by funrl"
    ]
    from funrl.envs.bfcl.calls import MAX_NESTED_CALLS

    many = ", ".join(f"x{i}=mkdir(dir_name='n{i}')" for i in range(MAX_NESTED_CALLS + 1))
    assert e.execute([f"ls({many})"]) == [
        ERR + f"more than {MAX_NESTED_CALLS} calls inside the arguments; not executed"
    ]
    assert "n0" not in e.execute(["ls()"])[0]  # refused as a whole, nothing ran
    # sum is not offered (sum(lists, []) is quadratic): BFCL would run it
    assert e.execute(["mkdir(dir_name=sum(iterable=[1]))"]) == [
        ERR + "'sum' is not an API function of this entry; funrl never evaluates it"
    ]
    # a builtin that raises comes before a refusal after it, as in eval; str decodes no bytes
    assert e.execute(["ls(a=int('z'), b=not_defined)"]) == [
        ERR + "invalid literal for int() with base 10: 'z'"
    ]
    assert e.execute(["ls(a=str(object=b'abc', encoding='punycode'))"]) == [
        ERR + "str() with an encoding is refused by funrl"
    ]
    # arguments over the call's budget (ints count by their digits) refuse the call as a whole and
    # leave the trajectory's budget alone, also after a nested call
    before = e._instances.arg_items
    for call in ("ls(pwd(), " + ", ".join(["[0] * 131072"] * 3) + ")", "ls(a=str(object=[10**4299] * 300))"):
        assert e.execute([call]) == [ERR + "arguments exceed 262144 items; not executed"]
    assert e._instances.arg_items == before and e.execute(["pwd()"]) == [
        '{"current_working_directory": "/workspace"}'
    ]
    limit = e._instances.arg_items + 60  # the 40 characters of the argument fit, the 40 returned do not
    monkeypatch.setattr(runtime, "MAX_TRAJECTORY_ARG_ITEMS", limit)
    assert e.execute(["mkdir(dir_name=str(object='y' * 40))"]) == [
        ERR + f"arguments of this trajectory exceed {limit} items; not executed"
    ]
    assert "y" * 40 not in repr(e.state())  # the outer call did not run


def test_a_cyclic_result_is_formatted_as_bfcl_formats_it():
    """A nested call can hand an API its own state (a tweet's mention list holding the tweet): the
    result then holds itself; json.dumps fails and str() gives Python's ``{...}``, as in BFCL."""
    entry = next(x for x in load_entries("base") if "TwitterAPI" in x["involved_classes"])
    e = BfclEnv(entry)
    login = "authenticate_twitter(username='analyst_pro', password='Kj8#mP9$vL2')"
    mention = "mention(tweet_id=0, mentioned_usernames=get_user_tweets(username='analyst_pro'))"
    out = e.execute([login, mention, "get_tweet(tweet_id=0)"])
    assert out[1] == '{"mention_status": "Users mentioned successfully"}'
    assert (
        out[2].startswith("{'id': 0, 'username': 'analyst_pro'") and "'mentions': [{...}, {'id': 1" in out[2]
    )
