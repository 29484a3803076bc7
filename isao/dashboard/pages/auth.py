"""Log in and out."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from isao.dashboard import admins
from isao.dashboard.session import Db, log_in, log_out
from isao.dashboard.throttle import LoginThrottle
from isao.dashboard.web import form_values, redirect, render
from isao.db import Database
from isao.db.models import Admin

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a path on this site: ``//evil.example`` or a full URL would make the login an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=_safe_next(next), values={}, errors={})


@router.post("/login")
async def login(request: Request, database: Db) -> Response:
    values = await form_values(request)
    email, password = values.get("email", "").strip(), values.get("password", "")
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "Enter your email"
    if not password:
        errors["password"] = "Enter your password"  # noqa: S105 (a message, not a secret)
    throttle: LoginThrottle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    status_code, headers = 400, None
    wait = throttle.wait(email, address) if not errors else 0
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        errors["form"] = f"Too many failed logins. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        status_code, headers = 429, {"Retry-After": str(math.ceil(wait))}
    elif not errors:
        admin = await run_in_threadpool(_authenticate, database, email, password)  # scrypt: off the loop
        if admin is not None:
            throttle.succeeded(email)
            log_in(request, admin)
            return redirect(_safe_next(values.get("next")))
        throttle.failed(email, address)
        errors["form"] = "That email and password do not match an admin of this installation"
    return render(
        request,
        "login.html",
        status_code=status_code,
        headers=headers,
        next=_safe_next(values.get("next")),
        values={"email": email},
        errors=errors,
    )


def _authenticate(database: Database, email: str, password: str) -> Admin | None:
    with database.write() as session:
        admin = admins.authenticate(session, email, password)
        if admin is not None:
            session.expunge(admin)
        return admin


@router.post("/logout")
def logout(request: Request) -> Response:
    log_out(request)
    return redirect("/login")
