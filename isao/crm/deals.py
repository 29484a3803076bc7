"""Deals: create, update, status changes with their events (stage_changed, won, lost), list."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from isao.crm import events, records, serialize
from isao.crm.errors import BadReference
from isao.crm.schemas import DealCreate, DealStatusUpdate, DealUpdate
from isao.db.models import Contact, Deal, User
from isao.ids import new_id
from isao.timeutil import utcnow

_COLUMNS = records.columns(DealCreate)


def get(session: Session, company_id: str, deal_id: str) -> Deal:
    return records.get(session, Deal, company_id, deal_id)


def create(session: Session, company_id: str, data: DealCreate) -> Deal:
    now = utcnow()
    row = Deal(id=new_id("deal"), company_id=company_id, created_at=now, updated_at=now)
    _apply(session, company_id, row, data, DealCreate.model_fields)
    if row.status != "open" and row.actual_close_date is None:
        row.actual_close_date = now
    session.add(row)
    session.flush()
    payload = serialize.deal(row)
    events.record(session, company_id, "deal.created", row.id, payload)
    if row.status != "open":
        _record_outcome(session, company_id, row, payload)
    return row


def update(session: Session, company_id: str, deal_id: str, data: DealUpdate | DealStatusUpdate) -> Deal:
    """Partial update; fields left out of the request keep their value."""
    row = get(session, company_id, deal_id)
    before = serialize.deal(row)
    _apply(session, company_id, row, data, data.model_fields_set)
    if row.status != before["status"]:
        if row.status == "open":
            if "actualCloseDate" not in data.model_fields_set:
                row.actual_close_date = None
        elif "actualCloseDate" not in data.model_fields_set or row.actual_close_date is None:
            row.actual_close_date = utcnow()
    if serialize.deal(row) == before:
        return row
    row.updated_at = utcnow()
    session.flush()
    payload = serialize.deal(row)
    events.record(session, company_id, "deal.updated", row.id, payload)
    if row.stage != before["stage"]:
        events.record(
            session, company_id, "deal.stage_changed", row.id, payload | {"previousStage": before["stage"]}
        )
    if row.status != before["status"] and row.status != "open":
        _record_outcome(session, company_id, row, payload)
    return row


def delete(session: Session, company_id: str, deal_id: str) -> dict[str, Any]:
    return records.delete(session, Deal, company_id, deal_id, serialize.deal)


def _apply(session: Session, company_id: str, row: Deal, data: BaseModel, fields: Iterable[str]) -> None:
    for field in fields:
        if field not in _COLUMNS:
            continue
        value = getattr(data, field)
        if field == "contactId" and value is not None:
            contact = session.scalar(
                select(Contact).where(Contact.company_id == company_id, Contact.id == value)
            )
            if contact is None:
                raise BadReference("Contact not found or does not belong to your company")
            row.contact = contact
        elif field == "assignedToId" and value is not None:
            user = session.scalar(select(User).where(User.company_id == company_id, User.id == value))
            if user is None:
                raise BadReference("Assigned user not found or does not belong to your company")
            row.assigned_to = user
        elif field == "contactId":
            row.contact = None
        elif field == "assignedToId":
            row.assigned_to = None
        elif field == "probability":
            row.probability = None if value is None else round(value)
        else:
            setattr(row, _COLUMNS[field], value)


def _record_outcome(session: Session, company_id: str, row: Deal, payload: dict[str, Any]) -> None:
    """``deal.won``/``deal.lost``, with ``wonAt``/``lostAt`` as the webhook reference shows."""
    key = "wonAt" if row.status == "won" else "lostAt"
    events.record(
        session, company_id, f"deal.{row.status}", row.id, payload | {key: payload["actualCloseDate"]}
    )
