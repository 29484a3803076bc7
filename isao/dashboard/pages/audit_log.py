"""The audit log: who did what and when, filtered by action, person and time range."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from isao.crm import audit
from isao.dashboard.roles import AsAdmin
from isao.dashboard.session import Db
from isao.dashboard.web import read_moment, render

router = APIRouter()

PAGE_SIZE = 50
_FILTERS = ("action", "actor", "since", "until")


@router.get("/settings/audit")
def index(request: Request, viewer: AsAdmin, database: Db, page: int = 1) -> Response:
    values = {key: request.query_params.get(key, "").strip() for key in _FILTERS}
    errors: dict[str, str] = {}
    moments = {}
    for key in ("since", "until"):
        try:
            moments[key] = read_moment(values[key])
        except ValueError as exc:
            errors[key] = str(exc)
    if values["action"] and values["action"] not in audit.ACTIONS:
        errors["action"] = "Choose an action from the list"
    page = max(1, min(page, 100_000))
    with database.read() as session:
        actors = audit.actors(session, viewer.company_id)
        rows, total = [], 0
        if not errors:
            where = audit.Filter(
                viewer.company_id,
                values["action"] or None,
                values["actor"] or None,
                moments.get("since"),
                moments.get("until"),
            )
            found, total = audit.list_(session, where, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
            rows = list(found)
            for row in rows:
                session.expunge(row)
    kept = {key: value for key, value in values.items() if value}
    return render(
        request,
        "settings/audit.html",
        status_code=400 if errors else 200,
        title="Audit log",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        values=values,
        errors=errors,
        actions=[("", "Any action"), *sorted(audit.ACTIONS.items(), key=lambda item: item[1])],
        actors=[("", "Anyone")] + [(name, name) for name in actors],
        labels=audit.ACTIONS,
        base="/settings/audit" + (f"?{urlencode(kept)}" if kept else ""),
    )
