"""The outbox: a row per change, added to the caller's session so it commits with the change."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from isao.db.models import Event, WebhookSubscription
from isao.ids import new_id
from isao.queue import enqueue

CONTACT_EVENTS = ("contact.created", "contact.updated", "contact.deleted")
DEAL_EVENTS = ("deal.created", "deal.updated", "deal.stage_changed", "deal.won", "deal.lost", "deal.deleted")
EVENT_TYPES = CONTACT_EVENTS + DEAL_EVENTS
DELIVER = "webhook.deliver"


def record(session: Session, company_id: str, type_: str, entity_id: str, data: dict[str, Any]) -> Event:
    assert type_ in EVENT_TYPES, type_
    event = Event(
        id=new_id("evt"),
        company_id=company_id,
        type=type_,
        entity_type=type_.split(".", 1)[0],
        entity_id=entity_id,
        data=data,
    )
    session.add(event)
    _enqueue_deliveries(session, event)
    return event


def _enqueue_deliveries(session: Session, event: Event) -> None:
    """One ``webhook.deliver`` job per active subscription, committed with the change itself."""
    table = WebhookSubscription.__table__
    query = select(table.c.id, table.c.target_url).where(
        table.c.company_id == event.company_id, table.c.event == event.type, table.c.active
    )
    for subscription_id, target_url in session.connection().execute(query).tuples():
        enqueue(
            session,
            DELIVER,
            {"subscription_id": subscription_id, "event_id": event.id},
            company_id=event.company_id,
            rate_key=f"webhook:{urlsplit(target_url).hostname}",
        )
