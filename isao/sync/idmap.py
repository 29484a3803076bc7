"""The ID map: which target record a recipe step wrote for a source record, and what it wrote last."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from isao.db.models import IdLink
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


def find(session: Session, source: Source) -> IdLink | None:
    return session.scalars(
        select(IdLink).where(
            IdLink.binding_id == source.binding_id,
            IdLink.step == source.step,
            IdLink.source_connection == source.connection,
            IdLink.source_object == source.object,
            IdLink.source_id == source.id,
        )
    ).one_or_none()


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


def save(
    session: Session, company_id: str, source: Source, target_connection: str, target_object: str,
    target_id: str, digest: str, version: str | None = None,
) -> IdLink:  # fmt: skip
    link = find(session, source)
    if link is None:
        link = IdLink(
            id=new_id("link"), company_id=company_id, binding_id=source.binding_id, step=source.step,
            source_connection=source.connection, source_object=source.object, source_id=source.id,
            target_connection=target_connection, target_object=target_object, target_id=target_id,
            content_hash=digest, target_version=version,
        )  # fmt: skip
        session.add(link)
    else:
        link.target_id, link.content_hash, link.written_at = target_id, digest, utcnow()
        link.target_version = version
    session.flush()
    return link
