"""Engine and sessions for SQLite (embedded default) and PostgreSQL (scale-out).

SQLite allows one writer at a time. Rather than let writers collide and sleep in SQLite's busy handler
(which polls with sleeps of up to 100 ms, so the lock sits free while writers doze), writes queue on a
lock and open their transaction with ``BEGIN IMMEDIATE``: a thread lock within the process, and across
processes (``isao serve`` beside ``isao worker``) an ``flock`` on a file beside the database, which the
kernel hands to the next writer the moment it is released. ``busy_timeout`` still covers other tools.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker


class Database:
    def __init__(self, url: str, *, pool_size: int = 20, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo, "json_serializer": _json, "json_deserializer": orjson.loads}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if not url.startswith("sqlite:///:memory:"):
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=not self.is_sqlite)
        self.engine: Engine = create_engine(url, **kwargs)
        self._write_lock: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        if self.is_sqlite:
            database = self.engine.url.database
            in_memory = not database or database == ":memory:"
            self._write_lock = threading.Lock() if in_memory else _WriterLock(Path(f"{database}.writer"))
            _configure_sqlite(self.engine)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._write_engine = self.engine.execution_options(isao_write=True) if self.is_sqlite else self.engine
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session:
            yield session

    @contextlib.contextmanager
    def query(self) -> Iterator[Connection]:
        """A read on a Core connection, for compiled selects on the hot path: it costs about half a
        session's bookkeeping."""
        with self.engine.connect() as connection:
            yield connection

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction that commits on success and rolls back on any exception."""
        with self._write_lock, self._writer() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def core_write(self) -> Iterator[Connection]:
        """``write`` on a Core connection: for the hot path's transactions made only of Core and
        ``Prepared`` statements, at less than half a session's cost."""
        with self._write_lock, self._write_engine.connect() as connection, connection.begin():
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()


def _json(value: Any) -> str:
    """JSON columns through orjson: every job's payload and every attempt's story is serialised, and
    the standard library's encoder was a visible share of writing them."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


class _WriterLock:
    """One writer at a time across threads (a lock) and processes (``flock``, held per open file, so the
    threads of one process share it and the thread lock orders them)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> None:
        self._thread.acquire()
        try:
            if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
                self._fd, self._pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread.release()
            raise

    def __exit__(self, *exc: Any) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread.release()


def insert_for(session: Session, table: Any) -> Any:
    """The dialect's own INSERT for ``table`` (it has ``on_conflict_do_nothing``/``_do_update``, which
    both SQLite and PostgreSQL run): the statement every idempotent write of the queue and engine uses."""
    return dialect_insert(session.get_bind().dialect.name, table)


def dialect_insert(dialect_name: str, table: Any) -> Any:
    """``insert_for`` by the dialect's name (for ``Prepared`` statements, built once per dialect)."""
    return (postgresql if dialect_name == "postgresql" else sqlite).insert(table)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below be the only one
        cursor = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight on the DB-API connection: every transaction starts here, and SQLAlchemy's own
        # execution path costs more than the statement.
        write = conn.get_execution_options().get("isao_write", False)
        conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
