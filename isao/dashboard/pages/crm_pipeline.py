"""The pipeline board and moving a deal between its columns.

A move is a plain form post (see-other back to the board or the deal) that htmx enhances: then the
answer is the board alone, swapped in place. htmx leaves error answers unswapped, so for htmx a refused
move is the board with the message, status 200.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from isao.crm import deals, pipeline
from isao.crm.errors import Invalid, NotFound
from isao.dashboard.pages.crm_shared import not_found
from isao.dashboard.roles import AsOperator
from isao.dashboard.session import CurrentViewer, Db
from isao.dashboard.web import form_values, is_htmx, problem, redirect, render
from isao.db import Database

router = APIRouter()


@router.get("/crm/pipeline")
def board_page(
    request: Request,
    viewer: CurrentViewer,
    database: Db,
    closed: str | None = None,
    done: str | None = None,
    moved: str | None = None,
) -> Response:
    show_closed = closed == "1"
    context = _board(database, viewer.company_id, show_closed)
    message = _moved(database, viewer.company_id, moved) if done == "moved" and moved else None
    flashes = [("ok", message)] if message else []
    return render(request, "crm/pipeline.html", title="Pipeline", flashes=flashes, moved=moved, **context)


@router.post("/crm/deals/{deal_id}/move")
async def move_deal(request: Request, viewer: AsOperator, database: Db, deal_id: str) -> Response:
    values = await form_values(request)
    show_closed = values.get("closed") == "1"
    on_board = values.get("from") != "deal"
    htmx = is_htmx(request) and on_board
    try:
        with database.write() as session:
            pipeline.move(session, viewer.company_id, deal_id, values.get("to", ""))
    except NotFound:
        if htmx:
            return _fragment(
                request, database, viewer.company_id, show_closed, error="That deal no longer exists"
            )
        return not_found(request, "Deal", "/crm/pipeline")
    except Invalid as exc:
        message = exc.details["to"]
        if htmx:
            return _fragment(request, database, viewer.company_id, show_closed, error=message)
        back = "/crm/pipeline" if on_board else f"/crm/deals/{deal_id}"
        return problem(request, 400, "Not moved", message, back)
    if htmx:
        done = _moved(database, viewer.company_id, deal_id)
        return _fragment(request, database, viewer.company_id, show_closed, message=done, moved=deal_id)
    if not on_board:
        return redirect(f"/crm/deals/{deal_id}?done=moved")
    return redirect(f"/crm/pipeline?done=moved&moved={deal_id}" + ("&closed=1" if show_closed else ""))


def _board(database: Database, company_id: str, closed: bool) -> dict[str, Any]:
    with database.read() as session:
        columns = pipeline.board(session, company_id, closed=closed)
        targets = pipeline.targets(session, company_id)
    return {"columns": columns, "targets": targets, "closed": closed}


def _fragment(
    request: Request,
    database: Database,
    company_id: str,
    closed: bool,
    *,
    message: str | None = None,
    error: str | None = None,
    moved: str | None = None,
) -> Response:
    context = _board(database, company_id, closed)
    return render(
        request,
        "crm/_board.html",
        message=message,
        error=error,
        moved=moved,
        focus=moved is not None,
        **context,
    )


def _moved(database: Database, company_id: str, deal_id: str) -> str | None:
    """``Moved “Big order” to negotiation``: where the deal is now, read back from the database."""
    with database.read() as session:
        try:
            deal = deals.get(session, company_id, deal_id)
        except NotFound:
            return None
        where = (deal.stage or "No stage") if deal.status == "open" else deal.status.capitalize()
        return f"Moved “{deal.title}” to {where}"
