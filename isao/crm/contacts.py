"""Contacts: create with duplicate detection on email and E.164 phone, partial update, delete, list."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from isao.crm import events, records, serialize
from isao.crm.errors import DuplicateContact
from isao.crm.schemas import ContactCreate, ContactUpdate
from isao.db.models import Contact
from isao.ids import new_id
from isao.timeutil import utcnow

_INSERT = insert(cast(Table, Contact.__table__))  # one statement, compiled once; values are parameters
_COLUMNS = records.columns(ContactCreate)


def get(session: Session, company_id: str, contact_id: str) -> Contact:
    return records.get(session, Contact, company_id, contact_id)


def find_duplicate(
    session: Session, company_id: str, email: str | None, phone: str | None, exclude_id: str | None = None
) -> tuple[str, str] | None:
    """The id of a contact already holding this email or phone, and which field matched (email first)."""
    matches = [
        column == value for column, value in ((Contact.email, email), (Contact.phone_number, phone)) if value
    ]
    if not matches:
        return None
    query = select(Contact.id, Contact.email).where(Contact.company_id == company_id, or_(*matches))
    if exclude_id:
        query = query.where(Contact.id != exclude_id)
    rows = session.execute(query.limit(2)).all()
    for found_id, found_email in rows:
        if email is not None and found_email == email:
            return found_id, "email"
    return (rows[0][0], "phoneNumber") if rows else None


def create(session: Session, company_id: str, data: ContactCreate) -> dict[str, Any]:
    """Insert and return the contact in the API's shape. The insert is tried first and the unique
    indexes catch duplicates: one statement on the common path instead of a look-up and an insert."""
    now = utcnow()
    values: dict[str, Any] = {column: getattr(data, field) for field, column in _COLUMNS.items()}
    values |= {"id": new_id("contact"), "company_id": company_id, "tags": data.tags or []}
    values |= {"created_at": now, "updated_at": now}
    try:
        _insert(session, values)
    except IntegrityError:
        duplicate = find_duplicate(session, company_id, data.email, data.phoneNumber)
        if duplicate:
            raise DuplicateContact(*duplicate) from None
        raise
    created = serialize.contact(SimpleNamespace(**values))
    events.record(session, company_id, "contact.created", values["id"], created)
    return created


def update(session: Session, company_id: str, contact_id: str, data: ContactUpdate) -> Contact:
    row = get(session, company_id, contact_id)
    changes = {field: getattr(data, field) for field in data.model_fields_set if field in _COLUMNS}
    duplicate = find_duplicate(
        session, company_id, changes.get("email"), changes.get("phoneNumber"), exclude_id=row.id
    )
    if duplicate:
        raise DuplicateContact(*duplicate)
    before = serialize.contact(row)
    for field, value in changes.items():
        setattr(row, _COLUMNS[field], value if field != "tags" else (value or []))
    after = serialize.contact(row)
    if after != before:
        row.updated_at = utcnow()
        _flush(session, company_id, row)
        events.record(session, company_id, "contact.updated", row.id, serialize.contact(row))
    return row


def delete(session: Session, company_id: str, contact_id: str) -> dict[str, Any]:
    return records.delete(session, Contact, company_id, contact_id, serialize.contact)


def _insert(session: Session, values: dict[str, Any]) -> None:
    """On PostgreSQL a failed statement aborts the transaction, so the insert gets a savepoint to
    fall back to; on SQLite the transaction survives a failed statement."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(_INSERT, values)
        return
    with session.begin_nested():
        session.execute(_INSERT, values)


def _flush(session: Session, company_id: str, row: Contact) -> None:
    """Flush an update, turning a unique-index race with a concurrent writer into the same 409."""
    if session.get_bind().dialect.name == "sqlite":
        session.flush()  # BEGIN IMMEDIATE: no other writer between the duplicate check and here
        return
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        duplicate = find_duplicate(session, company_id, row.email, row.phone_number, exclude_id=row.id)
        if duplicate:
            raise DuplicateContact(*duplicate) from None
        raise
