"""What the CRM pages share: reading list pages, paging and filter input, form clean-up, 404s."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse

from isao.crm.listing import Page
from isao.dashboard import web
from isao.db.models import Contact
from isao.timeutil import parse_iso

PAGE_SIZE = 25
MAX_SEARCH = 200
CONTACT_CHOICES = 500
DATE_KEYS = ("createdAt", "updatedAt", "expectedCloseDate", "actualCloseDate")


def rows(page_json: str) -> list[dict[str, Any]]:
    """A list page of :mod:`isao.crm.pages` (JSON text), with its dates as datetimes for the filters."""
    items: list[dict[str, Any]] = json.loads(page_json)
    return [dates(item) for item in items]


def dates(item: dict[str, Any]) -> dict[str, Any]:
    """An API-shaped record with its ISO 8601 dates parsed."""
    for key in DATE_KEYS:
        if isinstance(item.get(key), str):
            item[key] = parse_iso(item[key])
    return item


def paging(page: str | None) -> Page:
    """A page number from the query string; anything but a positive number is the first page."""
    number = int(page) if page and page.isdigit() and 0 < int(page) < 1_000_000 else 1
    return Page(page=number, limit=PAGE_SIZE)


def pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def search_term(value: str | None, errors: dict[str, str], name: str = "search") -> str:
    term = (value or "").strip()
    if len(term) > MAX_SEARCH:
        errors[name] = f"Search must be at most {MAX_SEARCH} characters"
        return ""
    return term


def base_url(path: str, **params: str) -> str:
    """The list's URL with its filters, for the pager to add ``page`` to."""
    kept = {key: value for key, value in params.items() if value}
    return f"{path}?{urlencode(kept)}" if kept else path


def filled(values: dict[str, str]) -> dict[str, str]:
    """Form fields left empty are absent, as an API client would leave them out."""
    return {key: value for key, value in values.items() if value.strip()}


def contact_choices(session: Session, company_id: str, keep: str | None = None) -> list[tuple[str, str]]:
    """Options for a contact select (by name, capped), always including the one already chosen."""
    query = (
        select(Contact.id, Contact.name, Contact.email)
        .where(Contact.company_id == company_id)
        .order_by(Contact.name, Contact.id)
        .limit(CONTACT_CHOICES)
    )
    found = [(id_, f"{name} ({email})" if email else name) for id_, name, email in session.execute(query)]
    if keep and all(id_ != keep for id_, _ in found):
        extra = session.execute(
            select(Contact.id, Contact.name).where(Contact.company_id == company_id, Contact.id == keep)
        ).first()
        if extra is not None:
            found.insert(0, (extra[0], extra[1]))
    return [("", "No contact"), *found]


def not_found(request: Request, what: str, back: str) -> HTMLResponse:
    return web.not_found(
        request, what, back, f"Your company has no such {what.lower()}: it may have been deleted."
    )
