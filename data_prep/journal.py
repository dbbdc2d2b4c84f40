"""SQLite journal of every endpoint reply, written the moment it arrives.

A request is identified by a key = sha256(logical id + the exact request body, as sent). Before sending, the
client looks the key up: a journaled reply is reused, never re-requested. Each reply is one committed
row (WAL mode), so a process killed at any instant loses at most the requests still in flight, whose
replies it had not received. Stage files are derived from the journal deterministically, so a rerun
of the same command rebuilds them identically: nothing lost, nothing duplicated.

A changed prompt, model or temperature changes the key, so it is asked afresh (the old reply stays).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .rows import safe_text


@dataclass(frozen=True)
class Entry:
    key: str
    logical_id: str
    content: str | None  # the reply's text
    error: str | None  # a non-retryable failure (e.g. "http_400: ..."), journaled so it is not re-sent


def encode_body(body: dict) -> bytes:
    """The canonical JSON of a request body: what is sent, and what the key hashes."""
    return json.dumps(body, sort_keys=True, ensure_ascii=False).encode()


def request_key(logical_id: str, body: dict | bytes) -> str:
    blob = body if isinstance(body, bytes) else encode_body(body)
    return hashlib.sha256(logical_id.encode() + b"\n" + blob).hexdigest()


def storable(content: str | None, error: str | None) -> tuple[str | None, str | None]:
    """What SQLite (UTF-8) can store: a reply holding a lone surrogate (a JSON ``"\\ud800"`` escape in the
    endpoint's body) becomes a ``bad_reply`` error, so it is journaled, not re-asked, and its sample is
    dropped with that reason; an error text is made UTF-8 clean."""
    if content is not None:
        try:
            content.encode("utf-8")
        except UnicodeEncodeError as e:
            where = f"{e.reason} at character {e.start}"
            content, error = None, f"bad_reply: the reply is not valid Unicode ({where}): {content[:120]}"
    if error is not None:
        error = safe_text(error, 500)
    return content, error


class Journal:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable against a killed process
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, logical_id TEXT NOT NULL, "
            "content TEXT, error TEXT, created REAL NOT NULL)"
        )
        self._cache: dict[str, Entry] = {
            row[0]: Entry(*row)
            for row in self._db.execute("SELECT key, logical_id, content, error FROM replies")
        }

    def __len__(self) -> int:
        return len(self._cache)

    def __contains__(self, key: str) -> bool:
        return key in self._cache

    def get(self, key: str) -> Entry | None:
        return self._cache.get(key)

    def put(self, key: str, logical_id: str, content: str | None, error: str | None) -> Entry:
        """Commits one reply. A second put of the same key is a bug (a repeated request) and raises."""
        if key in self._cache:
            raise RuntimeError(f"journal: reply for {logical_id} ({key[:12]}) is already recorded")
        content, error = storable(content, error)
        self._db.execute(
            "INSERT INTO replies (key, logical_id, content, error, created) VALUES (?, ?, ?, ?, ?)",
            (key, logical_id, content, error, time.time()),
        )
        entry = Entry(key, logical_id, content, error)
        self._cache[key] = entry
        return entry

    def set_aside(self, keys: list[str]) -> int:
        """Moves these replies to the ``superseded`` table (kept, no longer replayed): a rerun asks again."""
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS superseded (key TEXT NOT NULL, logical_id TEXT NOT NULL, "
            "content TEXT, error TEXT, created REAL NOT NULL, superseded REAL NOT NULL)"
        )
        now = time.time()
        self._db.execute("BEGIN")
        for key in keys:
            self._db.execute(
                "INSERT INTO superseded SELECT key, logical_id, content, error, created, ? FROM replies "
                "WHERE key = ?",
                (now, key),
            )
            self._db.execute("DELETE FROM replies WHERE key = ?", (key,))
            self._cache.pop(key, None)
        self._db.execute("COMMIT")
        return len(keys)

    def entries(self) -> list[Entry]:
        return list(self._cache.values())

    def close(self) -> None:
        self._db.close()
