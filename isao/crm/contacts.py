"""Contacts: create with duplicate detection on email and E.164 phone, partial update, delete, list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from isao.crm import events, serialize
from isao.crm.errors import DuplicateContact, NotFound
from isao.crm.listing import Page, paginate, since
from isao.crm.schemas import ContactCreate, ContactUpdate
from isao.db.models import Contact
from isao.ids import new_id
from isao.timeutil import utcnow

_COLUMNS = {
    "name": "name",
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "phoneNumber": "phone_number",
    "position": "position",
    "currentCompany": "current_company",
    "city": "city",
    "country": "country",
    "tags": "tags",
}


def get(session: Session, company_id: str, contact_id: str) -> Contact:
    row = session.scalar(select(Contact).where(Contact.company_id == company_id, Contact.id == contact_id))
    if row is None:
        raise NotFound("Contact")
    return row


def find_duplicate(
    session: Session, company_id: str, email: str | None, phone: str | None, exclude_id: str | None = None
) -> tuple[str, str] | None:
    """The id of a contact already holding this email or phone, and which field matched."""
    for field, column, value in (
        ("email", Contact.email, email),
        ("phoneNumber", Contact.phone_number, phone),
    ):
        if value is None:
            continue
        query = select(Contact.id).where(Contact.company_id == company_id, column == value)
        if exclude_id:
            query = query.where(Contact.id != exclude_id)
        found = session.scalar(query.limit(1))
        if found:
            return found, field
    return None


def create(session: Session, company_id: str, data: ContactCreate) -> Contact:
    duplicate = find_duplicate(session, company_id, data.email, data.phoneNumber)
    if duplicate:
        raise DuplicateContact(*duplicate)
    now = utcnow()
    row = Contact(id=new_id("contact"), company_id=company_id, created_at=now, updated_at=now)
    for field, column in _COLUMNS.items():
        setattr(row, column, getattr(data, field))
    row.tags = data.tags or []
    session.add(row)
    _flush(session, company_id, row)
    events.record(session, company_id, "contact.created", row.id, serialize.contact(row))
    return row


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
    row = get(session, company_id, contact_id)
    data = serialize.contact(row)
    session.delete(row)
    events.record(session, company_id, "contact.deleted", contact_id, data)
    return data


def list_(
    session: Session,
    company_id: str,
    page: Page,
    *,
    search: str | None = None,
    tag: str | None = None,
    email: str | None = None,
    created_since: datetime | None = None,
    updated_since: datetime | None = None,
) -> tuple[Sequence[Contact], int]:
    query = select(Contact).where(Contact.company_id == company_id)
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                *(
                    column.ilike(pattern, escape="\\")
                    for column in (Contact.name, Contact.email, Contact.phone_number, Contact.current_company)
                )
            )
        )
    if email:
        query = query.where(Contact.email == email.strip().lower())
    if tag:
        query = query.where(_has_tag(session, tag))
    query = since(query, Contact.created_at, created_since)
    query = since(query, Contact.updated_at, updated_since)
    return paginate(session, query, Contact, page)


def _has_tag(session: Session, tag: str) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return Contact.tags.op("@>")(func.jsonb_build_array(tag))
    each = func.json_each(Contact.tags).table_valued("value")
    return exists().select_from(each).where(each.c.value == tag)


def _flush(session: Session, company_id: str, row: Contact) -> None:
    """Flush, turning a unique-index race with a concurrent writer into the same 409 as the pre-check."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        duplicate = find_duplicate(session, company_id, row.email, row.phone_number, exclude_id=row.id)
        if duplicate:
            raise DuplicateContact(*duplicate) from None
        raise
