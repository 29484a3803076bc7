"""Settings, and the people who log in to the dashboard: add one with a role, change roles, remove.

A new login's password is typed by the admin or generated, and shown once: ISAO stores only its hash.
Owners give any role; admins give up to admin and leave owners alone; a company always keeps an owner.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from isao.dashboard import admins
from isao.dashboard.roles import DESCRIPTIONS, ROLES, AsAdmin, audited, grantable
from isao.dashboard.session import CurrentViewer, Db, Viewer
from isao.dashboard.web import (
    NO_STORE,
    confirm,
    confirmed,
    done_flashes,
    form_values,
    not_found,
    redirect,
    render,
)
from isao.db import Database

router = APIRouter()

DONE = {"role": "Role changed.", "removed": "User removed: their sessions end at their next click."}


@router.get("/settings")
def hub(request: Request, viewer: CurrentViewer) -> Response:
    return render(request, "settings/index.html", title="Settings")


def _people(database: Database, viewer: Viewer) -> list[dict[str, Any]]:
    with database.read() as session:
        return [
            {
                "id": row.id,
                "email": row.email,
                "role": row.role,
                "created_at": row.created_at,
                "last_login_at": row.last_login_at,
                "you": row.id == viewer.admin_id,
                "changeable": row.role in grantable(viewer.role),
            }
            for row in admins.of_company(session, viewer.company_id)
        ]


def _page(
    request: Request, database: Database, viewer: Viewer, *, status_code: int = 200,
    values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
    flashes: list[tuple[str, str]] | None = None, created: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    choices = [(role, f"{role}: {DESCRIPTIONS[role]}") for role in grantable(viewer.role)]
    return render(
        request,
        "settings/users.html",
        status_code=status_code,
        headers=NO_STORE if created else None,
        title="Users",
        people=_people(database, viewer),
        roles=ROLES,
        choices=choices,
        grantable=grantable(viewer.role),
        descriptions=DESCRIPTIONS,
        values=values or {"role": "viewer"},
        errors=errors or {},
        flashes=flashes or [],
        created=created,
    )


@router.get("/settings/users")
def index(request: Request, viewer: AsAdmin, database: Db, done: str | None = None) -> Response:
    return _page(request, database, viewer, flashes=done_flashes(done, DONE))


@router.post("/settings/users")
async def add(request: Request, viewer: AsAdmin, database: Db) -> Response:
    values = await form_values(request)
    email, role = values.get("email", "").strip(), values.get("role", "")
    password = values.get("password", "") or secrets.token_urlsafe(12)
    if role not in grantable(viewer.role):
        errors = {"role": f"Choose one of {', '.join(grantable(viewer.role))}"}
        return _page(request, database, viewer, status_code=400, values=values, errors=errors)
    try:
        await run_in_threadpool(_create, database, viewer, email, password, role)  # scrypt: off the loop
    except admins.AdminError as exc:
        return _page(request, database, viewer, status_code=400, values=values, errors={exc.field: str(exc)})
    created = {"email": email.lower(), "role": role, "password": password}
    flashes = [("ok", f"Added {email.lower()} as {role}.")]
    return _page(request, database, viewer, flashes=flashes, created=created)


def _create(database: Database, viewer: Viewer, email: str, password: str, role: str) -> None:
    with database.write() as session:
        row = admins.create(session, viewer.company_id, email, password, role)
        audited(session, viewer, "user.created", f"Added {row.email} as {role}", target=("user", row.id))


def _theirs(
    request: Request, database: Database, viewer: Viewer, admin_id: str
) -> tuple[str, str] | Response:
    """(email, role) of a login of the viewer's company that the viewer may change, else why not."""
    with database.read() as session:
        row = admins.get(session, viewer.company_id, admin_id)
        found = (row.email, row.role) if row else None
    if found is None:
        return not_found(request, "User", "/settings/users")
    if found[1] not in grantable(viewer.role):
        message = f"{found[0]} is an owner: only an owner changes or removes an owner."
        return _page(request, database, viewer, status_code=403, flashes=[("error", message)])
    return found


@router.post("/settings/users/{admin_id}/role")
async def change_role(request: Request, viewer: AsAdmin, database: Db, admin_id: str) -> Response:
    values = await form_values(request)
    found = _theirs(request, database, viewer, admin_id)
    if isinstance(found, Response):
        return found
    role = values.get("role", "")
    if role not in grantable(viewer.role):
        message = f"You can give these roles: {', '.join(grantable(viewer.role))}"
        return _page(request, database, viewer, status_code=400, flashes=[("error", message)])
    try:
        with database.write() as session:
            row = admins.get(session, viewer.company_id, admin_id)
            assert row is not None
            before = row.role
            admins.set_role(session, row, role)
            audited(
                session,
                viewer,
                "user.role_changed",
                f"{row.email}: {before} → {role}",
                target=("user", row.id),
            )
    except admins.AdminError as exc:
        return _page(request, database, viewer, status_code=400, flashes=[("error", str(exc))])
    return redirect("/settings/users?done=role")


@router.post("/settings/users/{admin_id}/remove")
async def remove(request: Request, viewer: AsAdmin, database: Db, admin_id: str) -> Response:
    found = _theirs(request, database, viewer, admin_id)
    if isinstance(found, Response):
        return found
    if admin_id == viewer.admin_id:
        message = "You cannot remove yourself: ask another owner or admin."
        return _page(request, database, viewer, status_code=400, flashes=[("error", message)])
    if not confirmed(await form_values(request)):
        return confirm(
            request,
            f"Remove {found[0]}?",
            f"{found[0]} ({found[1]}) can no longer log in; their open sessions end at their next click. "
            "What they did stays in the audit log.",
            action=f"/settings/users/{admin_id}/remove",
            button="Remove user",
            cancel="/settings/users",
        )
    try:
        with database.write() as session:
            row = admins.get(session, viewer.company_id, admin_id)
            if row is not None:
                audited(
                    session,
                    viewer,
                    "user.removed",
                    f"Removed {row.email} ({row.role})",
                    target=("user", row.id),
                )
                admins.remove(session, row)
    except admins.AdminError as exc:
        return _page(request, database, viewer, status_code=400, flashes=[("error", str(exc))])
    return redirect("/settings/users?done=removed")
