"""Webhook subscriptions (REST hooks, as Zapier, Make and n8n use them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import Field
from starlette.responses import Response

from isao.api.auth import WebhooksRead, WebhooksWrite
from isao.api.responses import ok
from isao.api.schemas import Deleted, WebhookCreated, WebhookOut, errors, every, one, success
from isao.crm import webhooks
from isao.crm.events import EVENT_TYPES
from isao.crm.schemas import Input

router = APIRouter(prefix="/webhooks", tags=["Webhooks"])


class Subscribe(Input):
    event: Annotated[str, Field(max_length=40, description=f"One of: {', '.join(EVENT_TYPES)}")]
    target_url: Annotated[str, Field(max_length=webhooks.MAX_URL)]


@router.post(
    "/subscribe",
    summary="Subscribe a URL to an event",
    status_code=201,
    response_model=None,
    responses={201: success(one(WebhookCreated), "Subscribed; `secret` is shown only here"), **errors(400)},
)
def subscribe(request: Request, caller: WebhooksWrite, body: Subscribe) -> Response:
    allow_private = request.app.state.settings.allow_private_webhook_targets
    with request.app.state.db.write() as session:
        row, secret = webhooks.subscribe(
            session, caller.company_id, body.event, body.target_url, allow_private=allow_private
        )
        data = webhooks.serialize(row, secret)
    return ok(data, status_code=201)


@router.get(
    "",
    summary="List webhook subscriptions",
    response_model=None,
    responses={200: success(every(WebhookOut), "Subscriptions, newest first"), **errors()},
)
def list_webhooks(request: Request, caller: WebhooksRead) -> Response:
    with request.app.state.db.read() as session:
        data = [webhooks.serialize(row) for row in webhooks.list_(session, caller.company_id)]
    return ok(data)


@router.delete(
    "/{webhook_id}",
    summary="Unsubscribe (a second call answers 404)",
    response_model=None,
    responses={200: success(one(Deleted), "Deleted"), **errors(404)},
)
def unsubscribe(request: Request, caller: WebhooksWrite, webhook_id: str) -> Response:
    with request.app.state.db.write() as session:
        webhooks.delete(session, caller.company_id, webhook_id)
    return ok({"id": webhook_id, "deleted": True})
