"""API keys for the External API: create one (its token shown once, stored as a hash), revoke one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from isao.crm import keys
from isao.dashboard.roles import AsAdmin, audited
from isao.dashboard.session import Db, Viewer
from isao.dashboard.web import NO_STORE, confirm, confirmed, done_flashes, not_found, redirect, render
from isao.db import Database

router = APIRouter()

DONE = {"revoked": "Key revoked: calls with it are refused from now on."}
NAME_LENGTH = 255


def _page(
    request: Request, database: Database, viewer: Viewer, *, status_code: int = 200,
    values: dict[str, object] | None = None, errors: dict[str, str] | None = None,
    flashes: list[tuple[str, str]] | None = None, token: str | None = None,
) -> Response:  # fmt: skip
    with database.read() as session:
        rows = list(keys.list_(session, viewer.company_id))
        for row in rows:
            session.expunge(row)
    return render(
        request,
        "settings/keys.html",
        status_code=status_code,
        headers=NO_STORE if token else None,
        title="API keys",
        rows=rows,
        scopes=keys.SCOPES,
        values=values or {"scopes": list(keys.SCOPES)},
        errors=errors or {},
        flashes=flashes or [],
        token=token,
    )


@router.get("/settings/keys")
def index(request: Request, viewer: AsAdmin, database: Db, done: str | None = None) -> Response:
    return _page(request, database, viewer, flashes=done_flashes(done, DONE))


@router.post("/settings/keys")
async def create(request: Request, viewer: AsAdmin, database: Db) -> Response:
    form = await request.form()
    name = str(form.get("name") or "").strip()
    chosen = [str(value) for value in form.getlist("scopes")]
    errors = {}
    if not name:
        errors["name"] = "Enter a name that says what the key is for, e.g. zapier"
    elif len(name) > NAME_LENGTH:
        errors["name"] = f"Use at most {NAME_LENGTH} characters"
    try:
        scopes = keys.parse_scopes(",".join(chosen)) if chosen else []
    except ValueError as exc:
        errors["scopes"] = str(exc)
    else:
        if not scopes:
            errors["scopes"] = "Choose at least one scope"
    if errors:
        values: dict[str, object] = {"name": name, "scopes": chosen}
        return _page(request, database, viewer, status_code=400, values=values, errors=errors)
    with database.write() as session:
        row, token = keys.create(session, viewer.company_id, name, scopes)
        audited(
            session,
            viewer,
            "key.created",
            f"Created the API key {name} ({row.prefix}…)",
            target=("key", row.id),
            details={"scopes": scopes},
        )
    flashes = [("ok", f"Key {name} created. Copy it now: it is not shown again.")]
    return _page(request, database, viewer, flashes=flashes, token=token)


@router.post("/settings/keys/{key_id}/revoke")
async def revoke(request: Request, viewer: AsAdmin, database: Db, key_id: str) -> Response:
    with database.read() as session:
        row = next((k for k in keys.list_(session, viewer.company_id) if k.id == key_id), None)
        found = (row.name, row.prefix, row.revoked_at) if row else None
    if found is None:
        return not_found(request, "API key", "/settings/keys")
    if found[2] is not None:
        return redirect("/settings/keys?done=revoked")
    form = await request.form()
    if not confirmed(form):
        return confirm(
            request,
            f"Revoke the key {found[0]}?",
            f"Every call made with {found[1]}… is refused from now on (servers that checked it in the last "
            "few seconds may accept it until their cache expires). Whatever uses it must get a new key.",
            action=f"/settings/keys/{key_id}/revoke",
            button="Revoke key",
            cancel="/settings/keys",
        )
    with database.write() as session:
        keys.revoke(session, key_id)
        audited(
            session,
            viewer,
            "key.revoked",
            f"Revoked the API key {found[0]} ({found[1]}…)",
            target=("key", key_id),
        )
    return redirect("/settings/keys?done=revoked")
