"""The queue's and the sync engine's hottest writes, run straight on the DB-API cursor.

Every synced record completes its job, records its attempt, saves its ID-map link and frees its lock:
a handful of small statements, each of which costs several times more in SQLAlchemy's execution
machinery than in the database. A ``Prepared`` statement is compiled once per dialect by SQLAlchemy
(so the SQL, the quoting and the parameter conversions are SQLAlchemy's own) and then executed on the
DB-API connection of the caller's transaction, which SQLAlchemy still begins and commits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

Writer = Session | Connection
"""Where the hot path writes: a session's transaction, or a Core connection's (``Database.core_write``)."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...] | None
    """Parameter names in order, for positional paramstyles (SQLite's ``?``); None for named ones."""
    processors: dict[str, Callable[[Any], Any]]
    constants: dict[str, Any]
    """Values the statement itself holds (``.values(locked_by=None)``)."""


class Prepared:
    """``build(dialect_name)`` → the statement, made once per dialect and set of parameter names.

    Only for statements whose parameters are all ``bindparam``s or the inserted columns, and whose
    results are read as a row count or as "a row came back" (no result-type conversion is done).
    """

    def __init__(self, build: Callable[[str], ClauseElement]) -> None:
        self.build = build
        self._compiled: dict[tuple[str, frozenset[str]], _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, dialect: Dialect, keys: frozenset[str]) -> _Compiled:
        cached = self._compiled.get((dialect.name, keys))
        if cached is not None:
            return cached
        compiled: Any = self.build(dialect.name).compile(dialect=dialect, column_keys=sorted(keys))
        processors, constants = {}, {}
        for bind, name in compiled.bind_names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
            if not bind.required:
                constants[name] = bind.effective_value
        names = tuple(compiled.positiontup) if compiled.positional else None
        made = _Compiled(compiled.string, names, processors, constants)
        with self._lock:
            self._compiled[(dialect.name, keys)] = made
        return made

    def execute(self, writer: Writer, params: Mapping[str, Any]) -> Any:
        """Run in ``writer``'s transaction; returns the DB-API cursor (``rowcount``, ``fetchone()``)."""
        if isinstance(writer, Connection):
            connection = writer
        else:
            if writer.new or writer.dirty or writer.deleted:
                writer.flush()  # what session.execute's autoflush would do: keep the statements in order
            connection = writer.connection()
        compiled = self._compile(connection.dialect, frozenset(params))
        processors = compiled.processors
        values = {
            key: processors[key](value) if key in processors else value
            for key, value in (compiled.constants | dict(params)).items()
        }
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        if compiled.names is None:
            cursor.execute(compiled.sql, values)
        else:
            cursor.execute(compiled.sql, tuple(values[name] for name in compiled.names))
        return cursor
