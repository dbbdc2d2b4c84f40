"""Generate the golden verdicts of BFCL's multi-turn checker, from BFCL's own data and its official checker.

Run it in a separate venv with ``pip install --no-deps bfcl-eval==2026.3.23`` plus its requirements (its
pins clash with verl's), from the repository root:

    BFCL_PROJECT_ROOT=/tmp/bfclroot /path/to/bfcl-venv/bin/python tests/data/bfcl_multi_turn/make_golden.py

It writes ``candidates.jsonl.gz`` next to itself (about 12 minutes on one core), one JSON object a line:
``{"id", "kind", "model_turns", "valid", "error_type"}``. ``model_turns`` is BFCL's decoded form, turns ->
steps -> python-call strings: what each step's ``handler.decode_execute`` returns. ``valid`` is true/false
(null where BFCL's code raised, with the exception's class name as ``error_type``); ``error_type`` is
BFCL's (``multi_turn:...``) or null when valid.

Official verdicts: each candidate goes through BFCL's own ``eval_runner._evaluate_single_multi_turn_entry``
(turn-count check -> ``multi_turn:force_terminated``, steps whose decoded list is empty -- ``[]`` or
``[""]`` -- dropped, then ``multi_turn_checker``), with a stand-in handler whose ``decode_execute`` returns
the step as it is, the entries from ``bfcl_eval.utils.load_dataset_entry`` / ``load_ground_truth_entry``
and model name ``MODEL`` below. BFCL keeps its API instances in module globals (keyed by model name and
entry id), ``TwitterAPI.post_tweet`` has mutable default arguments, and the APIs draw from their own
seeded random streams: so checking two candidates in one process can carry state from one to the next.
Each verdict here is what a FRESH process gives: the parent imports bfcl_eval and loads the data once,
then forks one child per candidate, which runs the steps above and sends back the verdict
(``--verify N`` re-checks N candidates, twice by fork and once each in a brand-new ``python`` process).
The mutations are drawn with a fixed seed, so the file is reproducible (except for
``verify_traveler_information``, which reads ``datetime.today()``: no candidate here has a birth date
near the 18-year boundary). This script is not part of the test run and not of the funrl package.

``--bench`` measures the official checker's speed instead: one process, no fork; before each candidate
the cached API instances are deleted from ``multi_turn_utils``'s globals and ``post_tweet``'s defaults
are reset; only the ``_evaluate_single_multi_turn_entry`` call is timed. The counts and the speed are
in README.md next to this file.
"""

from __future__ import annotations

import argparse
import ast
import collections
import copy
import gzip
import importlib
import inspect
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

os.environ.setdefault("BFCL_PROJECT_ROOT", "/tmp/bfclroot")
pathlib.Path(os.environ["BFCL_PROJECT_ROOT"]).mkdir(parents=True, exist_ok=True)

from bfcl_eval.constants.executable_backend_config import CLASS_FILE_PATH_MAPPING  # noqa: E402
from bfcl_eval.eval_checker import eval_runner  # noqa: E402
from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils  # noqa: E402
from bfcl_eval.utils import load_dataset_entry, load_ground_truth_entry  # noqa: E402

CATEGORIES = ["multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context"]
HERE = pathlib.Path(__file__).parent
OUT = HERE / "candidates.jsonl.gz"
MODEL = "gpt-4o-2024-11-20-FC"  # a registered model name; it only names BFCL's cached instances
SEED = 20261129
MULTI_TURN_CLASSES = [
    "GorillaFileSystem",
    "MathAPI",
    "MessageAPI",
    "TwitterAPI",
    "TicketAPI",
    "TradingBot",
    "TravelAPI",
    "VehicleControlAPI",
]
CLASSES = {c: getattr(importlib.import_module(CLASS_FILE_PATH_MAPPING[c]), c) for c in MULTI_TURN_CLASSES}

TWITTER_DEFAULT_STATE = importlib.import_module(CLASS_FILE_PATH_MAPPING["TwitterAPI"]).DEFAULT_STATE
# Calls that change no state (getters), per class.
READ_ONLY = {
    "GorillaFileSystem": ["ls()", "pwd()", "ls(a=True)"],
    "MathAPI": ["add(a=2, b=3)", "sum_values(numbers=[1, 2, 3.5])"],
    "MessageAPI": ["list_users()", "message_get_login_status()"],
    "TwitterAPI": ["posting_get_login_status()", "list_all_following()"],
    "TicketAPI": ["ticket_get_login_status()"],
    "TradingBot": ["get_watchlist()", "trading_get_login_status()", "get_account_info()"],
    "TravelAPI": ["list_all_airports()", "travel_get_login_status()"],
    "VehicleControlAPI": ["displayCarStatus(option='fuel')", "get_current_speed()", "check_tire_pressure()"],
}
# Calls that usually change state (when the API's login state allows), per class.
STATEFUL = {
    "GorillaFileSystem": ["mkdir(dir_name='funrl_extra')", "touch(file_name='funrl_note.txt')"],
    "MathAPI": ["multiply(a=6, b=7)"],
    "MessageAPI": [
        "add_contact(user_name='Funrl Tester')",
        "message_login(user_id='USR002')",
        "send_message(receiver_id='USR002', message='extra message')",
    ],
    "TwitterAPI": [
        "post_tweet(content='extra tweet from funrl')",
        "follow_user(username_to_follow='funrl_bot')",
    ],
    "TicketAPI": ["create_ticket(title='extra ticket', priority=2)"],
    "TradingBot": ["add_to_watchlist(stock='ZETA')", "fund_account(amount=10.0)"],
    "TravelAPI": [
        "authenticate_travel(client_id='cid', client_secret='sec', refresh_token='tok',"
        " grant_type='read_write', user_first_name='Ann', user_last_name='Lee')"
    ],
    "VehicleControlAPI": ["setHeadlights(mode='on')", "set_navigation(destination='Funrl City')"],
}
# Calls that raise inside the API class, or return an error (wrong types, missing arguments, no such folder).
RAISING = {
    "GorillaFileSystem": ["cd(folder='does_not_exist')", "cd(folder=123)", "mkdir()", "cat(file_name=None)"],
    "MathAPI": ["divide(a=1, b=0)", "mean(numbers='abc')", "square_root(number=-4, precision=2)"],
    "MessageAPI": ["send_message(receiver_id=None)", "search_messages(keyword=42)"],
    "TwitterAPI": ["get_tweet(tweet_id='zero')", "comment(tweet_id=99999)"],
    "TicketAPI": ["get_ticket()", "close_ticket(ticket_id='x')"],
    "TradingBot": ["get_stock_info(symbol=None)", "place_order(order_type='Buy')"],
    "TravelAPI": ["compute_exchange_rate(base_currency='XXX', target_currency='YYY', value=1.0)"],
    "VehicleControlAPI": ["startEngine()", "lockDoors(unlock='maybe', door=7)"],
}
# A call of each class, for entries that do not involve it: BFCL cannot resolve the name.
FOREIGN = {
    "GorillaFileSystem": "ls()",
    "MathAPI": "add(a=1, b=2)",
    "MessageAPI": "list_users()",
    "TwitterAPI": "posting_get_login_status()",
    "TicketAPI": "ticket_get_login_status()",
    "TradingBot": "get_current_time()",
    "TravelAPI": "list_all_airports()",
    "VehicleControlAPI": "get_current_speed()",
}


# ------------------------------------------------------------------------- official verdicts
class _DecodedHandler:
    """Stands in for BFCL's model handler: the candidates are already decoded, one list of calls a step."""

    def decode_execute(self, result, has_tool_call_tag=False):
        return list(result)


def verdict(entry: dict, ground_truth: list, model_turns: list) -> tuple:
    """The official verdict, computed in THIS process (call it in a fresh one)."""
    r = eval_runner._evaluate_single_multi_turn_entry(
        _DecodedHandler(),
        entry["id"],
        copy.deepcopy(model_turns),
        copy.deepcopy(ground_truth),
        copy.deepcopy(entry),
        MODEL,
        entry["id"].rsplit("_", 1)[0],
    )
    if r["valid"]:
        return True, None
    return False, r["error"]["error_type"]


def verdict_forked(entry: dict, ground_truth: list, model_turns: list) -> tuple:
    """The official verdict in a fresh child process (forked after bfcl_eval was imported and the data loaded)."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(rfd)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        signal.alarm(300)
        try:
            out = json.dumps(verdict(entry, ground_truth, model_turns))
        except BaseException as e:  # noqa: B036 -- any failure of BFCL's code is the verdict
            out = json.dumps([None, type(e).__name__])
        with os.fdopen(wfd, "w") as f:
            f.write(out)
        os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd) as f:
        text = f.read()
    os.waitpid(pid, 0)
    if not text:
        return None, "ChildDied"
    return tuple(json.loads(text))


_SUBPROCESS = """
import json, sys
sys.path.insert(0, {here!r})
import make_golden as g
entry, gt, turns = json.loads(sys.stdin.read())
print(json.dumps(g.verdict(entry, gt, turns)))
"""


def verdict_new_python(entry: dict, ground_truth: list, model_turns: list) -> tuple:
    """The official verdict from a brand-new python process (for --verify)."""
    p = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS.format(here=str(HERE))],
        input=json.dumps([entry, ground_truth, model_turns]),
        capture_output=True,
        text=True,
        check=True,
    )
    return tuple(json.loads(p.stdout.strip().splitlines()[-1]))


# ------------------------------------------------------------------------- call surgery
def parse(call: str) -> ast.Call:
    node = ast.parse(call, mode="eval").body
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name), call
    return node


def render(node: ast.Call) -> str:
    return ast.unparse(node)


def method_of(name: str, classes: list):
    for c in classes:
        m = getattr(CLASSES[c], name, None)
        if m is not None and not name.startswith("_"):
            return m
    return None


def params_of(name: str, classes: list) -> list:
    m = method_of(name, classes)
    if m is None:
        return []
    return [p for p in inspect.signature(m).parameters.values() if p.name != "self"]


def constants(node: ast.Call, types: tuple) -> list:
    """(holder, index-or-attr) of the constant arguments of the given types, bools excluded unless asked."""
    out = []
    for i, a in enumerate(node.args):
        if isinstance(a, ast.Constant) and type(a.value) in types:
            out.append(("args", i))
    for i, k in enumerate(node.keywords):
        if isinstance(k.value, ast.Constant) and type(k.value.value) in types:
            out.append(("keywords", i))
    return out


def get_arg(node, where):
    holder, i = where
    return node.args[i] if holder == "args" else node.keywords[i].value


def set_arg(node, where, value):
    holder, i = where
    if holder == "args":
        node.args[i] = ast.Constant(value)
    else:
        node.keywords[i].value = ast.Constant(value)


def mutate_value(call: str, types: tuple, fn, rng: random.Random) -> str | None:
    node = parse(call)
    spots = constants(node, types)
    if not spots:
        return None
    where = rng.choice(spots)
    set_arg(node, where, fn(get_arg(node, where).value))
    return render(node)


def kw_to_positional(call: str, classes: list) -> str | None:
    node = parse(call)
    params = params_of(node.func.id, classes)
    kws = {k.arg: k.value for k in node.keywords}
    if not kws or not params:
        return None
    args = list(node.args)
    for p in params[len(args) :]:
        if p.name in kws and p.kind in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY):
            args.append(kws.pop(p.name))
        else:
            break
    if len(args) == len(node.args):
        return None
    node.args = args
    node.keywords = [k for k in node.keywords if k.arg in kws]
    return render(node)


def positional_to_kw(call: str, classes: list) -> str | None:
    node = parse(call)
    params = params_of(node.func.id, classes)
    if not node.args or len(params) < len(node.args):
        return None
    node.keywords = [ast.keyword(p.name, a) for p, a in zip(params, node.args)] + node.keywords
    node.args = []
    return render(node)


def ints_to_floats(call: str) -> str | None:
    node = parse(call)
    spots = constants(node, (int,))
    if not spots:
        return None
    for w in spots:
        set_arg(node, w, float(get_arg(node, w).value))
    return render(node)


def floats_to_ints(call: str) -> str | None:
    node = parse(call)
    spots = [w for w in constants(node, (float,)) if get_arg(node, w).value.is_integer()]
    if not spots:
        return None
    for w in spots:
        set_arg(node, w, int(get_arg(node, w).value))
    return render(node)


def add_unknown_kwarg(call: str) -> str:
    node = parse(call)
    node.keywords.append(ast.keyword("bogus_arg", ast.Constant(1)))
    return render(node)


def same_param_twice(call: str) -> str | None:
    """Give the first keyword argument positionally too (BFCL: TypeError, multiple values)."""
    node = parse(call)
    if node.args or not node.keywords:
        return None
    node.args = [node.keywords[0].value]
    return render(node)


def extra_positional(call: str, classes: list) -> str:
    node = parse(call)
    node.args = node.args + [ast.Constant(7)] * (len(params_of(node.func.id, classes)) + 1 - len(node.args))
    node.keywords = []
    return render(node)


def drop_required(call: str, classes: list) -> str | None:
    node = parse(call)
    required = {p.name for p in params_of(node.func.id, classes) if p.default is p.empty}
    for i, k in enumerate(node.keywords):
        if k.arg in required:
            del node.keywords[i]
            return render(node)
    return None


def reverse_list_arg(call: str) -> str | None:
    node = parse(call)
    for k in node.keywords:
        if isinstance(k.value, ast.List) and len(k.value.elts) >= 2:
            k.value.elts = k.value.elts[::-1]
            return render(node)
    return None


def drop_default_kwarg(call: str, classes: list) -> str | None:
    """Leave out a keyword argument given at its default value."""
    node = parse(call)
    defaults = {p.name: p.default for p in params_of(node.func.id, classes) if p.default is not p.empty}
    for i, k in enumerate(node.keywords):
        if isinstance(k.value, ast.Constant) and k.arg in defaults and k.value.value == defaults[k.arg]:
            if type(k.value.value) is type(defaults[k.arg]):
                del node.keywords[i]
                return render(node)
    return None


def add_default_kwarg(call: str, classes: list) -> str | None:
    """Spell out an optional parameter at its default value."""
    node = parse(call)
    given = {k.arg for k in node.keywords}
    params = params_of(node.func.id, classes)
    for p in params[len(node.args) :]:
        if p.default is not p.empty and p.name not in given:
            if p.default is None or isinstance(p.default, (bool, int, float, str)):
                node.keywords.append(ast.keyword(p.name, ast.Constant(p.default)))
                return render(node)
    return None


def respell(call: str) -> str:
    """Same call, other spelling: double quotes, spaces around '=' and before '('."""
    node = parse(call)
    out = node.func.id + " ("
    parts = [ast.unparse(a) for a in node.args] + [f"{k.arg} = {ast.unparse(k.value)}" for k in node.keywords]
    out += ", ".join(p.replace("'", '"') if "'" in p and '"' not in p else p for p in parts) + ")"
    return out


def is_read_only_name(name: str) -> bool:
    return any(name == parse(c).func.id for calls in READ_ONLY.values() for c in calls) or name in {
        "cat",
        "grep",
        "tail",
        "wc",
        "diff",
        "find",
        "du",
        "sort",
        "get_ticket",
        "get_stock_info",
        "get_order_details",
        "get_symbol_by_name",
        "get_flight_cost",
        "get_user_id",
        "view_messages_sent",
        "get_tweet",
    }


# ------------------------------------------------------------------------- candidates
def one_step(turns):
    return [[list(t)] if t else [] for t in turns]


def candidates(entry: dict, gt: list) -> list:
    rng = random.Random(f"{SEED}:{entry['id']}")
    classes = entry["involved_classes"]
    n = len(gt)
    full = [i for i, t in enumerate(gt) if t]
    empty = [i for i, t in enumerate(gt) if not t]
    calls = [(i, j) for i in full for j in range(len(gt[i]))]
    out = []

    def add(kind, turns):
        out.append((kind, turns))

    def with_turns(fn):
        turns = [list(t) for t in gt]
        fn(turns)
        return turns

    def replace_call(kind, new_fn, spots=None, tries=6):
        """Replace one call (the first spot where new_fn gives a changed call)."""
        spots = list(spots if spots is not None else calls)
        rng.shuffle(spots)
        for i, j in spots[:tries] if tries else spots:
            new = new_fn(gt[i][j])
            if new is not None and new != gt[i][j]:
                add(kind, one_step(with_turns(lambda t, i=i, j=j, new=new: t[i].__setitem__(j, new))))
                return

    def replaced(i, j, call):
        turns = [list(t) for t in gt]
        turns[i][j] = call
        return one_step(turns)

    def insert(kind, call, i=None, pos=None):
        i = rng.choice(full) if i is None else i
        turns = [list(t) for t in gt]
        p = rng.randint(0, len(turns[i])) if pos is None else pos
        turns[i].insert(p, call)
        add(kind, one_step(turns))

    # gold, in several shapes
    add("gold", one_step(gt))
    add("gold_split", [[[c] for c in t] for t in gt])
    sprinkled = []
    for t in gt:
        steps = [[c] for c in t]
        for _ in range(rng.randint(1, 2)):
            steps.insert(rng.randint(0, len(steps)), [])
        sprinkled.append(steps)
    add("gold_empty_steps", sprinkled)
    add("gold_blank_string_step", [[[""], list(t)] if t else [[""]] for t in gt])
    add("gold_two_step_halves", [[list(t[: len(t) // 2]), list(t[len(t) // 2 :])] if t else [] for t in gt])
    if empty:
        add("gold_empty_turn_nested", [[list(t)] if t else [[]] for t in gt])
        add("gold_empty_turn_double", [[list(t)] if t else [[], []] for t in gt])
    add("gold_respelled", one_step([[respell(c) for c in t] for t in gt]))

    # missing / extra / order
    for _ in range(1):
        i, j = rng.choice(calls)
        add("missing_call", one_step(with_turns(lambda t, i=i, j=j: t[i].pop(j))))
    multi = [i for i in full if len(gt[i]) >= 2]
    if multi:
        i = rng.choice(multi)
        add(
            "missing_call_multi_turn", one_step(with_turns(lambda t, i=i: t[i].pop(rng.randrange(len(t[i])))))
        )
    i, j = rng.choice(calls)
    add("extra_duplicate_call", one_step(with_turns(lambda t, i=i, j=j: t[i].insert(j + 1, t[i][j]))))
    i = rng.choice(full)
    add(
        "repeat_whole_turn",
        [[list(gt[k]), list(gt[k])] if k == i else ([list(gt[k])] if gt[k] else []) for k in range(n)],
    )
    cls = rng.choice(classes)
    insert("extra_state_call", rng.choice(STATEFUL[cls]))
    insert(
        "extra_state_call_last_turn",
        rng.choice(STATEFUL[rng.choice(classes)]),
        i=full[-1],
        pos=len(gt[full[-1]]),
    )
    reorderable = [i for i in full if len(set(gt[i])) >= 2]
    for i in rng.sample(reorderable, min(1, len(reorderable))):

        def shuffle(t, i=i):
            orig = list(t[i])
            while t[i] == orig:
                rng.shuffle(t[i])

        add("reorder_within_turn", one_step(with_turns(shuffle)))
    if len(full) >= 2:
        k = rng.randrange(len(full) - 1)
        a, b = full[k], full[k + 1]
        add(
            "swap_turn_contents",
            one_step(
                with_turns(
                    lambda t, a=a, b=b: t.__setitem__(
                        slice(None), [t[b] if x == a else t[a] if x == b else t[x] for x in range(n)]
                    )
                )
            ),
        )
    movable = [i for i in range(1, n) if gt[i]]
    if movable:
        i = rng.choice(movable)
        add("move_call_prev_turn", one_step(with_turns(lambda t, i=i: t[i - 1].append(t[i].pop(0)))))
    movable = [i for i in range(n - 1) if gt[i]]
    if movable:
        i = rng.choice(movable)
        add("move_call_next_turn", one_step(with_turns(lambda t, i=i: t[i + 1].insert(0, t[i].pop()))))
    if n >= 2:
        add("all_calls_first_turn", one_step([[c for t in gt for c in t]] + [[] for _ in range(n - 1)]))

    # values and argument forms
    replace_call(
        "wrong_string_value", lambda c: mutate_value(c, (str,), lambda v: v + "_x" if v else "x", rng)
    )
    replace_call("wrong_number_value", lambda c: mutate_value(c, (int, float), lambda v: v + 1, rng))
    replace_call("flip_bool", lambda c: mutate_value(c, (bool,), lambda v: not v, rng))
    replace_call("case_changed_string", lambda c: mutate_value(c, (str,), lambda v: v.swapcase(), rng))
    replace_call("reverse_list_arg", reverse_list_arg, tries=0)
    converted = [[kw_to_positional(c, classes) or c for c in t] for t in gt]
    if converted != gt:
        add("keyword_to_positional", one_step(converted))
    converted = [[positional_to_kw(c, classes) or c for c in t] for t in gt]
    if converted != gt:
        add("positional_to_keyword", one_step(converted))
    replace_call("int_to_float", ints_to_floats, tries=0)
    replace_call("float_to_int", floats_to_ints, tries=0)
    replace_call("drop_default_kwarg", lambda c: drop_default_kwarg(c, classes), tries=0)
    replace_call("add_default_kwarg", lambda c: add_default_kwarg(c, classes), tries=0)
    replace_call("unknown_kwarg", add_unknown_kwarg)
    replace_call("positional_and_keyword_same_param", same_param_twice)
    replace_call("extra_positional_arg", lambda c: extra_positional(c, classes))
    replace_call("missing_required_arg", lambda c: drop_required(c, classes), tries=0)
    replace_call("number_as_string", lambda c: mutate_value(c, (int, float), str, rng), tries=0)

    # turn counts
    add("one_turn_fewer", one_step(gt[:-1]))
    add("one_turn_more_empty", one_step(gt) + [[]])
    add("one_turn_more_calls", one_step(gt) + [[list(gt[full[-1]])]])
    if rng.random() < 0.25:
        add("no_turns", [])

    # empty model turns where the ground truth has calls
    i = rng.choice(full)
    kind, shape = rng.choice(
        [("empty_model_turn", []), ("empty_model_turn_nested", [[]]), ("empty_model_turn_double", [[], [""]])]
    )
    add(kind, [shape if k == i else s for k, s in enumerate(one_step(gt))])

    if rng.random() < 0.25:  # a step of blank strings is not dropped (only [] and [""] are), so not "empty"
        i = rng.choice(full)
        add("blank_calls_turn", [[["", ""]] if k == i else s for k, s in enumerate(one_step(gt))])

    # calls in turns where the ground truth is empty (the model should have asked)
    for e in empty:
        later = [i for i in full if i > e]
        if later:
            nxt = later[0]
            add(
                "early_answer",
                one_step(with_turns(lambda t, e=e, nxt=nxt: (t[e].extend(t[nxt]), t[nxt].clear()))),
            )
            add("early_answer_and_repeat", one_step(with_turns(lambda t, e=e, nxt=nxt: t[e].extend(t[nxt]))))
            if len(gt[nxt]) >= 2:
                add(
                    "early_answer_partial",
                    one_step(
                        with_turns(
                            lambda t, e=e, nxt=nxt: (
                                t[e].extend(t[nxt][:-1]),
                                t.__setitem__(nxt, t[nxt][-1:]),
                            )
                        )
                    ),
                )
        add(
            "read_only_in_empty_turn",
            one_step(with_turns(lambda t, e=e: t[e].append(rng.choice(READ_ONLY[rng.choice(classes)])))),
        )
        add(
            "state_call_in_empty_turn",
            one_step(with_turns(lambda t, e=e: t[e].append(rng.choice(STATEFUL[rng.choice(classes)])))),
        )
    for turn_key, docs in (entry.get("missed_function") or {}).items():
        names = {d["name"] if isinstance(d, dict) else d for d in docs}
        k = int(turn_key)
        spots = [(i, j) for i in range(k, n) for j, c in enumerate(gt[i]) if parse(c).func.id in names]
        if spots and k >= 1:
            i, j = spots[0]
            add(
                "missed_func_early_moved",
                one_step(with_turns(lambda t, i=i, j=j, k=k: t[k - 1].append(t[i].pop(j)))),
            )
            add(
                "missed_func_early_copied",
                one_step(with_turns(lambda t, i=i, j=j, k=k: t[0].append(t[i][j]))),
            )

    # read-only extras at various places
    ro = [c for cl in classes for c in READ_ONLY[cl]]
    insert("read_only_extra_first", rng.choice(ro), i=full[0], pos=0)
    insert("read_only_extra_middle", rng.choice(ro))
    insert("read_only_extra_last", rng.choice(ro), i=full[-1], pos=len(gt[full[-1]]))
    ro_gt = [(i, j) for i, j in calls if is_read_only_name(parse(gt[i][j]).func.id)]
    if ro_gt:
        i, j = rng.choice(ro_gt)
        add("duplicate_read_only_gt_call", one_step(with_turns(lambda t, i=i, j=j: t[i].insert(j, t[i][j]))))
        add("read_only_gt_call_dropped", one_step(with_turns(lambda t, i=i, j=j: t[i].pop(j))))

    # calls that raise or cannot resolve
    insert("raising_call", rng.choice([c for cl in classes for c in RAISING[cl]]))
    insert(
        "unknown_function", rng.choice(["lookup_weather(city='Paris')", "get_time_zone()", "foo_bar(x=1)"])
    )
    i, j = rng.choice(calls)
    node = parse(gt[i][j])
    node.func.id += "_v2"
    add(
        "unknown_function_replaces_call",
        replaced(i, j, render(node)),
    )
    foreign = [c for c in FOREIGN if c not in classes]
    insert("foreign_class_call", FOREIGN[rng.choice(foreign)])

    # class-specific edges
    if "GorillaFileSystem" in classes:
        insert(
            "trailing_cd_last_turn",
            rng.choice(["cd(folder='..')", "cd(folder='/')"]),
            i=full[-1],
            pos=len(gt[full[-1]]),
        )
        if len(full) >= 2:
            i = rng.choice(full[:-1])
            insert("trailing_cd_mid_turn", "cd(folder='..')", i=i, pos=len(gt[i]))
        insert("cd_dot", "cd(folder='.')")
    if "MathAPI" in classes:
        insert(
            "math_extra",
            rng.choice(
                ["add(a=1, b=2)", "mean(numbers=[1.0, 2.0])", "round_number(number=2.5, decimal_places=0)"]
            ),
        )
        math_calls = [(i, j) for i, j in calls if method_of(parse(gt[i][j]).func.id, ["MathAPI"])]
        if math_calls:
            replace_call(
                "math_wrong_value",
                lambda c: mutate_value(c, (int, float), lambda v: v * 2 + 1, rng),
                spots=math_calls,
            )
    mentions = [(i, j) for i, j in calls if parse(gt[i][j]).func.id == "mention"]
    for i, j in mentions:
        node = parse(gt[i][j])
        for k in node.keywords:
            if k.arg == "mentioned_usernames":
                k.value = ast.List([ast.Constant("@someone_else")])
        add(
            "twitter_mention_wrong_users",
            replaced(i, j, render(node)),
        )
        add("twitter_mention_dropped", one_step(with_turns(lambda t, i=i, j=j: t[i].pop(j))))
    posts = [(i, j) for i, j in calls if parse(gt[i][j]).func.id == "post_tweet"]
    for i, j in posts[:1]:
        node = parse(gt[i][j])
        node.keywords = [k for k in node.keywords if k.arg not in ("tags", "mentions")]
        add(
            "twitter_post_without_tags",
            replaced(i, j, render(node)),
        )
        add("twitter_post_twice", one_step(with_turns(lambda t, i=i, j=j: t[i].insert(j, t[i][j]))))
    if "TwitterAPI" in classes:
        # post_tweet's default ``mentions=[]`` is ONE list, shared by every tweet posted without mentions (the
        # model's and the ground truth's alike), and mention() extends a tweet's list in place.
        config = entry["initial_config"].get("TwitterAPI", {})
        tweet_id = config.get("tweet_counter", TWITTER_DEFAULT_STATE["tweet_counter"])
        for i, j in calls:
            node = parse(gt[i][j])
            if node.func.id != "post_tweet":
                continue
            if not any(k.arg == "mentions" for k in node.keywords) and len(node.args) < 3:
                extra = f"mention(tweet_id={tweet_id}, mentioned_usernames=['@funrl_extra'])"
                turns = [list(t) for t in gt]
                turns[i].insert(j + 1, extra)
                add("twitter_extra_mention_default_list", one_step(turns))
                if i + 1 < n:  # after the ground truth's own post_tweet of that turn has run
                    turns = [list(t) for t in gt]
                    turns[i + 1].insert(0, extra)
                    add("twitter_extra_mention_default_list_next_turn", one_step(turns))
                break
            tweet_id += 1
        if config.get("tweets"):
            first = min(int(k) for k in config["tweets"])
            insert(
                "twitter_extra_mention_existing",
                f"mention(tweet_id={first}, mentioned_usernames=['@funrl_extra'])",
            )
    return out


# ------------------------------------------------------------------------- main
def load_all():
    items = []
    for cat in CATEGORIES:
        entries = load_dataset_entry(cat)
        answers = load_ground_truth_entry(cat)
        assert [e["id"] for e in entries] == [a["id"] for a in answers]
        for e, a in zip(entries, answers):
            e = dict(e)
            e.pop("function", None)
            items.append((e, a["ground_truth"]))
    return items


def all_candidates(items):
    for entry, gt in items:
        for kind, turns in candidates(entry, gt):
            yield entry, gt, kind, turns


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0, help="only the first N entries of each category")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument(
        "--verify", type=int, default=0, help="re-check one candidate of each kind and random ones, N in all"
    )
    ap.add_argument("--bench", action="store_true", help="time the checker, one process, no fork")
    args = ap.parse_args()
    items = load_all()
    if args.limit:
        per = collections.defaultdict(int)
        kept = []
        for e, g in items:
            cat = e["id"].rsplit("_", 1)[0]
            if per[cat] < args.limit:
                kept.append((e, g))
                per[cat] += 1
        items = kept
    by_id = {e["id"]: (e, g) for e, g in items}

    if args.verify:
        verify(args, by_id)
        return
    if args.bench:
        bench(items)
        return

    kinds, results = collections.Counter(), collections.Counter()
    t0 = time.time()
    rows = []
    for n, (entry, gt, kind, turns) in enumerate(all_candidates(items)):
        valid, error_type = verdict_forked(entry, gt, turns)
        rows.append(
            {"id": entry["id"], "kind": kind, "model_turns": turns, "valid": valid, "error_type": error_type}
        )
        kinds[kind] += 1
        results[(kind, valid, error_type)] += 1
        if n % 2000 == 0:
            print(f"{n} candidates, {time.time() - t0:.0f}s", file=sys.stderr)
    with gzip.GzipFile(args.out, "wb", mtime=0) as f:
        for r in rows:
            f.write((json.dumps(r, ensure_ascii=False) + "\n").encode())
    report(rows)


def report(rows):
    kinds = collections.Counter(r["kind"] for r in rows)
    by_kind = collections.defaultdict(collections.Counter)
    for r in rows:
        by_kind[r["kind"]][r["error_type"] or ("valid" if r["valid"] else "?")] += 1
    print(f"{len(rows)} candidates")
    for k in kinds:
        print(f"  {k:34s} {kinds[k]:5d}  {dict(by_kind[k].most_common())}")
    print(
        collections.Counter(r["error_type"] or ("valid" if r["valid"] else "?") for r in rows).most_common()
    )


def verify(args, by_id):
    with gzip.open(args.out, "rt") as f:
        rows = [json.loads(line) for line in f]
    rows = [r for r in rows if r["id"] in by_id]
    rng = random.Random(SEED)
    by_kind = collections.defaultdict(list)
    for r in rows:
        by_kind[r["kind"]].append(r)
    sample = [rng.choice(v) for _, v in sorted(by_kind.items())]  # one of each kind, then random ones
    sample += rng.sample(rows, max(0, args.verify - len(sample)))
    bad = 0
    for r in sample:
        entry, gt = by_id[r["id"]]
        want = (r["valid"], r["error_type"])
        got = [verdict_forked(entry, gt, r["model_turns"]) for _ in range(2)]
        got.append(verdict_new_python(entry, gt, r["model_turns"]))
        if any(tuple(g) != want for g in got):
            bad += 1
            print("MISMATCH", r["id"], r["kind"], want, got)
    print(f"verified {len(sample)} candidates, {bad} mismatches")


def _reset_process_state():
    g = vars(multi_turn_utils)
    for k in [k for k in g if k.endswith("_instance")]:
        del g[k]
    CLASSES["TwitterAPI"].post_tweet.__defaults__ = ([], [])


def bench(items):
    cands = list(all_candidates(items))
    per_cat = collections.defaultdict(lambda: [0, 0.0])
    total = 0.0
    same = 0
    forked = {}
    if OUT.exists():
        with gzip.open(OUT, "rt") as f:
            for line in f:
                r = json.loads(line)
                forked[(r["id"], r["kind"], json.dumps(r["model_turns"]))] = (r["valid"], r["error_type"])
    for entry, gt, kind, turns in cands:
        _reset_process_state()
        t = time.perf_counter()
        try:
            v = verdict(entry, gt, turns)
        except Exception as e:
            v = (None, type(e).__name__)
        dt = time.perf_counter() - t
        total += dt
        c = per_cat[entry["id"].rsplit("_", 1)[0]]
        c[0] += 1
        c[1] += dt
        key = (entry["id"], kind, json.dumps(turns))
        same += forked.get(key, v) == v
    print(f"{len(cands)} candidates in {total:.1f}s of checker time: {len(cands) / total:.1f} trajectories/s")
    for cat, (k, s) in per_cat.items():
        print(f"  {cat}: {k} in {s:.1f}s, {k / s:.1f}/s")
    print(f"single-process verdicts equal to the forked ones: {same}/{len(cands)}")


if __name__ == "__main__":
    main()
