"""Deals endpoints, as the Deals API reference documents them (plus full update and delete)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from isao.api import params
from isao.api.auth import DealsRead, DealsWrite
from isao.api.routes import records
from isao.api.schemas import DealOut, errors, many, success
from isao.crm import deals, pages, serialize
from isao.crm.schemas import DealCreate, DealStatusUpdate, DealUpdate

router = APIRouter(prefix="/deals", tags=["Deals"])


def _create(session: Session, company_id: str, body: DealCreate) -> dict[str, Any]:
    return serialize.deal(deals.create(session, company_id, body))


DEAL = records.Kind(
    "deal", DealOut, DealsRead, DealsWrite, _create, deals.get, deals.update, deals.delete, serialize.deal
)


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
    return records.page_of(
        request, caller, pages.deals, paging, createdSince, updatedSince, status=status, stage=stage,
        contact_id=contactId,
    )  # fmt: skip


records.create(router, DEAL, DealCreate)
records.get(router, DEAL)
records.update(
    router, DEAL, DealStatusUpdate, what="status",
    summary="Update a deal's status, stage, probability or close date",
)  # fmt: skip
records.update(router, DEAL, DealUpdate)
records.delete(router, DEAL, summary="Delete a deal")
