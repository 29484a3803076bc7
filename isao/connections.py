"""Connections: a company's account at a provider. Credentials are one JSON object, encrypted at rest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from isao.crypto import decrypt, encrypt
from isao.db.models import Connection
from isao.ids import new_id
from isao.timeutil import utcnow

PROVIDERS = ("woocommerce", "hubspot", "zohocrm", "shopify", "stripe")


def create(
    session: Session,
    company_id: str,
    provider: str,
    name: str,
    *,
    config: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
) -> Connection:
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; choose from {', '.join(PROVIDERS)}")
    row = Connection(
        id=new_id("conn"),
        company_id=company_id,
        provider=provider,
        name=name,
        config=config or {},
        secrets_encrypted=encrypt(orjson.dumps(secrets or {}).decode()),
    )
    session.add(row)
    session.flush()
    return row


def secrets(row: Connection) -> dict[str, str]:
    data: dict[str, str] = orjson.loads(decrypt(row.secrets_encrypted))
    return data


def set_secrets(row: Connection, values: dict[str, str]) -> None:
    """Merge ``values`` into the stored secrets (token refresh, rotation)."""
    row.secrets_encrypted = encrypt(orjson.dumps(secrets(row) | values).decode())
    row.updated_at = utcnow()


def webhook_secret(row: Connection) -> str | None:
    """The key that signs this provider's webhooks (HubSpot signs with the app's client secret)."""
    stored = secrets(row)
    return stored.get("webhook_secret") or stored.get("client_secret")


def get(session: Session, connection_id: str, company_id: str | None = None) -> Connection | None:
    row = session.get(Connection, connection_id)
    if row is None or (company_id is not None and row.company_id != company_id):
        return None
    return row


def list_(session: Session, company_id: str | None = None) -> Sequence[Connection]:
    query = select(Connection).order_by(Connection.created_at)
    if company_id:
        query = query.where(Connection.company_id == company_id)
    return session.scalars(query).all()


def delete(session: Session, connection_id: str) -> bool:
    row = session.get(Connection, connection_id)
    if row is None:
        return False
    session.delete(row)
    return True
