"""Log in and out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from isao.dashboard import admins
from isao.dashboard.session import Db, log_in, log_out
from isao.dashboard.web import form_values, redirect, render

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
    if not errors:
        with database.write() as session:
            admin = admins.authenticate(session, email, password)
            if admin is not None:
                log_in(request, admin)
                return redirect(_safe_next(values.get("next")))
        errors["form"] = "That email and password do not match an admin of this installation"
    return render(
        request,
        "login.html",
        status_code=400,
        next=_safe_next(values.get("next")),
        values={"email": email},
        errors=errors,
    )


@router.post("/logout")
def logout(request: Request) -> Response:
    log_out(request)
    return redirect("/login")
