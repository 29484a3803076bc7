"""CRM deals: the filtered list, one deal with its history of stage changes, and the new-deal form."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from isao.crm import contacts, deals, history, pages, pipeline, serialize
from isao.crm.errors import BadReference, NotFound
from isao.crm.schemas import DealCreate
from isao.dashboard.pages.crm_shared import (
    base_url,
    contact_choices,
    dates,
    filled,
    not_found,
    paging,
    rows,
    search_term,
)
from isao.dashboard.pages.crm_shared import pages as page_count
from isao.dashboard.roles import AsOperator
from isao.dashboard.session import CurrentViewer, Db
from isao.dashboard.web import done_flashes, form_values, redirect, render, validate
from isao.db import Database

router = APIRouter()

STATUSES = [("", "Any status"), ("open", "Open"), ("won", "Won"), ("lost", "Lost")]
PRIORITIES = [("low", "Low"), ("medium", "Medium"), ("high", "High")]
DONE = {"created": "Deal created", "moved": "Deal moved"}


@router.get("/crm/deals")
def deal_list(
    request: Request,
    viewer: CurrentViewer,
    database: Db,
    search: str | None = None,
    status: str | None = None,
    stage: str | None = None,
    contact: str | None = None,
    page: str | None = None,
) -> Response:
    errors: dict[str, str] = {}
    term = search_term(search, errors)
    if status and status not in dict(STATUSES):
        errors["status"] = "Status must be one of: open, won, lost"
        status = None
    paged = paging(page)
    with database.read() as session:
        person = None
        if contact:
            try:
                person = contacts.get(session, viewer.company_id, contact)
            except NotFound:
                return not_found(request, "Contact", "/crm/deals")
        found, total = pages.deals(
            session,
            viewer.company_id,
            paged,
            status=status or None,
            stage=stage or None,
            contact_id=contact or None,
            search=term or None,
        )
        stages = pipeline.stages_in_use(session, viewer.company_id)
    if stage and stage not in stages:
        stages.append(stage)
    return render(
        request,
        "crm/deals.html",
        status_code=400 if errors else 200,
        title="Deals",
        deals=rows(found),
        total=total,
        page=paged.page,
        pages=page_count(total),
        base=base_url(
            "/crm/deals", search=term, status=status or "", stage=stage or "", contact=contact or ""
        ),
        statuses=STATUSES,
        stages=[("", "Any stage")] + [(name, name) for name in stages],
        contact=person,
        values={"search": search or "", "status": status or "", "stage": stage or ""},
        errors=errors,
    )


@router.get("/crm/deals/new")
def new_deal(request: Request, viewer: AsOperator, database: Db, contactId: str | None = None) -> Response:
    return _form(request, viewer.company_id, database, {"contactId": contactId or "", "currency": "EUR"}, {})


@router.post("/crm/deals/new")
async def create_deal(request: Request, viewer: AsOperator, database: Db) -> Response:
    values = await form_values(request)
    body, errors = validate(DealCreate, filled(values))
    if body is None:
        return _form(request, viewer.company_id, database, values, errors)
    try:
        with database.write() as session:
            deal_id = deals.create(session, viewer.company_id, body).id
    except BadReference as exc:
        return _form(request, viewer.company_id, database, values, {"contactId": str(exc)})
    return redirect(f"/crm/deals/{deal_id}?done=created")


@router.get("/crm/deals/{deal_id}")
def deal_page(
    request: Request, viewer: CurrentViewer, database: Db, deal_id: str, done: str | None = None
) -> Response:
    with database.read() as session:
        try:
            deal = dates(serialize.deal(deals.get(session, viewer.company_id, deal_id)))
        except NotFound:
            return not_found(request, "Deal", "/crm/deals")
        entries = history.deal_history(session, viewer.company_id, deal_id)
        targets = pipeline.targets(session, viewer.company_id)
    here = f"status:{deal['status']}" if deal["status"] != "open" else f"stage:{deal['stage'] or ''}"
    return render(
        request,
        "crm/deal.html",
        title=deal["title"],
        deal=deal,
        history=entries,
        targets=[target for target in targets if target[0] != here],
        flashes=done_flashes(done, DONE),
    )


def _form(
    request: Request, company_id: str, database: Database, values: dict[str, str], errors: dict[str, str]
) -> Response:
    with database.read() as session:
        choices = contact_choices(session, company_id, keep=values.get("contactId") or None)
        stages = pipeline.stages_in_use(session, company_id)
    return render(
        request,
        "crm/deal_form.html",
        status_code=400 if errors else 200,
        title="New deal",
        values=values,
        errors=errors,
        contacts=choices,
        stages=stages,
        statuses=STATUSES[1:],
        priorities=PRIORITIES,
    )
