"""Activity: the live feed of events and jobs, one event's whole story, one job's attempts."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.responses import Response

from isao import connections
from isao.dashboard import feed, story
from isao.dashboard.session import CurrentViewer, Db
from isao.dashboard.web import not_found, render, validate
from isao.db.models import Connection

router = APIRouter()

TYPES = [("", "Events and jobs"), ("event", "Events only"), ("job", "Jobs only")]
WINDOWS = [("", "Any time"), ("15m", "Last 15 minutes"), ("1h", "Last hour"), ("24h", "Last 24 hours"),
           ("7d", "Last 7 days")]  # fmt: skip
_FILTERS = ("type", "provider", "connection", "status", "kind", "q", "window")


class Filters(BaseModel):
    """The feed's GET form; the provider, connection and kind are checked against the company's own."""

    type: Literal["", "event", "job"] = ""
    provider: str = Field("", max_length=40)
    connection: str = Field("", max_length=40)
    status: Literal["", "queued", "running", "done", "dead", "discarded"] = ""
    kind: str = Field("", max_length=64)
    q: str = Field("", max_length=100)
    window: Literal["", "15m", "1h", "24h", "7d"] = ""
    page: int = Field(1, ge=1, le=100_000)


def _choices(
    session: Session, company_id: str, rows: Sequence[Connection], registered: list[str]
) -> dict[str, list[tuple[str, str]]]:
    providers = sorted({row.provider for row in rows})
    kinds = sorted(set(registered) | set(feed.kinds(session, company_id)))
    return {
        "providers": [(name, name) for name in providers],
        "connections": [(row.id, f"{row.name} ({row.provider})") for row in rows],
        "kinds": [(name, name) for name in kinds],
    }


def _query(filters: Filters, rows: Sequence[Connection]) -> feed.Query:
    chosen: frozenset[str] | None = None
    if filters.provider or filters.connection:
        chosen = frozenset(
            row.id
            for row in rows
            if (not filters.provider or row.provider == filters.provider)
            and (not filters.connection or row.id == filters.connection)
        )
    return feed.Query(
        filters.type,
        chosen,
        filters.status,
        filters.kind,
        filters.q.strip(),
        filters.window,
    )


def _check(values: dict[str, str], choices: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    errors = {}
    for name, key, message in (
        ("provider", "providers", "Choose a provider of one of your connections"),
        ("connection", "connections", "Choose one of your connections"),
        ("kind", "kinds", "Choose a job kind from the list"),
    ):
        value = values.get(name)
        if value and value not in {option for option, _ in choices[key]}:
            errors[name] = message
    return errors


def _stamp(items: list[feed.Item], total: int) -> str:
    """What the feed shows, in a few characters: an unchanged poll is answered 204 and nothing is swapped."""
    seen = [(i.id, i.at.isoformat(), i.status, i.attempts) for i in items]
    return hashlib.sha256(repr((total, seen)).encode()).hexdigest()[:16]


def _feed(request: Request, viewer: CurrentViewer, database: Db, fragment: bool) -> Response:
    values = {key: value for key, value in request.query_params.items() if key in (*_FILTERS, "page")}
    runtime = request.app.state.runtime
    with database.read() as session:
        rows = connections.list_(session, viewer.company_id)
        choices = _choices(session, viewer.company_id, rows, list(runtime.registry.kinds))
        filters, errors = validate(Filters, values)
        errors = _check(values, choices) | errors
        items: list[feed.Item] = []
        total = 0
        if filters is not None and not errors:
            items, total = feed.page(session, viewer.company_id, _query(filters, rows), filters.page)
        names = {row.id: row.name for row in rows}
    kept = {key: values[key] for key in _FILTERS if values.get(key)}
    query = urlencode(kept)
    stamp = _stamp(items, total)
    if fragment and request.query_params.get("seen") == stamp and not errors:
        return Response(status_code=204)
    page = filters.page if filters is not None else 1
    context: dict[str, Any] = {
        "title": "Activity",
        "values": values,
        "errors": errors,
        "items": items,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // feed.PAGE)),
        "names": names,
        "query": query,
        "poll": urlencode({**kept, "page": page, "seen": stamp}),
        "types": TYPES,
        "windows": WINDOWS,
        "statuses": [("", "Any status")] + [(s, s) for s in feed.STATUSES],
        **choices,
    }
    status = 400 if errors else 200
    name = "activity/_feed.html" if fragment else "activity/index.html"
    return render(request, name, status_code=status, **context)


@router.get("/activity")
def page(request: Request, viewer: CurrentViewer, database: Db) -> Response:
    return _feed(request, viewer, database, fragment=False)


@router.get("/activity/feed")
def feed_fragment(request: Request, viewer: CurrentViewer, database: Db) -> Response:
    """The feed alone, for htmx polling every 2 s with the page's filters."""
    return _feed(request, viewer, database, fragment=True)


def _missing(request: Request, what: str) -> Response:
    return not_found(
        request, what, "/activity", f"There is no such {what.lower()} in your company's activity."
    )


@router.get("/activity/events/{event_id}")
def event_page(request: Request, event_id: str, viewer: CurrentViewer, database: Db) -> Response:
    with database.read() as session:
        found = story.event(session, viewer.company_id, event_id)
    if found is None:
        return _missing(request, "Event")
    title = f"Event {found.topic or found.id}"
    return render(request, "activity/event.html", title=title, event=found)


@router.get("/activity/jobs/{job_id}")
def job_page(request: Request, job_id: str, viewer: CurrentViewer, database: Db) -> Response:
    with database.read() as session:
        found = story.job(session, viewer.company_id, job_id)
    if found is None:
        return _missing(request, "Job")
    return render(request, "activity/job.html", title=f"Job {found.kind}", job=found)
