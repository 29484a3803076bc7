"""Who is looking: signed-cookie sessions, the logged-in admin, and CSRF tokens for every form.

The session cookie is Starlette's (itsdangerous-signed, HttpOnly, SameSite=Lax) with a key derived
from the secrets key. It holds only the admin's id and the CSRF token; the admin is loaded again on
each request, so deleting an admin ends their sessions at once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from isao import crypto
from isao.db import Database
from isao.db.models import Admin

COOKIE = "isao_session"
MAX_AGE = 12 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# Machine endpoints never carry a dashboard session: they skip the cookie work entirely.
_NOT_DASHBOARD = ("/api/", "/hooks/", "/metrics", "/healthz", "/docs", "/openapi.json")


class DashboardSessions:
    """Starlette's session middleware, applied to the dashboard's paths only."""

    def __init__(self, app: ASGIApp, *, https_only: bool = False) -> None:
        self.app = app
        self.sessions = SessionMiddleware(
            app,
            secret_key=crypto.derived_key("dashboard-session").hex(),
            session_cookie=COOKIE,
            max_age=MAX_AGE,
            same_site="lax",
            https_only=https_only,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(_NOT_DASHBOARD):
            await self.sessions(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class LoginRequired(Exception):
    """Raised by :func:`viewer` when nobody is logged in; answered with a redirect to the login page."""


class CsrfFailed(Exception):
    """A form or htmx request without this session's CSRF token."""


@dataclass(frozen=True)
class Viewer:
    admin_id: str
    email: str
    company_id: str
    company_name: str
    role: str
    """owner, admin, operator or viewer: what the pages let them do (``isao.dashboard.roles``)."""


def db(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def csrf_token(request: Request) -> str:
    token: str = request.session.setdefault("csrf", secrets.token_urlsafe(32))
    return token


def log_in(request: Request, admin: Admin) -> None:
    """A fresh session (new CSRF token too), so a token planted before login is worthless after."""
    request.session.clear()
    request.session["admin"] = admin.id
    csrf_token(request)


def log_out(request: Request) -> None:
    request.session.clear()


def viewer(request: Request) -> Viewer:
    cached: Viewer | None = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached
    admin_id = request.session.get("admin")
    if not admin_id:
        raise LoginRequired
    with db(request).read() as session:
        admin = session.get(Admin, admin_id)
        if admin is None:
            request.session.clear()
            raise LoginRequired
        found = Viewer(admin.id, admin.email, admin.company_id, admin.company.name, admin.role)
    request.state.viewer = found
    return found


async def check_csrf(request: Request) -> None:
    """Every state-changing request must carry the session's token, in the form or (htmx) a header."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = request.session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not given or not crypto.same(expected, given):
        raise CsrfFailed


CurrentViewer = Annotated[Viewer, Depends(viewer)]
Db = Annotated[Database, Depends(db)]
