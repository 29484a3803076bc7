"""The inbox: verify a provider's webhook, store it raw, drop duplicates, enqueue its job, all in one
transaction, and only then acknowledge. A provider that gets a 2xx can forget the event: it is ours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from isao import connections, metrics
from isao.connectors import webhooks as provider_webhooks
from isao.db import Database
from isao.db.models import InboundEvent
from isao.errors import SignatureInvalid
from isao.ids import new_id
from isao.queue import enqueue
from isao.queue.worker import JobContext

ROUTE = "inbound.route"
_KEPT_HEADERS = ("content-type", "user-agent")


@dataclass(frozen=True)
class Receipt:
    status: int
    body: dict[str, Any]


def receive(
    db: Database,
    connection_id: str,
    *,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> Receipt:
    headers = {key.lower(): value for key, value in headers.items()}
    with db.read() as session:
        connection = connections.get(session, connection_id)
        if connection is None:
            return Receipt(404, {"success": False, "error": "Connection not found"})
        provider, company_id = connection.provider, connection.company_id
        secret = connections.webhook_secret(connection)
    try:
        spec = provider_webhooks.get(provider)
    except KeyError:
        return Receipt(404, {"success": False, "error": f"{provider} connections do not receive webhooks"})
    if spec.is_ping(headers, body):
        return Receipt(200, {"success": True, "ping": True})
    if not secret:
        metrics.EVENTS_REJECTED.labels(provider, "no-secret").inc()
        return Receipt(401, {"success": False, "error": "This connection has no webhook secret configured"})
    try:
        spec.verify_webhook(secret, headers, body, url=url, method="POST", now=now.timestamp())
    except SignatureInvalid as error:
        metrics.EVENTS_REJECTED.labels(provider, "signature").inc()
        return Receipt(401, {"success": False, "error": "Invalid signature", "message": str(error)})
    try:
        json.loads(body)
    except ValueError:
        metrics.EVENTS_REJECTED.labels(provider, "malformed").inc()
        return Receipt(
            400, {"success": False, "error": "Invalid JSON", "message": "The body is not valid JSON"}
        )

    dedupe_key = spec.delivery_id(headers, body) or "sha256:" + hashlib.sha256(body).hexdigest()
    try:
        stored = _store(
            db, connection_id, company_id, provider, spec.topic(headers, body), dedupe_key, headers, body, now
        )
    except IntegrityError:  # the same delivery, arriving twice at once: the other one stored it
        with db.read() as session:
            stored = (_existing(session, connection_id, dedupe_key), None, True)
    event_id, job_id, duplicate = stored
    if duplicate:
        metrics.EVENTS_DUPLICATE.labels(provider).inc()
        return Receipt(200, {"success": True, "duplicate": True, "id": event_id})
    metrics.EVENTS_RECEIVED.labels(provider).inc()
    return Receipt(202, {"success": True, "id": event_id, "jobId": job_id})


def _store(
    db: Database,
    connection_id: str,
    company_id: str,
    provider: str,
    topic: str | None,
    dedupe_key: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> tuple[str | None, str | None, bool]:
    """(event id, job id, duplicate?) — the event and its job commit together or not at all."""
    with db.write() as session:
        existing = _existing(session, connection_id, dedupe_key)
        if existing is not None:
            return existing, None, True
        event = InboundEvent(
            id=new_id("in"),
            connection_id=connection_id,
            company_id=company_id,
            provider=provider,
            topic=topic,
            dedupe_key=dedupe_key[:200],
            headers={k: v for k, v in headers.items() if k.startswith("x-") or k in _KEPT_HEADERS},
            body=body,
            received_at=now,
        )
        session.add(event)
        job = enqueue(session, ROUTE, {"inbound_event_id": event.id}, company_id=company_id)
        return event.id, job.id, False


def _existing(session: Session, connection_id: str, dedupe_key: str) -> str | None:
    query = select(InboundEvent.id).where(
        InboundEvent.connection_id == connection_id, InboundEvent.dedupe_key == dedupe_key[:200]
    )
    return session.scalar(query)


Router = Callable[[JobContext, InboundEvent], int]


class Inbox:
    """Runs ``inbound.route`` jobs: hands each stored event to the routers (the sync engine's recipes)."""

    def __init__(self) -> None:
        self.routers: list[Router] = []

    def route(self, ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
        with ctx.db.read() as session:
            event = session.get(InboundEvent, payload["inbound_event_id"])
            if event is None:
                return {"routed": 0, "note": "event no longer stored"}
            session.expunge(event)
        routed = sum(router(ctx, event) for router in self.routers)
        return {"routed": routed, "topic": event.topic}
