"""Call surgery for the multi-turn golden set: the API classes, tables of calls per class, and the edits
of one python-call string (parse, change an argument, convert argument forms, respell).

Used by ``mutations.py`` and ``make_golden.py`` next to it; it imports bfcl-eval (for the API classes), so
it runs in the same venv as ``make_golden.py`` -- see that script's docstring for how to run it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import pathlib
import random

os.environ.setdefault("BFCL_PROJECT_ROOT", "/tmp/bfclroot")
pathlib.Path(os.environ["BFCL_PROJECT_ROOT"]).mkdir(parents=True, exist_ok=True)

from bfcl_eval.constants.executable_backend_config import CLASS_FILE_PATH_MAPPING  # noqa: E402

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


def put_arg(node, where, value_node: ast.expr):
    holder, i = where
    if holder == "args":
        node.args[i] = value_node
    else:
        node.keywords[i].value = value_node


def set_arg(node, where, value):
    put_arg(node, where, ast.Constant(value))


def replace_value(call: str, types: tuple, make_node, rng: random.Random) -> str | None:
    """The call with one constant argument of ``types`` (chosen by ``rng``) replaced by the node
    ``make_node(value)``; None when the call has no such argument."""
    node = parse(call)
    spots = constants(node, types)
    if not spots:
        return None
    where = rng.choice(spots)
    put_arg(node, where, make_node(get_arg(node, where).value))
    return render(node)


def mutate_value(call: str, types: tuple, fn, rng: random.Random) -> str | None:
    return replace_value(call, types, lambda value: ast.Constant(fn(value)), rng)


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
