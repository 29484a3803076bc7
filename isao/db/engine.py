"""Engine and sessions for SQLite (embedded default) and PostgreSQL (scale-out).

SQLite allows one writer at a time. Rather than let threads collide and sleep in SQLite's busy
handler, writes in this process queue on a lock and open their transaction with ``BEGIN IMMEDIATE``;
other processes are covered by ``busy_timeout``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker


class Database:
    def __init__(self, url: str, *, pool_size: int = 20, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if not url.startswith("sqlite:///:memory:"):
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=not self.is_sqlite)
        self.engine: Engine = create_engine(url, **kwargs)
        self._write_lock: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        if self.is_sqlite:
            self._write_lock = threading.Lock()
            _configure_sqlite(self.engine)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(
            self.engine.execution_options(isao_write=True) if self.is_sqlite else self.engine,
            expire_on_commit=False,
        )

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

    def dispose(self) -> None:
        self.engine.dispose()


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
