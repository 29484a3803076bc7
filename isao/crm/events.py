"""The outbox: a row per change, written in the caller's transaction so it commits with the change,
and one delivery job per active webhook subscription to that event, in the same transaction."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from isao.db.models import Event, WebhookSubscription
from isao.ids import new_id
from isao.queue import enqueue
from isao.timeutil import utcnow

CONTACT_EVENTS = ("contact.created", "contact.updated", "contact.deleted")
DEAL_EVENTS = ("deal.created", "deal.updated", "deal.stage_changed", "deal.won", "deal.lost", "deal.deleted")
EVENT_TYPES = CONTACT_EVENTS + DEAL_EVENTS
DELIVER = "webhook.deliver"

# Built once: compiling a statement costs more than running it. Values travel as parameters.
_INSERT = insert(cast(Table, Event.__table__))
_SUBS = cast(Table, WebhookSubscription.__table__)
_SUBSCRIBERS = select(_SUBS.c.id, _SUBS.c.target_url).where(
    _SUBS.c.company_id == bindparam("company_id"), _SUBS.c.event == bindparam("type"), _SUBS.c.active
)


def record(session: Session, company_id: str, type_: str, entity_id: str, data: dict[str, Any]) -> str:
    """Write the event (``data`` in the REST object's shape) and queue its deliveries; returns its id."""
    assert type_ in EVENT_TYPES, type_
    event_id = new_id("evt")
    values = {
        "id": event_id,
        "company_id": company_id,
        "type": type_,
        "entity_type": type_.split(".", 1)[0],
        "entity_id": entity_id,
        "data": data,
        "created_at": utcnow(),
    }
    session.execute(_INSERT, values)
    for subscription_id, target_url in session.execute(
        _SUBSCRIBERS, {"company_id": company_id, "type": type_}
    ):
        enqueue(
            session,
            DELIVER,
            {"subscription_id": subscription_id, "event_id": event_id},
            company_id=company_id,
            rate_key=f"webhook:{urlsplit(target_url).hostname}",
        )
    return event_id
