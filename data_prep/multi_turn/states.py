"""Seeded initial states for BFCL's environment classes, in BFCL's ``initial_config`` format.

FunReason-MT starts each trajectory from an environment state; it does not say where the states come
from. FunRL generates them from a seed (``generate_config``), so that the synthesized data does not
reuse BFCL's test states, and can optionally start from the states of BFCL's own multi-turn entries
(``bfcl_configs``; the report then says so, since those entries are the evaluation set).

Each generator returns the ``initial_config`` section of one class: what BFCL's ``_load_scenario``
reads. ``bare_config`` is the smallest state of a class (empty folder, logged out, no orders): the graph
builder probes prerequisites there, where they are not already met.
"""

from __future__ import annotations

import random
from collections.abc import Callable

#: Classes with a state generator (the others are not supported by the synthesis pipeline yet).
SUPPORTED_CLASSES: tuple[str, ...] = (
    "GorillaFileSystem",
    "TradingBot",
    "MathAPI",
    "MessageAPI",
    "TicketAPI",
    "TwitterAPI",
    "VehicleControlAPI",
    "TravelAPI",
)

WORDS = (
    "alpha beta gamma delta report budget draft final notes summary plan review data sample log "
    "meeting project update status archive backup client invoice schedule result table figure"
).split()
_DIRS = ("documents", "projects", "reports", "archive", "photos", "scripts", "notes", "backup", "temp")
_ROOTS = ("workspace", "home", "alex", "maria", "lab", "office")
_EXTS = (".txt", ".md", ".csv", ".log", ".py")
SYMBOLS = ("AAPL", "GOOG", "TSLA", "MSFT", "NVDA", "ALPH", "OMEG", "QUAS", "NEPT", "SYNX", "ZETA", "AMZN")


def sentence(rng: random.Random, n_min: int = 3, n_max: int = 8) -> str:
    """A short line of words (no parentheses: BFCL's checker rewrites ``name(`` inside strings)."""
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(n_min, n_max)))


def file_name(rng: random.Random) -> str:
    return f"{rng.choice(WORDS)}_{rng.randint(1, 99)}{rng.choice(_EXTS)}"


def _folder(rng: random.Random, depth: int) -> dict:
    contents: dict[str, dict] = {}
    for _ in range(rng.randint(1, 4)):
        content = "\n".join(sentence(rng) for _ in range(rng.randint(1, 4)))
        contents[file_name(rng)] = {"type": "file", "content": content}
    if depth > 0:
        for name in rng.sample(_DIRS, rng.randint(1, 3)):
            contents[name] = {"type": "directory", "contents": _folder(rng, depth - 1)}
    return contents


def file_system(rng: random.Random) -> dict:
    """A root folder with files and up to two levels of sub-folders."""
    root = rng.choice(_ROOTS)
    return {"root": {root: {"type": "directory", "contents": _folder(rng, rng.randint(1, 2))}}}


def trading_bot(rng: random.Random) -> dict:
    """Stocks with random prices, an account, 0-3 orders, a watch list; logged in or not."""
    symbols = rng.sample(SYMBOLS, rng.randint(4, 8))
    stocks = {}
    for s in symbols:
        price = round(rng.uniform(20, 3000), 2)
        stocks[s] = {
            "price": price,
            "percent_change": round(rng.uniform(-2, 2), 2),
            "volume": round(rng.uniform(0.5, 5), 3),
            "MA(5)": round(price * rng.uniform(0.97, 1.03), 2),
            "MA(20)": round(price * rng.uniform(0.95, 1.05), 2),
        }
    counter = rng.randint(10_000, 90_000)
    orders = {}
    for i in range(rng.randint(0, 3)):
        s = rng.choice(symbols)
        orders[counter + i] = {
            "id": counter + i,
            "order_type": rng.choice(("Buy", "Sell")),
            "symbol": s,
            "price": stocks[s]["price"],
            "amount": rng.randint(1, 50),
            "status": rng.choice(("Completed", "Pending", "Open")),
        }
    return {
        "orders": orders,
        "account_info": {
            "account_id": rng.randint(10_000, 99_999),
            "balance": round(rng.uniform(500, 50_000), 2),
            "binding_card": rng.randint(10**15, 10**16 - 1),
        },
        "authenticated": rng.random() < 0.5,
        "market_status": rng.choice(("Open", "Closed")),
        "order_counter": counter + len(orders),
        "stocks": stocks,
        "watch_list": rng.sample(symbols, rng.randint(0, 3)),
        "transaction_history": [],
    }


NAMES = ("Alice", "Bob", "Chen", "Dana", "Emeka", "Farah", "Gustavo", "Hana", "Ivan", "Jun", "Kofi", "Lena")


def message_api(rng: random.Random) -> dict:
    """3-6 users, a few sent messages, a user logged in or not."""
    names = rng.sample(NAMES, rng.randint(3, 6))
    user_map = {n: f"USR{100 + i:03d}" for i, n in enumerate(names)}
    ids = list(user_map.values())
    inbox = [{rng.choice(ids): sentence(rng)} for _ in range(rng.randint(0, 4))]
    return {
        "user_count": len(names),
        "user_map": user_map,
        "inbox": inbox,
        "message_count": len(inbox),
        "current_user": rng.choice(ids) if rng.random() < 0.5 else None,
    }


def ticket_api(rng: random.Random) -> dict:
    """0-4 tickets of one or two users, a user logged in or not."""
    users = [n.lower() for n in rng.sample(NAMES, 2)]
    start = rng.randint(100, 9000)
    queue = [
        {
            "id": start + i,
            "title": sentence(rng, 2, 4),
            "description": sentence(rng),
            "status": rng.choice(("Open", "Open", "Closed", "Resolved")),
            "priority": rng.randint(1, 5),
            "created_by": rng.choice(users),
        }
        for i in range(rng.randint(0, 4))
    ]
    return {
        "ticket_queue": queue,
        "ticket_counter": start + len(queue),
        "current_user": users[0] if rng.random() < 0.5 else None,
    }


def twitter_api(rng: random.Random) -> dict:
    """An account with 0-4 tweets, followed users, logged in or not."""
    user = f"{rng.choice(NAMES).lower()}_{rng.choice(WORDS)}"
    tweets = {
        str(i): {
            "id": i,
            "username": user,
            "content": sentence(rng),
            "tags": [f"#{rng.choice(WORDS)}"],
            "mentions": [],
        }
        for i in range(rng.randint(0, 4))
    }
    return {
        "username": user,
        "password": f"pw{rng.randint(1000, 9999)}",
        "authenticated": rng.random() < 0.5,
        "tweets": tweets,
        "comments": {},
        "retweets": {},
        "following_list": [n.lower() for n in rng.sample(NAMES, rng.randint(0, 3))],
        "tweet_counter": len(tweets),
    }


DOORS = ("driver", "passenger", "rear_left", "rear_right")


def vehicle(rng: random.Random) -> dict:
    """Engine stopped; each condition of ``startEngine`` (fuel, every door locked, brake fully pressed)
    holds with probability 0.6, else fails (empty tank; some doors unlocked; brake released)."""
    locked = rng.random() < 0.6
    doors = {d: "locked" if locked else rng.choice(("locked", "unlocked")) for d in DOORS}
    if not locked:
        doors[rng.choice(DOORS)] = "unlocked"
    brake = rng.random() < 0.6
    return {
        "fuelLevel": round(rng.uniform(5, 45), 1) if rng.random() < 0.6 else 0.0,
        "brakePedalStatus": "pressed" if brake else "released",
        "brakePedalForce": 1000.0 if brake else 0.0,
        "batteryVoltage": round(rng.uniform(11.5, 13.5), 1),
        "engineState": "stopped",
        "doorStatus": doors,
        "acTemperature": round(rng.uniform(16, 28), 1),
        "fanSpeed": rng.randint(0, 100),
        "acMode": rng.choice(("auto", "cool", "heat")),
        "humidityLevel": round(rng.uniform(30, 70), 1),
        "headLightStatus": rng.choice(("on", "off")),
        "parkingBrakeStatus": rng.choice(("engaged", "released")),
        "destination": "None",
        "frontLeftTirePressure": float(rng.randint(28, 36)),
        "frontRightTirePressure": float(rng.randint(28, 36)),
        "rearLeftTirePressure": float(rng.randint(28, 36)),
        "rearRightTirePressure": float(rng.randint(28, 36)),
    }


def travel(rng: random.Random) -> dict:
    """1-2 credit cards, 0-1 booking, signed in (a token) or not, a budget limit or none."""
    first, last = rng.sample(NAMES, 2)
    cards = {
        str(rng.randint(10**11, 10**12 - 1)): {
            "card_number": str(rng.randint(10**15, 10**16 - 1)),
            "expiration_date": f"{rng.randint(1, 12):02d}/{rng.randint(2027, 2032)}",
            "cardholder_name": f"{first} {last}",
            "card_verification_number": rng.randint(100, 999),
            "balance": float(rng.randint(500, 20000)),
        }
        for _ in range(rng.randint(1, 2))
    }
    config = {
        "random_seed": rng.randint(1, 10**6),
        "credit_card_list": cards,
        "booking_record": {},
        "budget_limit": None if rng.random() < 0.7 else float(rng.randint(1, 10) * 500),
    }
    if rng.random() < 0.4:
        config.update(
            access_token=str(rng.randint(100000, 999999)),
            token_type="Bearer",
            token_expires_in=2,
            token_scope="read_write",
            user_first_name=first,
            user_last_name=last,
        )
    return config


GENERATORS: dict[str, Callable[[random.Random], dict]] = {
    "GorillaFileSystem": file_system,
    "TradingBot": trading_bot,
    "MathAPI": lambda rng: {},
    "MessageAPI": message_api,
    "TicketAPI": ticket_api,
    "TwitterAPI": twitter_api,
    "VehicleControlAPI": vehicle,
    "TravelAPI": travel,
}


def check_classes(classes: list[str]) -> None:
    """Raise ValueError naming a class the pipeline cannot synthesize for."""
    for c in classes:
        if c not in SUPPORTED_CLASSES:
            raise ValueError(f"involved_classes: {c!r} is not supported yet (supported: {SUPPORTED_CLASSES})")


def generate_config(classes: list[str], seed: int) -> dict:
    """The ``initial_config`` of a new state for ``classes``, the same for the same seed."""
    check_classes(classes)
    rng = random.Random(f"state:{seed}")
    return {c: GENERATORS[c](rng) for c in classes if GENERATORS[c] is not None}


def bare_config(class_name: str) -> dict:
    """The smallest state of a class: an empty root folder; logged out, no orders / messages / tickets /
    tweets, no watch list or followed users (market open). Prerequisites are probed from here."""
    if class_name == "GorillaFileSystem":
        return {"root": {"workspace": {"type": "directory", "contents": {}}}}
    if class_name == "TradingBot":
        config = trading_bot(random.Random("bare"))
        config.update(orders={}, authenticated=False, market_status="Open", watch_list=[])
        return config
    if class_name == "MessageAPI":
        config = message_api(random.Random("bare"))
        config.update(inbox=[], message_count=0, current_user=None)
        return config
    if class_name == "TicketAPI":
        return {"ticket_queue": [], "ticket_counter": 1, "current_user": None}
    if class_name == "TwitterAPI":
        config = twitter_api(random.Random("bare"))
        config.update(authenticated=False, tweets={}, tweet_counter=0, following_list=[])
        return config
    if class_name == "TravelAPI":
        config = travel(random.Random("bare"))
        config.update(credit_card_list={}, budget_limit=None)
        for key in ("access_token", "token_type", "token_expires_in", "token_scope"):
            config.pop(key, None)
        return config
    if class_name == "VehicleControlAPI":
        config = vehicle(random.Random("bare"))
        config.update(fuelLevel=0.0, doorStatus={d: "unlocked" for d in DOORS}, parkingBrakeStatus="released")
        config.update(brakePedalStatus="released", brakePedalForce=0.0)
        return config
    return {}


#: Generated states the graph builder also probes from (beyond the bare one): a prerequisite that is
#: one of several (``startEngine`` needs the doors locked, the brake pressed and fuel) shows in a state
#: where the others already hold.
PROBE_STATES = 4
PROBE_STATES_BY_CLASS = {"VehicleControlAPI": 16}  # three joint conditions: more states to see each alone


def probe_configs(class_name: str) -> list[tuple[str, dict]]:
    """(label, config) of the states prerequisites are probed from: the bare state, then generated ones."""
    out = [("bare", bare_config(class_name))]
    if class_name in GENERATORS:
        n = PROBE_STATES_BY_CLASS.get(class_name, PROBE_STATES)
        out += [(f"probe:{k}", GENERATORS[class_name](random.Random(f"probe:{k}"))) for k in range(n)]
    return out


def bfcl_configs(classes: list[str], index: int) -> tuple[dict, str]:
    """A state taken from BFCL's multi_turn_base entries: for each class, the ``index``-th distinct state
    of that class among the entries involving it (cycled). Returns (initial_config, source label)."""
    from funrl.envs.bfcl import load_entries

    entries = load_entries("base")
    config, sources = {}, []
    for c in classes:
        found = [e for e in entries if c in e["involved_classes"] and c in e.get("initial_config", {})]
        if not found:  # a stateless class (MathAPI): nothing to load
            continue
        entry = found[index % len(found)]
        config[c] = entry["initial_config"][c]
        sources.append(f"{c}={entry['id']}")
    return config, "bfcl:" + ",".join(sources)
