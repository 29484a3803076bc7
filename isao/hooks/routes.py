"""``POST /hooks/{connection_id}``: where providers send their webhooks."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from isao.api.responses import Json, error
from isao.api.schemas import ErrorBody
from isao.hooks.inbound import Receipt, Receiver
from isao.timeutil import utcnow

router = APIRouter(tags=["Inbound webhooks"])


class ReceiptBody(BaseModel):
    success: bool
    id: str | None = None
    jobId: str | None = None
    duplicate: bool | None = None
    ping: bool | None = None


def _answer(description: str, model: type[BaseModel] = ErrorBody) -> dict[str, Any]:
    return {"model": model, "description": description}


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _answer("A duplicate delivery (nothing new stored), or WooCommerce's set-up ping", ReceiptBody),
    202: _answer("Stored and queued", ReceiptBody),
    400: _answer("The body is not valid JSON"),
    401: _answer("Missing or invalid signature; nothing stored"),
    404: _answer("No such connection, or its provider sends no webhooks"),
    413: _answer("Body larger than ISAO_HOOK_MAX_BODY_BYTES"),
    422: _answer("Malformed request"),
}


@router.post(
    "/hooks/{connection_id}",
    summary="Receive a provider's webhook",
    description=(
        "Verifies the provider's signature on the raw body, stores the event, drops duplicates and "
        "enqueues its processing, then answers 202 (200 for a duplicate or a WooCommerce ping). "
        "401 on a bad signature (nothing stored), 400 on malformed JSON, 413 on an oversized body."
    ),
    status_code=202,
    response_model=None,
    responses=RESPONSES,
)
async def inbound_webhook(request: Request, connection_id: str) -> Response:
    limit: int = request.app.state.settings.hook_max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return error(413, "Payload too large", message=f"Bodies are limited to {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return error(413, "Payload too large", message=f"Bodies are limited to {limit} bytes")
        chunks.append(chunk)
    receiver: Receiver = request.app.state.receiver
    source = receiver.cached(connection_id) or await run_in_threadpool(receiver.load, connection_id)
    checked = receiver.check(
        source, url=str(request.url), headers=request.headers, body=b"".join(chunks), now=utcnow()
    )
    receipt = (
        checked
        if isinstance(checked, Receipt)
        else await asyncio.wrap_future(receiver.writer.submit(checked))
    )
    return Json(receipt.body, status_code=receipt.status)
