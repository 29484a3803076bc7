"""Mounting the dashboard on the server: its pages, static files, sessions and error pages."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from isao.dashboard import pages
from isao.dashboard.roles import Forbidden
from isao.dashboard.session import CsrfFailed, DashboardSessions, LoginRequired
from isao.dashboard.throttle import LoginThrottle
from isao.dashboard.web import HERE, is_htmx, problem, redirect


def mount(app: FastAPI, *, https_only: bool = False) -> None:
    app.state.login_throttle = LoginThrottle()
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _: LoginRequired) -> Response:
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect("/login?" + urlencode({"next": target}))

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, _: CsrfFailed) -> Response:
        message = "The page was open too long or came from elsewhere. Reload it and try again."
        return problem(request, 403, "This form has expired", message, request.url.path)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, refused: Forbidden) -> Response:
        message = (
            f"Your role, {refused.role}, cannot do this: it needs {refused.needed} or above. "
            "Ask an owner or admin of your company."
        )
        return problem(request, 403, "Not allowed for your role", message, "/")

    app.add_middleware(DashboardSessions, https_only=https_only)
