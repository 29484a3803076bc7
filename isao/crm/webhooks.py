"""Webhook subscriptions. Each gets its own signing secret, returned once and kept encrypted."""

from __future__ import annotations

import ipaddress
import secrets
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from isao.crm.errors import Invalid, NotFound
from isao.crm.events import EVENT_TYPES
from isao.crypto import encrypt
from isao.db.models import WebhookSubscription
from isao.ids import new_id
from isao.timeutil import format_iso

MAX_URL = 2048


def check_target_url(url: str, *, allow_private: bool) -> None:
    """Refuse what is not a plain http(s) URL, and private addresses when the install forbids them (SSRF)."""
    if len(url) > MAX_URL:
        raise Invalid({"target_url": f"Target URL must be at most {MAX_URL} characters"})
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        host = None
    if parts.scheme not in ("http", "https") or not host:
        raise Invalid({"target_url": "Target URL must be an absolute http:// or https:// URL"})
    if allow_private:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        raise Invalid({"target_url": "Target URL host does not resolve"}) from None
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])
        if not ip.is_global:
            raise Invalid({"target_url": "Target URL must not point to a private or loopback address"})


def subscribe(
    session: Session, company_id: str, event: str, target_url: str, *, allow_private: bool
) -> tuple[WebhookSubscription, str]:
    if event not in EVENT_TYPES:
        raise Invalid({"event": f"Event must be one of: {', '.join(EVENT_TYPES)}"})
    check_target_url(target_url, allow_private=allow_private)
    secret = "whsec_" + secrets.token_urlsafe(32)
    row = WebhookSubscription(
        id=new_id("wh"),
        company_id=company_id,
        event=event,
        target_url=target_url,
        secret_encrypted=encrypt(secret),
    )
    session.add(row)
    session.flush()
    return row, secret


def list_(session: Session, company_id: str) -> Sequence[WebhookSubscription]:
    query = select(WebhookSubscription).where(WebhookSubscription.company_id == company_id)
    return session.scalars(
        query.order_by(WebhookSubscription.created_at.desc(), WebhookSubscription.id)
    ).all()


def delete(session: Session, company_id: str, subscription_id: str) -> None:
    row = session.scalar(
        select(WebhookSubscription).where(
            WebhookSubscription.company_id == company_id, WebhookSubscription.id == subscription_id
        )
    )
    if row is None:
        raise NotFound("Webhook")
    session.delete(row)


def serialize(row: WebhookSubscription, secret: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": row.id,
        "event": row.event,
        "target_url": row.target_url,
        "active": row.active,
        "createdAt": format_iso(row.created_at),
    }
    if secret is not None:
        data["secret"] = secret
    return data
