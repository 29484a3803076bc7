"""Overview (being built)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from isao.dashboard.web import render

router = APIRouter()


@router.get("/")
def page(request: Request) -> Response:
    return render(request, "overview/index.html", title="Overview")
