"""CRM contacts: list with search, one contact with their deals, and the new-contact form.

The deals pages and the pipeline board live in ``crm_deals`` and ``crm_pipeline``; their routers are
included here so the pages package keeps one router per page family.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from isao.crm import contacts, pages, serialize
from isao.crm.errors import DuplicateContact, NotFound
from isao.crm.listing import Page
from isao.crm.messages import label
from isao.crm.schemas import ContactCreate
from isao.dashboard.pages import crm_deals, crm_pipeline
from isao.dashboard.pages.crm_shared import base_url, dates, filled, not_found, paging, rows, search_term
from isao.dashboard.pages.crm_shared import pages as page_count
from isao.dashboard.roles import AsOperator
from isao.dashboard.session import CurrentViewer, Db
from isao.dashboard.web import done_flashes, form_values, redirect, render, validate

router = APIRouter()
router.include_router(crm_deals.router)
router.include_router(crm_pipeline.router)

CONTACT_DEALS = 50
DONE = {"created": "Contact created"}
NAME_FIELDS = ("name", "firstName", "lastName")


@router.get("/crm/contacts")
def contact_list(
    request: Request, viewer: CurrentViewer, database: Db, search: str | None = None, page: str | None = None
) -> Response:
    errors: dict[str, str] = {}
    term = search_term(search, errors)
    paged = paging(page)
    with database.read() as session:
        found, total = pages.contacts(session, viewer.company_id, paged, search=term or None)
    return render(
        request,
        "crm/contacts.html",
        status_code=400 if errors else 200,
        title="Contacts",
        contacts=rows(found),
        total=total,
        page=paged.page,
        pages=page_count(total),
        base=base_url("/crm/contacts", search=term),
        values={"search": search or ""},
        errors=errors,
    )


@router.get("/crm/contacts/new")
def new_contact(request: Request, viewer: AsOperator) -> Response:
    return _form(request, {}, {})


@router.post("/crm/contacts/new")
async def create_contact(request: Request, viewer: AsOperator, database: Db) -> Response:
    values = await form_values(request)
    data: dict[str, Any] = filled(values)
    if "tags" in data:
        data["tags"] = [tag for tag in data["tags"].split(",") if tag.strip()]
    body, errors = validate(ContactCreate, data)
    if body is None:
        # The name rule runs only once every field is valid: check it alone so both messages show at once.
        names = {key: value for key, value in data.items() if key in NAME_FIELDS}
        return _form(request, values, validate(ContactCreate, names)[1] | errors)
    try:
        with database.write() as session:
            created = contacts.create(session, viewer.company_id, body)
    except DuplicateContact as exc:
        message = f"A contact with this {label(exc.field).lower()} already exists"
        return _form(request, values, {exc.field: message}, existing=exc.existing_id)
    return redirect(f"/crm/contacts/{created['id']}?done=created")


@router.get("/crm/contacts/{contact_id}")
def contact_page(
    request: Request, viewer: CurrentViewer, database: Db, contact_id: str, done: str | None = None
) -> Response:
    with database.read() as session:
        try:
            contact = dates(serialize.contact(contacts.get(session, viewer.company_id, contact_id)))
        except NotFound:
            return not_found(request, "Contact", "/crm/contacts")
        found, total = pages.deals(
            session, viewer.company_id, Page(limit=CONTACT_DEALS), contact_id=contact_id
        )
    return render(
        request,
        "crm/contact.html",
        title=contact["name"],
        contact=contact,
        deals=rows(found),
        total=total,
        flashes=done_flashes(done, DONE),
    )


def _form(
    request: Request, values: dict[str, str], errors: dict[str, str], existing: str | None = None
) -> Response:
    return render(
        request,
        "crm/contact_form.html",
        status_code=400 if errors else 200,
        title="New contact",
        values=values,
        errors=errors,
        existing=existing,
    )
