"""Dead letters of the caller's company: inspect, replay, discard (the dashboard uses the same services)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.responses import Response

from isao.api import params
from isao.api.auth import DeadLettersRead, DeadLettersWrite
from isao.api.responses import ok, page_meta
from isao.api.schemas import errors, success
from isao.crm.errors import NotFound
from isao.crm.listing import Page
from isao.crm.schemas import Input
from isao.queue import deadletters

router = APIRouter(prefix="/dead-letters", tags=["Dead letters"])


class DeadLetterOut(BaseModel):
    id: str
    kind: str
    status: str
    attempts: int
    errorClass: str | None
    error: str | None
    companyId: str | None
    createdAt: str | None
    finishedAt: str | None


class DeadLetterDetail(DeadLetterOut):
    payload: dict[str, Any]
    inbound: dict[str, Any] | None
    request: dict[str, Any] | None
    response: dict[str, Any] | None
    history: list[dict[str, Any]]


class DeadLetterPage(BaseModel):
    success: bool
    data: list[DeadLetterOut]
    meta: dict[str, int]


class DeadLetterOne(BaseModel):
    success: bool
    data: DeadLetterDetail


class Count(BaseModel):
    success: bool
    data: dict[str, int]


class Selection(Input):
    """Which dead letters to act on: listed ``ids``, or every one matching the filters."""

    ids: Annotated[
        list[Annotated[str, Field(max_length=64)]] | None, Field(default=None, max_length=1000)
    ] = None
    kind: Annotated[str | None, Field(default=None, max_length=64)] = None
    errorClass: Annotated[str | None, Field(default=None, max_length=40)] = None


def _filter(company_id: str, selection: Selection) -> deadletters.Filter:
    return deadletters.Filter(
        company_id=company_id, kind=selection.kind, error_class=selection.errorClass, ids=selection.ids
    )


@router.get(
    "",
    summary="List dead letters",
    response_model=None,
    responses={200: success(DeadLetterPage, "Newest first"), **errors()},
)
def list_dead_letters(
    request: Request,
    caller: DeadLettersRead,
    page: params.PageNo = 1,
    limit: params.Limit = 50,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    errorClass: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    paging = Page(page, limit)
    where = deadletters.Filter(company_id=caller.company_id, kind=kind, error_class=errorClass)
    with request.app.state.db.read() as session:
        rows, total = deadletters.list_(session, where, offset=paging.offset, limit=limit)
        data = [deadletters.summary(row) for row in rows]
    return ok(data, meta=page_meta(paging, total))


@router.get(
    "/{job_id}",
    summary="One dead letter with the inbound payload, the request sent, the response and every attempt",
    response_model=None,
    responses={200: success(DeadLetterOne, "The dead letter"), **errors(404)},
)
def get_dead_letter(request: Request, caller: DeadLettersRead, job_id: str) -> Response:
    with request.app.state.db.read() as session:
        job = deadletters.get(session, job_id, caller.company_id)
        if job is None:
            raise NotFound("Dead letter")
        return ok(deadletters.detail(session, job))


def _acting(act: Callable[[Session, deadletters.Filter], int], counted: str) -> Callable[..., Response]:
    """A ``POST`` acting on the selected dead letters, answering how many it ``counted``."""

    def endpoint(request: Request, caller: DeadLettersWrite, body: Selection) -> Response:
        with request.app.state.db.write() as session:
            count = act(session, _filter(caller.company_id, body))
        return ok({counted: count})

    return endpoint


for verb, summary, counted, description, act in (
    ("replay", "Replay the selected dead letters (all of the company's matching the filters if no ids)",
     "replayed", "How many were queued again", deadletters.replay),
    ("discard", "Discard the selected dead letters (kept, marked discarded)",
     "discarded", "How many were discarded", deadletters.discard),
):  # fmt: skip
    router.post(
        f"/{verb}", name=verb, summary=summary, response_model=None,
        responses={200: success(Count, description), **errors(400)},
    )(_acting(act, counted))  # fmt: skip
