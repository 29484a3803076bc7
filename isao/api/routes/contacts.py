"""Contacts endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from isao.api import params
from isao.api.auth import ContactsRead, ContactsWrite
from isao.api.routes import records
from isao.api.schemas import ContactOut, errors, many, success
from isao.crm import contacts, pages, serialize
from isao.crm.schemas import ContactCreate, ContactUpdate

router = APIRouter(prefix="/contacts", tags=["Contacts"])
CONTACT = records.Kind(
    "contact", ContactOut, ContactsRead, ContactsWrite, contacts.create, contacts.get, contacts.update,
    contacts.delete, serialize.contact, conflicts=(409,),
)  # fmt: skip


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
    return records.page_of(
        request,
        caller,
        pages.contacts,
        paging,
        createdSince,
        updatedSince,
        search=search,
        email=email,
        tag=tag,
    )


records.create(router, CONTACT, ContactCreate)
records.get(router, CONTACT)
records.update(router, CONTACT, ContactUpdate)
records.delete(router, CONTACT, summary="Delete a contact (its deals stay, unlinked)")
