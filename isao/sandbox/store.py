"""A sandbox's records: collections of JSON documents in memory, written through to SQLite when a file
is given so a sandbox can be stopped and started again with its data."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    collection TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (collection, id));
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Store:
    """Insertion-ordered collections of dicts keyed by string id, plus named counters for id sequences.

    Callers get and put whole documents; what they get is a copy, so mutating it changes nothing until
    ``put``. Thread-safe (one lock) because SDK-driven tests and webhook tasks may overlap.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self._lock = threading.RLock()
        self._data: dict[str, dict[str, dict[str, Any]]] = {}
        self._counters: dict[str, int] = {}
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.executescript(_SCHEMA)
            for collection, id_, data in self._db.execute(
                "SELECT collection, id, data FROM records ORDER BY rowid"
            ):
                self._data.setdefault(collection, {})[id_] = orjson.loads(data)
            self._counters = dict(self._db.execute("SELECT name, value FROM counters"))

    def next_id(self, name: str, start: int = 1) -> int:
        """The next value of the sequence ``name`` (``start`` for a new one)."""
        with self._lock:
            value = max(self._counters.get(name, start - 1) + 1, start)
            self._counters[name] = value
            if self._db is not None:
                self._db.execute(
                    "INSERT INTO counters (name, value) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (name, value),
                )
            return value

    def put(self, collection: str, id_: str | int, document: dict[str, Any]) -> dict[str, Any]:
        key = str(id_)
        with self._lock:
            self._data.setdefault(collection, {})[key] = orjson.loads(orjson.dumps(document))
            if self._db is not None:
                self._db.execute(
                    "INSERT INTO records (collection, id, data) VALUES (?, ?, ?) "
                    "ON CONFLICT (collection, id) DO UPDATE SET data = excluded.data",
                    (collection, key, orjson.dumps(document).decode()),
                )
        return self.get(collection, key) or {}

    def get(self, collection: str, id_: str | int) -> dict[str, Any] | None:
        with self._lock:
            found = self._data.get(collection, {}).get(str(id_))
            return None if found is None else orjson.loads(orjson.dumps(found))

    def delete(self, collection: str, id_: str | int) -> dict[str, Any] | None:
        key = str(id_)
        with self._lock:
            removed = self._data.get(collection, {}).pop(key, None)
            if removed is not None and self._db is not None:
                self._db.execute("DELETE FROM records WHERE collection = ? AND id = ?", (collection, key))
            return removed

    def all(self, collection: str) -> list[dict[str, Any]]:
        """Copies of every document, oldest first."""
        with self._lock:
            return [orjson.loads(orjson.dumps(doc)) for doc in self._data.get(collection, {}).values()]

    def scan(self, collection: str) -> list[Mapping[str, Any]]:
        """The stored documents themselves, read-only and oldest first: filtering a large collection
        without copying every document (``get`` a copy before changing one)."""
        with self._lock:
            return [MappingProxyType(doc) for doc in self._data.get(collection, {}).values()]

    def count(self, collection: str) -> int:
        with self._lock:
            return len(self._data.get(collection, {}))

    def collections(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._data))

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._counters.clear()
            if self._db is not None:
                self._db.execute("DELETE FROM records")
                self._db.execute("DELETE FROM counters")
