"""Deals endpoints, as the Deals API reference documents them (plus full update and delete)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from isao.api import params
from isao.api.auth import DealsRead, DealsWrite
from isao.api.responses import ok, ok_page, page_meta
from isao.api.schemas import DealOut, Deleted, errors, many, one, success
from isao.crm import deals, pages, serialize
from isao.crm.schemas import DealCreate, DealStatusUpdate, DealUpdate

router = APIRouter(prefix="/deals", tags=["Deals"])


@router.get(
    "",
    summary="List deals",
    response_model=None,
    responses={200: success(many(DealOut), "A page of deals, newest first by default"), **errors()},
)
def list_deals(
    request: Request,
    caller: DealsRead,
    page: params.PageNo = 1,
    limit: params.Limit = 50,
    sort: params.SortParam = "-createdAt",
    status: Annotated[Literal["open", "won", "lost"] | None, Query(description="open, won or lost")] = None,
    stage: Annotated[str | None, Query(max_length=100)] = None,
    contactId: Annotated[str | None, Query(max_length=64, description="Deals of this contact")] = None,
    createdSince: params.Since = None,
    updatedSince: params.Since = None,
) -> Response:
    paging = params.page(page, limit, sort)
    created, updated = params.since("createdSince", createdSince), params.since("updatedSince", updatedSince)
    with request.app.state.db.read() as session:
        data, total = pages.deals(
            session,
            caller.company_id,
            paging,
            status=status,
            stage=stage,
            contact_id=contactId,
            created_since=created,
            updated_since=updated,
        )
    return ok_page(data, page_meta(paging, total))


@router.get(
    "/{deal_id}",
    summary="Get a deal",
    response_model=None,
    responses={200: success(one(DealOut), "The deal"), **errors(404)},
)
def get_deal(request: Request, caller: DealsRead, deal_id: str) -> Response:
    with request.app.state.db.read() as session:
        return ok(serialize.deal(deals.get(session, caller.company_id, deal_id)))


@router.post(
    "",
    summary="Create a deal",
    status_code=201,
    response_model=None,
    responses={201: success(one(DealOut), "Created"), **errors(400)},
)
def create_deal(request: Request, caller: DealsWrite, body: DealCreate) -> Response:
    with request.app.state.db.write() as session:
        data = serialize.deal(deals.create(session, caller.company_id, body))
    return ok(data, status_code=201)


@router.put(
    "/{deal_id}/status",
    summary="Update a deal's status, stage, probability or close date",
    response_model=None,
    responses={200: success(one(DealOut), "Updated"), **errors(400, 404)},
)
def update_deal_status(
    request: Request, caller: DealsWrite, deal_id: str, body: DealStatusUpdate
) -> Response:
    with request.app.state.db.write() as session:
        data = serialize.deal(deals.update(session, caller.company_id, deal_id, body))
    return ok(data)


@router.put(
    "/{deal_id}",
    summary="Update a deal (fields left out keep their value)",
    response_model=None,
    responses={200: success(one(DealOut), "Updated"), **errors(400, 404)},
)
def update_deal(request: Request, caller: DealsWrite, deal_id: str, body: DealUpdate) -> Response:
    with request.app.state.db.write() as session:
        data = serialize.deal(deals.update(session, caller.company_id, deal_id, body))
    return ok(data)


@router.delete(
    "/{deal_id}",
    summary="Delete a deal",
    response_model=None,
    responses={200: success(one(Deleted), "Deleted"), **errors(404)},
)
def delete_deal(request: Request, caller: DealsWrite, deal_id: str) -> Response:
    with request.app.state.db.write() as session:
        deals.delete(session, caller.company_id, deal_id)
    return ok({"id": deal_id, "deleted": True})
