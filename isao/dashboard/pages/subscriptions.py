"""ISAO's own webhook subscriptions (what ``POST /webhooks/subscribe`` makes): list them with how their
deliveries go, add one (its signing secret shown once), delete one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from isao.crm import webhooks
from isao.crm.errors import Invalid, NotFound
from isao.crm.events import EVENT_TYPES
from isao.dashboard.roles import AsAdmin, audited
from isao.dashboard.session import Db, Viewer
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

DONE = {"deleted": "Subscription deleted: nothing more is delivered to it."}


def _page(
    request: Request, database: Database, viewer: Viewer, *, status_code: int = 200,
    values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
    flashes: list[tuple[str, str]] | None = None, secret: str | None = None,
) -> Response:  # fmt: skip
    with database.read() as session:
        rows = list(webhooks.list_(session, viewer.company_id))
        for row in rows:
            session.expunge(row)
    events = [("", "Choose an event")] + [(event, event) for event in EVENT_TYPES]
    return render(
        request,
        "settings/webhooks.html",
        status_code=status_code,
        headers=NO_STORE if secret else None,
        title="Webhook subscriptions",
        rows=rows,
        events=events,
        values=values or {},
        errors=errors or {},
        flashes=flashes or [],
        secret=secret,
    )


@router.get("/settings/webhooks")
def index(request: Request, viewer: AsAdmin, database: Db, done: str | None = None) -> Response:
    return _page(request, database, viewer, flashes=done_flashes(done, DONE))


@router.post("/settings/webhooks")
async def subscribe(request: Request, viewer: AsAdmin, database: Db) -> Response:
    values = await form_values(request)
    event, target = values.get("event", ""), values.get("target_url", "").strip()
    allow_private = request.app.state.settings.allow_private_webhook_targets
    try:
        with database.write() as session:
            row, secret = webhooks.subscribe(
                session, viewer.company_id, event, target, allow_private=allow_private
            )
            audited(
                session,
                viewer,
                "webhook.subscribed",
                f"Subscribed {target} to {event}",
                target=("webhook", row.id),
            )
    except Invalid as exc:
        return _page(request, database, viewer, status_code=400, values=values, errors=dict(exc.details))
    flashes = [("ok", f"Subscribed {target} to {event}. Copy the signing secret now: it is not shown again.")]
    return _page(request, database, viewer, flashes=flashes, secret=secret)


@router.post("/settings/webhooks/{subscription_id}/delete")
async def delete(request: Request, viewer: AsAdmin, database: Db, subscription_id: str) -> Response:
    with database.read() as session:
        row = next((w for w in webhooks.list_(session, viewer.company_id) if w.id == subscription_id), None)
        found = (row.event, row.target_url) if row else None
    if found is None:
        return not_found(request, "Webhook subscription", "/settings/webhooks")
    if not confirmed(await form_values(request)):
        return confirm(
            request,
            "Delete this subscription?",
            f"{found[1]} stops receiving {found[0]} events, including deliveries waiting for a retry.",
            action=f"/settings/webhooks/{subscription_id}/delete",
            button="Delete subscription",
            cancel="/settings/webhooks",
        )
    try:
        with database.write() as session:
            webhooks.delete(session, viewer.company_id, subscription_id)
            audited(
                session,
                viewer,
                "webhook.deleted",
                f"Deleted the subscription of {found[1]} to {found[0]}",
                target=("webhook", subscription_id),
            )
    except NotFound:
        pass  # deleted meanwhile: the same outcome
    return redirect("/settings/webhooks?done=deleted")
