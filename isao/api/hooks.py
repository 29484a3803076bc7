"""``POST /hooks/{connection_id}``: where providers send their webhooks (received by ``isao.hooks``).

The hot path is plain ASGI (``serve``, dispatched by ``ExternalApiMiddleware`` before FastAPI's
routing): a webhook needs no dependency injection or validation, and skipping them halves the CPU an
acknowledgement costs. The FastAPI route below answers the same way through the same ``accept`` and
documents the endpoint in the OpenAPI schema.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL, Headers
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from isao.api.responses import Json
from isao.api.schemas import ErrorBody
from isao.hooks.inbound import Receipt, Receiver
from isao.queue.foreground import foreground
from isao.timeutil import utcnow

router = APIRouter(tags=["Inbound webhooks"])
PREFIX = "/hooks/"


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


async def accept(
    receiver: Receiver, connection_id: str, *, url: str, headers: Mapping[str, str],
    chunks: AsyncIterator[bytes], limit: int,
) -> Receipt:  # fmt: skip
    """Read the body (at most ``limit`` bytes), verify it, and answer once it is stored."""
    too_large = Receipt(413, {"success": False, "error": "Payload too large",
                              "message": f"Bodies are limited to {limit} bytes"})  # fmt: skip
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return too_large
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            return too_large
        parts.append(chunk)
    source = receiver.cached(connection_id) or await run_in_threadpool(receiver.load, connection_id)
    checked = receiver.check(source, url=url, headers=headers, body=b"".join(parts), now=utcnow())
    if isinstance(checked, Receipt):
        return checked
    return await asyncio.wrap_future(receiver.writer.submit(checked))


def connection_of(scope: Scope) -> str | None:
    """The connection id when ``scope`` is a webhook delivery (``POST /hooks/{id}``)."""
    path: str = scope["path"]
    if scope["method"] != "POST" or not path.startswith(PREFIX):
        return None
    connection_id = path[len(PREFIX) :]
    return connection_id if connection_id and "/" not in connection_id else None


async def serve(scope: Scope, receive: Receive, send: Send, connection_id: str) -> None:
    """The ASGI hot path (see the module's docstring)."""

    async def chunks() -> AsyncIterator[bytes]:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            yield message.get("body", b"")
            if not message.get("more_body", False):
                return

    state = scope["app"].state
    with foreground.serving():
        receipt = await accept(
            state.receiver, connection_id, url=str(URL(scope=scope)), headers=Headers(scope=scope),
            chunks=chunks(), limit=state.settings.hook_max_body_bytes,
        )  # fmt: skip
    body = orjson.dumps(receipt.body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": receipt.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


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
    with foreground.serving():
        receipt = await accept(
            request.app.state.receiver, connection_id, url=str(request.url), headers=request.headers,
            chunks=request.stream(), limit=request.app.state.settings.hook_max_body_bytes,
        )  # fmt: skip
    return Json(receipt.body, status_code=receipt.status)
