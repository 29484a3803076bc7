"""Records to the External API's JSON shapes, for single records and the ``data`` of events.

List pages are rendered by the database from the same shapes (``isao.crm.pages``).
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from isao.db.models import Contact, Deal, User
from isao.timeutil import format_iso


def number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def contact(row: Contact | SimpleNamespace) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "firstName": row.first_name,
        "lastName": row.last_name,
        "email": row.email,
        "phoneNumber": row.phone_number,
        "position": row.position,
        "currentCompany": row.current_company,
        "city": row.city,
        "country": row.country,
        "tags": list(row.tags or []),
        "createdAt": format_iso(row.created_at),
        "updatedAt": format_iso(row.updated_at),
    }


def contact_ref(row: Contact | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "id": row.id,
        "name": row.name,
        "email": row.email,
        "phoneNumber": row.phone_number,
        "currentCompany": row.current_company,
    }


def user_ref(row: User | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"id": row.id, "name": row.name, "email": row.email}


def deal(row: Deal) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "description": row.description,
        "value": number(row.value),
        "currency": row.currency,
        "stage": row.stage,
        "priority": row.priority,
        "probability": row.probability,
        "status": row.status,
        "expectedCloseDate": format_iso(row.expected_close_date),
        "actualCloseDate": format_iso(row.actual_close_date),
        "source": row.source,
        "contact": contact_ref(row.contact),
        "assignedTo": user_ref(row.assigned_to),
        "createdAt": format_iso(row.created_at),
        "updatedAt": format_iso(row.updated_at),
    }
