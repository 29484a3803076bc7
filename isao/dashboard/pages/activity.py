"""Activity (being built)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from isao.dashboard.web import render

router = APIRouter()


@router.get("/activity")
def page(request: Request) -> Response:
    return render(request, "activity/index.html", title="Activity")
