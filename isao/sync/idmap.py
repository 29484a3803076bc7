"""The ID map: which target record a recipe step wrote for a source record, and what it wrote last."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.orm import Session

from isao.db.engine import dialect_insert
from isao.db.models import IdLink
from isao.db.prepared import Prepared, Writer
from isao.ids import new_id
from isao.timeutil import utcnow


@dataclass(frozen=True)
class Source:
    binding_id: str
    step: str
    connection: str
    object: str
    id: str


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot hash {type(value).__name__}")


def content_hash(values: dict[str, Any]) -> str:
    """Stable over key order, with Decimals by their exact text."""
    return hashlib.sha256(orjson.dumps(values, option=orjson.OPT_SORT_KEYS, default=_default)).hexdigest()


@dataclass(frozen=True)
class Found:
    """A step's own link, as much of it as syncing a record needs."""

    id: str
    target_id: str
    content_hash: str
    target_version: str | None


_LINKS = cast(Table, IdLink.__table__)
_UNIQUE = ("binding_id", "step", "source_connection", "source_object", "source_id")
# Compiled once, values as parameters: the two statements every synced record runs.
_FIND = select(_LINKS.c.id, _LINKS.c.target_id, _LINKS.c.content_hash, _LINKS.c.target_version).where(
    *(_LINKS.c[name] == bindparam(name) for name in _UNIQUE)
)


def _params(source: Source) -> dict[str, str]:
    return {
        "binding_id": source.binding_id,
        "step": source.step,
        "source_connection": source.connection,
        "source_object": source.object,
        "source_id": source.id,
    }


def find(session: Session | Connection, source: Source) -> Found | None:
    row = session.execute(_FIND, _params(source)).first()
    return Found(row.id, row.target_id, row.content_hash, row.target_version) if row else None


def by_target(session: Session, binding_id: str, connection: str, object_: str, id_: str) -> list[IdLink]:
    """Links whose target is this record: a change arriving from it may be ISAO's own write coming back."""
    return list(
        session.scalars(
            select(IdLink).where(
                IdLink.binding_id == binding_id,
                IdLink.target_connection == connection,
                IdLink.target_object == object_,
                IdLink.target_id == id_,
            )
        )
    )


def reverse(
    session: Session, binding_id: str, source: Source, target_connection: str, target_object: str
) -> IdLink | None:
    """A link written the other way: ``source`` is a record ISAO created from one in the target's
    connection and object (a HubSpot deal that became this WooCommerce order), which is then its target."""
    return session.scalars(
        select(IdLink).where(
            IdLink.binding_id == binding_id,
            IdLink.target_connection == source.connection,
            IdLink.target_object == source.object,
            IdLink.target_id == source.id,
            IdLink.source_connection == target_connection,
            IdLink.source_object == target_object,
        )
    ).first()


def _upsert(dialect: str) -> Any:
    statement = dialect_insert(dialect, _LINKS)
    changed = ("target_id", "content_hash", "target_version", "written_at")
    return statement.on_conflict_do_update(
        index_elements=list(_UNIQUE), set_={name: statement.excluded[name] for name in changed}
    )


_SAVE = Prepared(_upsert)


def save(
    writer: Writer, company_id: str, source: Source, target_connection: str, target_object: str,
    target_id: str, digest: str, version: str | None = None,
) -> None:  # fmt: skip
    """Insert the step's link, or update it: one upsert on the link's unique source."""
    link = {"id": new_id("link"), "company_id": company_id, **_params(source), "written_at": utcnow()}
    _SAVE.execute(writer, link | {
        "target_connection": target_connection, "target_object": target_object, "target_id": target_id,
        "content_hash": digest, "target_version": version,
    })  # fmt: skip
