"""Argument rules per BFCL class (Phase I): what each tool's parameters are sampled from.

``sample_args`` (class, BFCL function doc, :class:`~.params.Live`) -> keyword arguments. Every class of
BFCL's multi-turn categories has a rule; ``_from_schema`` (enums, numbers, lists of numbers) serves
MathAPI and any tool a rule does not name. docs/data_prep_multi_turn.md lists the choices.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from funrl.envs.bfcl import BfclEnv

from .params import Live, is_error, parse_output, pick
from .states import DOORS, NAMES, WORDS, file_name, sentence


# ----- GorillaFileSystem -----
def _fs(name: str, live: Live) -> dict:
    rng, files, dirs = live.rng, live.files(), live.dirs()
    fresh_file = lambda: file_name(rng)  # noqa: E731
    fresh_dir = lambda: f"{rng.choice(WORDS)}_dir"  # noqa: E731
    if name in ("cat", "wc", "sort", "tail", "grep", "rm"):
        f = pick(live, "file_name", files, fresh_file)
        args: dict = {"file_name": f}
        if name == "grep":
            text = live.cwd.contents[f].content if f in files else sentence(rng)
            args["pattern"] = rng.choice(text.split() or ["data"])
        elif name == "tail" and rng.random() < 0.5:
            args["lines"] = rng.randint(1, 3)
        elif name == "wc" and rng.random() < 0.5:
            args["mode"] = rng.choice(("l", "w", "c"))
        return args
    if name == "touch":
        return {"file_name": fresh_file()}
    if name == "echo":
        return {"content": sentence(rng), "file_name": pick(live, "file_name", files, fresh_file)}
    if name == "mkdir":
        return {"dir_name": fresh_dir()}
    if name == "rmdir":
        return {"dir_name": pick(live, "dir_name", dirs, fresh_dir)}
    if name == "cd":
        ups = [] if live.cwd_is_root else [".."]
        return {"folder": pick(live, "folder", dirs + ups, fresh_dir)}
    if name in ("mv", "cp"):
        source = pick(live, "source", files, fresh_file)
        targets = [d for d in dirs if d != source]
        dest = rng.choice(targets) if targets and rng.random() < 0.5 else fresh_file()
        return {"source": source, "destination": dest}
    if name == "diff":
        pair = rng.sample(files, 2) if len(files) >= 2 else [fresh_file(), fresh_file()]
        return {"file_name1": pair[0], "file_name2": pair[1]}
    if name == "find":
        names = files + dirs
        return {"path": ".", "name": rng.choice(names)[:4]} if names and rng.random() < 0.7 else {}
    if name in ("ls", "du"):
        key = "a" if name == "ls" else "human_readable"
        return {key: True} if rng.random() < 0.3 else {}
    return {}


# ----- TradingBot -----
def _tb(name: str, live: Live) -> dict:
    rng, tb = live.rng, live.state["TradingBot"]
    symbols, watch = sorted(tb["stocks"]), list(tb["watch_list"])
    orders = sorted(k for k in tb["orders"] if isinstance(k, int))  # BFCL's states hold stray keys
    if name in ("get_stock_info",):
        return {"symbol": pick(live, "symbol", symbols, lambda: "XXXX")}
    if name == "remove_stock_from_watchlist":
        return {"symbol": pick(live, "symbol", watch, lambda: rng.choice(symbols))}
    if name == "add_to_watchlist":
        return {"stock": pick(live, "stock", [s for s in symbols if s not in watch] or symbols, str)}
    if name == "get_symbol_by_name":
        return {"name": rng.choice(("Apple", "Google", "Tesla", "Microsoft", "Nvidia", "Amazon"))}
    if name in ("cancel_order", "get_order_details"):
        return {"order_id": pick(live, "order_id", orders, lambda: rng.randint(1, 999))}
    if name == "place_order":
        s = pick(live, "symbol", symbols, lambda: rng.choice(symbols))
        price = tb["stocks"].get(s, {}).get("price", 100.0)
        return {
            "order_type": rng.choice(("Buy", "Sell")),
            "symbol": s,
            "price": price,
            "amount": rng.randint(1, 20) * 5,
        }
    if name in ("fund_account", "withdraw_funds"):
        return {"amount": float(rng.randint(1, 40) * 50)}
    if name == "trading_login":
        return {
            "username": f"{rng.choice(WORDS)}{rng.randint(1, 99)}",
            "password": f"pw{rng.randint(1000, 9999)}",
        }
    if name == "get_available_stocks":
        return {"sector": rng.choice(("Technology", "Automobile"))}
    if name in ("filter_stocks_by_price", "notify_price_change"):
        produced = [v for v in live.produced("stocks") if isinstance(v, list) and v]
        stocks = rng.choice(produced) if produced else rng.sample(symbols, min(3, len(symbols)))
        if name == "notify_price_change":
            return {"stocks": stocks, "threshold": float(rng.randint(1, 10))}
        low = float(rng.randint(0, 5) * 100)
        return {"stocks": stocks, "min_price": low, "max_price": low + float(rng.randint(1, 30) * 100)}
    return {}


# ----- MessageAPI, TicketAPI, TwitterAPI -----
def _message(name: str, live: Live) -> dict:
    rng, st = live.rng, live.state["MessageAPI"]
    ids, names = sorted(st["user_map"].values()), sorted(st["user_map"])
    if name == "message_login":
        return {"user_id": rng.choice(ids)}
    if name == "send_message":
        return {"receiver_id": pick(live, "receiver_id", ids, str), "message": sentence(rng)}
    if name == "delete_message":
        sent = sorted({k for m in st["inbox"] for k in m})
        return {"receiver_id": pick(live, "receiver_id", sent, lambda: rng.choice(ids))}
    if name == "add_contact":
        return {"user_name": rng.choice([n for n in NAMES if n not in names] or ["Zoe"])}
    if name == "get_user_id":
        return {"user": rng.choice(names)}
    if name == "search_messages":
        words = [w for m in st["inbox"] for v in m.values() for w in str(v).split()]
        return {"keyword": rng.choice(words or WORDS)}
    return {}


def _ticket(name: str, live: Live) -> dict:
    rng, st = live.rng, live.state["TicketAPI"]
    ids = [t["id"] for t in st["ticket_queue"]]
    if name == "ticket_login":
        return {"username": rng.choice(NAMES).lower(), "password": f"pw{rng.randint(1000, 9999)}"}
    if name == "create_ticket":
        args = {"title": sentence(rng, 2, 4), "description": sentence(rng)}
        return {**args, "priority": rng.randint(1, 5)} if rng.random() < 0.7 else args
    if name in ("get_ticket", "close_ticket", "resolve_ticket", "edit_ticket"):
        args = {"ticket_id": pick(live, "ticket_id", ids, lambda: rng.randint(1, 99))}
        if name == "resolve_ticket":
            args["resolution"] = sentence(rng)
        elif name == "edit_ticket":
            args["updates"] = rng.choice(({"priority": rng.randint(1, 5)}, {"description": sentence(rng)}))
        return args
    if name == "get_user_tickets" and rng.random() < 0.5:
        return {"status": rng.choice(("Open", "Closed", "Resolved"))}
    return {}


def _twitter(name: str, live: Live) -> dict:
    rng, st = live.rng, live.state["TwitterAPI"]
    ids = sorted(st["tweets"])
    users = sorted({t["username"] for t in st["tweets"].values()} | {st["username"]})
    if name == "authenticate_twitter":
        return {"username": st["username"], "password": st["password"]}
    if name == "post_tweet":  # lists always given: BFCL's default ones are shared by every tweet
        tags = [f"#{rng.choice(WORDS)}"] if rng.random() < 0.5 else []
        return {"content": sentence(rng), "tags": tags, "mentions": []}
    if name in ("retweet", "comment", "mention", "get_tweet", "get_tweet_comments"):
        args = {"tweet_id": pick(live, "tweet_id", ids, lambda: rng.randint(50, 99))}
        if name == "comment":
            args["comment_content"] = sentence(rng)
        elif name == "mention":
            args["mentioned_usernames"] = [n.lower() for n in rng.sample(NAMES, 2)]
        return args
    if name == "follow_user":
        return {
            "username_to_follow": rng.choice(
                [n.lower() for n in NAMES if n.lower() not in st["following_list"]]
            )
        }
    if name == "unfollow_user":
        return {"username_to_unfollow": rng.choice(st["following_list"] or [n.lower() for n in NAMES])}
    if name in ("get_user_tweets", "get_user_stats"):
        return {"username": rng.choice(users)}
    if name == "search_tweets":
        words = [w for t in st["tweets"].values() for w in t["content"].split()]
        return {"keyword": rng.choice(words or WORDS)}
    return {}


CITIES = ("Rivermist", "Stonebrook", "Maplecrest", "Silverpine", "San Francisco", "Springfield")
STATUS_OPTIONS = ("fuel", "battery", "doors", "climate", "headlights", "parkingBrake", "brakePedal", "engine")


def _vehicle(name: str, live: Live) -> dict:
    rng, st = live.rng, live.state["VehicleControlAPI"]
    simple = {
        "startEngine": lambda: {"ignitionMode": "START" if rng.random() < 0.9 else "STOP"},
        "pressBrakePedal": lambda: {
            "pedalPosition": 1.0 if rng.random() < 0.7 else round(rng.uniform(0.1, 0.9), 1)
        },
        "fillFuelTank": lambda: {"fuelAmount": float(rng.randint(1, max(1, int(50 - st["fuelLevel"]))))},
        "activateParkingBrake": lambda: {"mode": rng.choice(("engage", "release"))},
        "setHeadlights": lambda: {"mode": rng.choice(("on", "off", "auto"))},
        "displayCarStatus": lambda: {"option": rng.choice(STATUS_OPTIONS)},
        "set_navigation": lambda: {
            "destination": f"{rng.randint(1, 999)} {rng.choice(NAMES)} Street, {rng.choice(CITIES)}"
        },
        "get_zipcode_based_on_city": lambda: {"city": rng.choice(CITIES)},
        "gallon_to_liter": lambda: {"gallon": float(rng.randint(1, 30))},
        "liter_to_gallon": lambda: {"liter": float(rng.randint(1, 100))},
        "display_log": lambda: {"messages": [sentence(rng)]},
    }
    if name in simple:
        return simple[name]()
    if name == "lockDoors":
        unlock = rng.random() < 0.2
        doors = list(DOORS) if rng.random() < 0.7 else rng.sample(DOORS, rng.randint(1, 3))
        return {"unlock": unlock, "door": doors}
    if name == "adjustClimateControl":
        args: dict = {"temperature": round(rng.uniform(16, 28), 1)}
        if rng.random() < 0.5:
            args["unit"] = rng.choice(("celsius", "fahrenheit"))
        if rng.random() < 0.5:
            args["fanSpeed"] = rng.randint(0, 100)
        return args
    if name == "setCruiseControl":
        return {
            "speed": float(rng.randint(4, 24) * 5),
            "activate": True,
            "distanceToNextVehicle": float(rng.randint(20, 100)),
        }
    if name == "estimate_distance":
        zips = [z for z in live.produced("cityA") if isinstance(z, str)]
        a = rng.choice(zips) if zips else f"{rng.randint(10000, 99999)}"
        others = [z for z in zips if z != a]
        return {"cityA": a, "cityB": rng.choice(others) if others else f"{rng.randint(10000, 99999)}"}
    if name == "estimate_drive_feasibility_by_mileage":
        return {"distance": pick(live, "distance", [], lambda: float(rng.randint(10, 500)))}
    return {}


@functools.cache
def flight_routes() -> tuple[tuple[str, str], ...]:
    """The (from, to) airport pairs TravelAPI has a flight for, found once per process by asking
    ``get_flight_cost`` for every pair of ``list_all_airports`` (its route table is not public)."""
    entry = {
        "id": "funrl_mt_routes",
        "involved_classes": ["TravelAPI"],
        "initial_config": {},
        "ground_truth": [[]],
    }
    env = BfclEnv(entry)
    airports = parse_output(env.execute(["list_all_airports()"])[0])
    env.close()
    routes = []
    for a in airports:
        env = BfclEnv(entry)
        others = [b for b in airports if b != a]
        calls = [
            f"get_flight_cost(travel_from={a!r}, travel_to={b!r}, travel_date='2024-11-15', travel_class='economy')"
            for b in others
        ]
        outputs = [o for i in range(0, len(calls), 32) for o in env.execute(calls[i : i + 32])]
        env.close()
        routes += [(a, b) for b, o in zip(others, outputs) if not is_error(o)]
    return tuple(routes)


def _travel(name: str, live: Live) -> dict:
    rng, st = live.rng, live.state["TravelAPI"]
    produced_token = [t for t in live.produced("access_token") if isinstance(t, str)]
    token = produced_token[-1] if produced_token else (st["access_token"] or "000000")
    cards = sorted(st["credit_card_list"])
    bookings = sorted(st["booking_record"])
    card = lambda: pick(live, "card_id", cards, lambda: str(rng.randint(10**11, 10**12 - 1)))  # noqa: E731
    booking = lambda: pick(live, "booking_id", bookings, lambda: str(rng.randint(10**6, 10**7 - 1)))  # noqa: E731

    def flight() -> dict:
        routes = flight_routes()
        start = [v for v in live.produced("travel_from") if isinstance(v, str)]
        usable = [r for r in routes if r[0] in start] or list(routes)
        a, b = rng.choice(usable)
        day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        return {
            "travel_date": day,
            "travel_from": a,
            "travel_to": b,
            "travel_class": rng.choice(("economy", "business", "first")),
        }

    if name == "authenticate_travel":
        first, last = rng.sample(NAMES, 2)
        return {
            "client_id": f"client_{rng.randint(100, 999)}",
            "client_secret": f"secret_{rng.randint(1000, 9999)}",
            "refresh_token": f"refresh_{rng.randint(1000, 9999)}",
            "grant_type": "read_write",
            "user_first_name": first,
            "user_last_name": last,
        }
    if name == "register_credit_card":
        return {
            "access_token": token,
            "card_number": str(rng.randint(10**15, 10**16 - 1)),
            "expiration_date": f"{rng.randint(1, 12):02d}/{rng.randint(2027, 2032)}",
            "cardholder_name": " ".join(rng.sample(NAMES, 2)),
            "card_verification_number": rng.randint(100, 999),
        }
    if name == "get_flight_cost":
        return flight()
    if name == "book_flight":
        return {"access_token": token, "card_id": card(), **flight()}
    if name == "get_credit_card_balance":
        return {"access_token": token, "card_id": card()}
    if name in ("cancel_booking", "retrieve_invoice"):
        return {"access_token": token, "booking_id": booking()}
    if name == "purchase_insurance":
        return {
            "access_token": token,
            "insurance_type": rng.choice(("comprehensive", "travel", "medical")),
            "insurance_cost": float(rng.randint(2, 20) * 25),
            "booking_id": booking(),
            "card_id": card(),
        }
    if name == "contact_customer_support":
        return {"booking_id": booking(), "message": sentence(rng)}
    if name in ("get_booking_history",):
        return {"access_token": token}
    if name == "set_budget_limit":
        return {"access_token": token, "budget_limit": float(rng.randint(1, 20) * 250)}
    if name == "get_nearest_airport_by_city":
        return {"location": rng.choice(("London", "Paris", "Tokyo", "New York", "Rivermist", "Stonebrook"))}
    if name == "compute_exchange_rate":
        other = rng.choice(("EUR", "JPY", "GBP", "CAD", "RMB", "INR"))
        pair = ("USD", other) if rng.random() < 0.5 else (other, "USD")
        return {"base_currency": pair[0], "target_currency": pair[1], "value": float(rng.randint(10, 5000))}
    return {}


RULES: dict[str, Callable[[str, Live], dict]] = {
    "GorillaFileSystem": _fs,
    "TradingBot": _tb,
    "MessageAPI": _message,
    "TicketAPI": _ticket,
    "TwitterAPI": _twitter,
    "VehicleControlAPI": _vehicle,
    "TravelAPI": _travel,
}


# ----- schema fallback (MathAPI and anything without a rule) -----
def _from_schema(doc: dict, live: Live) -> dict:
    rng, args = live.rng, {}
    props, required = doc["parameters"]["properties"], set(doc["parameters"].get("required", []))
    for p, spec in props.items():
        if p not in required and rng.random() < 0.5:
            continue
        produced = [v for v in live.produced(p) if isinstance(v, (int, float)) and not isinstance(v, bool)]
        kind = spec.get("type")
        if "enum" in spec:
            args[p] = rng.choice(spec["enum"])
        elif kind in ("float", "number"):
            args[p] = (
                rng.choice(produced) if produced and rng.random() < 0.8 else round(rng.uniform(1, 100), 2)
            )
        elif kind == "integer":
            args[p] = rng.randint(1, 10)
        elif kind == "boolean":
            args[p] = rng.random() < 0.5
        elif kind == "array":
            args[p] = [round(rng.uniform(1, 100), 1) for _ in range(rng.randint(2, 5))]
        elif kind == "string":
            args[p] = rng.choice(WORDS)
    return args


def sample_args(class_name: str, doc: dict, live: Live) -> dict:
    """Keyword arguments for one call of ``doc["name"]`` (a tool of ``class_name``)."""
    rule = RULES.get(class_name)
    return rule(doc["name"], live) if rule is not None else _from_schema(doc, live)
