"""The outbox: a row per change, added to the caller's session so it commits with the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from isao.db.models import Event
from isao.ids import new_id

CONTACT_EVENTS = ("contact.created", "contact.updated", "contact.deleted")
DEAL_EVENTS = ("deal.created", "deal.updated", "deal.stage_changed", "deal.won", "deal.lost", "deal.deleted")
EVENT_TYPES = CONTACT_EVENTS + DEAL_EVENTS


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
    return event
