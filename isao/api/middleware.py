"""Pure ASGI middleware (no per-request task switching, unlike BaseHTTPMiddleware)."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from isao.api import hooks

PREFIX = "/api/external"
_ALIASED = ("/test", "/contacts", "/deals", "/webhooks")


class ExternalApiMiddleware:
    """Serves webhook deliveries (``POST /hooks/{id}``) ahead of FastAPI's routing, adds the rate-limit
    headers to answers, and serves ``/contacts`` etc. as ``/api/external/contacts``.

    The alias exists for clients that join a base URL with a leading-slash path the RFC 3986 way
    (Guzzle's ``base_uri``, as in the seed's PHP example): they reach ``/test`` instead of
    ``/api/external/test``. Only requests with a Bearer token are aliased, so the dashboard's
    pages at the root stay free.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if b"%00" in scope.get("query_string", b"") or "\x00" in path:
            await _refuse_nul(send)
            return
        connection_id = hooks.connection_of(scope)
        if connection_id is not None:
            await hooks.serve(scope, receive, send, connection_id)
            return
        if not path.startswith(PREFIX) and path.startswith(_ALIASED) and _has_bearer(scope):
            scope = dict(scope, path=PREFIX + path, raw_path=PREFIX.encode() + scope.get("raw_path", b""))
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = state.get("ratelimit_headers")
                if extra:
                    headers = list(message.get("headers", []))
                    present = {name.lower() for name, _ in headers}
                    for name, value in extra.items():
                        if name.lower().encode() not in present:
                            headers.append((name.lower().encode(), value.encode()))
                    message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _has_bearer(scope: Scope) -> bool:
    return any(
        name == b"authorization" and value[:7].lower() == b"bearer " for name, value in scope["headers"]
    )


async def _refuse_nul(send: Send) -> None:
    """NUL cannot be stored in PostgreSQL text; refuse it up front in the documented 422 shape."""
    body = (
        b'{"success":false,"error":"Validation failed",'
        b'"details":{"query":"The URL must not contain NUL characters"}}'
    )
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 422, "headers": headers})
    await send({"type": "http.response.body", "body": body})
