"""Overview: traffic and failures over the last hour or day, the queue, and each connection's health.

The counts and charts poll ``/overview/live`` every 5 s; the answer is 204 (htmx keeps the page as it
is) while nothing changed, so a screen reader hears the live region only when a number moves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from isao.dashboard import charts, health, stats
from isao.dashboard.session import CurrentViewer, Db, Viewer
from isao.dashboard.web import problem, render
from isao.db import Database
from isao.timeutil import utcnow

router = APIRouter()


def _window(request: Request) -> stats.Window | None:
    return stats.WINDOWS.get(request.query_params.get("window", "hour"))


def _live(db: Database, viewer: Viewer, window: stats.Window, now: datetime) -> dict[str, Any]:
    with db.read() as session:
        numbers = stats.throughput(session, viewer.company_id, window, now)
        queue = stats.depth(session, viewer.company_id, now)
    figures = [
        charts.bars(numbers.buckets(series), title=series.title, unit=series.unit, period=window.per,
                    tone=series.tone, labels_every=3 if window.name == "hour" else 6)
        for series in numbers.series
    ]  # fmt: skip
    return {
        "window": window,
        "windows": stats.WINDOWS.values(),
        "numbers": numbers,
        "queue": queue,
        "figures": figures,
        "now": now,
        "digest": stats.digest(numbers, queue, now),
    }


def _bad_window(request: Request) -> Response:
    message = "The overview shows the last hour (window=hour) or the last day (window=day)."
    return problem(request, 400, "Unknown time window", message)


@router.get("/")
def page(request: Request, viewer: CurrentViewer, db: Db) -> Response:
    window = _window(request)
    if window is None:
        return _bad_window(request)
    now = utcnow()
    live = _live(db, viewer, window, now)
    with db.read() as session:
        connections = health.connection_health(session, viewer.company_id, now)
    return render(request, "overview/index.html", title="Overview", connections=connections, **live)


@router.get("/overview/live")
def live(request: Request, viewer: CurrentViewer, db: Db) -> Response:
    """The live part; 204 when ``seen`` is the digest of what it would send (nothing changed)."""
    window = _window(request)
    if window is None:
        return _bad_window(request)
    context = _live(db, viewer, window, utcnow())
    if request.query_params.get("seen") == context["digest"]:
        return Response(status_code=204)
    return render(request, "overview/_live.html", oob=True, **context)
