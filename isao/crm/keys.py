"""API keys: ``ck_`` + 40 random characters, shown once, stored as a SHA-256 hash, scoped, revocable."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from isao.crypto import hash_token
from isao.db.models import ApiKey
from isao.ids import new_id
from isao.timeutil import utcnow

SCOPES = (
    "contacts:read",
    "contacts:write",
    "deals:read",
    "deals:write",
    "webhooks:read",
    "webhooks:write",
    "deadletters:read",
    "deadletters:write",
)
PREFIX = "ck_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: what the API needs from a key, detached from the session."""

    key_id: str
    key_name: str
    company_id: str
    company_name: str
    scopes: tuple[str, ...]


def parse_scopes(text: str) -> list[str]:
    """``"all"`` or a comma-separated list; unknown scopes are an error, not silently dropped."""
    if text.strip() in ("all", "*"):
        return list(SCOPES)
    scopes = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}; choose from {', '.join(SCOPES)}")
    return list(dict.fromkeys(scopes))


def create(session: Session, company_id: str, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    token = PREFIX + secrets.token_urlsafe(30)
    row = ApiKey(
        id=new_id("key"),
        company_id=company_id,
        name=name,
        prefix=token[:10],
        key_hash=hash_token(token),
        scopes=scopes,
    )
    session.add(row)
    session.flush()
    return row, token


def authenticate(session: Session, token: str) -> ApiKey | None:
    """The key row for ``token`` (revoked included: the caller says why it refuses)."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_token(token)))


def principal(row: ApiKey) -> Principal:
    return Principal(row.id, row.name, row.company_id, row.company.name, tuple(row.scopes))


def list_(session: Session, company_id: str | None = None) -> Sequence[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.created_at)
    if company_id:
        query = query.where(ApiKey.company_id == company_id)
    return session.scalars(query).all()


def revoke(session: Session, key_id: str) -> ApiKey | None:
    global revocations
    row = session.get(ApiKey, key_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        revocations += 1
    return row


revocations = 0
"""Bumped by every revocation in this process, so in-process key caches drop what they hold."""
