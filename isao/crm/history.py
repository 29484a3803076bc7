"""A deal's history, read back from the outbox: each event carries the deal as it was after the change.

One update can write several events (``deal.updated``, then ``deal.stage_changed`` and ``deal.won``);
the stage and outcome events tell those changes, so the ``deal.updated`` entry lists only the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from isao.db.models import Event

Snapshot = dict[str, Any]
# Fields a reader cares about, with their labels; actualCloseDate and updatedAt follow from others.
FIELDS = (
    ("title", "Title"),
    ("value", "Value"),
    ("currency", "Currency"),
    ("status", "Status"),
    ("priority", "Priority"),
    ("probability", "Probability"),
    ("expectedCloseDate", "Expected close date"),
    ("source", "Source"),
    ("contact", "Contact"),
    ("assignedTo", "Assigned to"),
    ("description", "Description"),
)
HEADINGS = {
    "deal.created": "Created",
    "deal.stage_changed": "Stage changed",
    "deal.won": "Won",
    "deal.lost": "Lost",
    "deal.updated": "Updated",
}


@dataclass
class Change:
    label: str
    before: str
    after: str


@dataclass
class Entry:
    at: datetime
    type: str
    heading: str
    changes: list[Change] = field(default_factory=list)


def deal_history(session: Session, company_id: str, deal_id: str) -> list[Entry]:
    """Newest first."""
    query = (
        select(Event)
        .where(
            Event.company_id == company_id,
            Event.entity_type == "deal",
            Event.entity_id == deal_id,
            Event.type.in_(tuple(HEADINGS)),
        )
        .order_by(Event.created_at, Event.id)
    )
    entries: list[Entry] = []
    before: Snapshot | None = None  # the deal before the update being read
    latest: Snapshot | None = None
    for event in session.scalars(query):
        data = event.data
        entry = Entry(event.created_at, event.type, HEADINGS[event.type])
        if event.type == "deal.created":
            entry.changes = [Change("Stage", "", _text("stage", data)), Change("Status", "", data["status"])]
        elif event.type == "deal.stage_changed":
            entry.changes = [Change("Stage", _text("previousStage", data), _text("stage", data))]
        elif event.type in ("deal.won", "deal.lost"):
            entry.changes = [Change("Status", _text("status", before) if before else "", data["status"])]
        else:
            before = latest
            entry.changes = _updates(before, data)
            if before is not None and not entry.changes:
                latest = data
                continue  # told by the stage or outcome event that follows
        if event.type in ("deal.created", "deal.updated"):
            latest = data
        entries.append(entry)
    return entries[::-1]


def _updates(before: Snapshot | None, after: Snapshot) -> list[Change]:
    if before is None:
        return []
    changes = []
    for key, label in FIELDS:
        if before.get(key) == after.get(key):
            continue
        if key == "status" and after["status"] != "open":
            continue
        if key == "description":
            changes.append(Change(label, "", "changed"))
        else:
            changes.append(Change(label, _text(key, before), _text(key, after)))
    return changes


def _text(key: str, data: Snapshot | None) -> str:
    value = (data or {}).get(key)
    if value is None:
        return ""
    if isinstance(value, dict):
        return str(value.get("name") or value.get("email") or value.get("id"))
    if key == "value":
        return f"{Decimal(str(value)):,.2f}"
    return str(value)
