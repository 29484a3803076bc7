"""Contacts endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from isao.api import params
from isao.api.auth import ContactsRead, ContactsWrite
from isao.api.responses import ok, ok_page, page_meta
from isao.api.schemas import ContactOut, Deleted, errors, many, one, success
from isao.crm import contacts, pages, serialize
from isao.crm.schemas import ContactCreate, ContactUpdate

router = APIRouter(prefix="/contacts", tags=["Contacts"])


@router.get(
    "",
    summary="List contacts",
    response_model=None,
    responses={200: success(many(ContactOut), "A page of contacts, newest first by default"), **errors()},
)
def list_contacts(
    request: Request,
    caller: ContactsRead,
    page: params.PageNo = 1,
    limit: params.Limit = 50,
    sort: params.SortParam = "-createdAt",
    search: Annotated[
        str | None, Query(max_length=200, description="Matches name, email, phone or company")
    ] = None,
    email: Annotated[str | None, Query(max_length=320, description="Exact email, case-insensitive")] = None,
    tag: Annotated[str | None, Query(max_length=100, description="Contacts carrying this tag")] = None,
    createdSince: params.Since = None,
    updatedSince: params.Since = None,
) -> Response:
    paging = params.page(page, limit, sort)
    created, updated = params.since("createdSince", createdSince), params.since("updatedSince", updatedSince)
    with request.app.state.db.read() as session:
        data, total = pages.contacts(
            session,
            caller.company_id,
            paging,
            search=search,
            email=email,
            tag=tag,
            created_since=created,
            updated_since=updated,
        )
    return ok_page(data, page_meta(paging, total))


@router.get(
    "/{contact_id}",
    summary="Get a contact",
    response_model=None,
    responses={200: success(one(ContactOut), "The contact"), **errors(404)},
)
def get_contact(request: Request, caller: ContactsRead, contact_id: str) -> Response:
    with request.app.state.db.read() as session:
        return ok(serialize.contact(contacts.get(session, caller.company_id, contact_id)))


@router.post(
    "",
    summary="Create a contact",
    status_code=201,
    response_model=None,
    responses={201: success(one(ContactOut), "Created"), **errors(400, 409)},
)
def create_contact(request: Request, caller: ContactsWrite, body: ContactCreate) -> Response:
    with request.app.state.db.write() as session:
        data = contacts.create(session, caller.company_id, body)
    return ok(data, status_code=201)


@router.put(
    "/{contact_id}",
    summary="Update a contact (fields left out keep their value)",
    response_model=None,
    responses={200: success(one(ContactOut), "Updated"), **errors(400, 404, 409)},
)
def update_contact(request: Request, caller: ContactsWrite, contact_id: str, body: ContactUpdate) -> Response:
    with request.app.state.db.write() as session:
        data = serialize.contact(contacts.update(session, caller.company_id, contact_id, body))
    return ok(data)


@router.delete(
    "/{contact_id}",
    summary="Delete a contact (its deals stay, unlinked)",
    response_model=None,
    responses={200: success(one(Deleted), "Deleted"), **errors(404)},
)
def delete_contact(request: Request, caller: ContactsWrite, contact_id: str) -> Response:
    with request.app.state.db.write() as session:
        contacts.delete(session, caller.company_id, contact_id)
    return ok({"id": contact_id, "deleted": True})
