"""What every sandbox has: its store, its fault gate, its webhook outbox, and the ``/_sandbox`` admin
endpoints (faults, stats, deliveries, reset). A provider subclass adds its routes and says how a fault
looks on its wire."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import orjson
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from isao.sandbox.faults import FaultGate, Faults, Verdict
from isao.sandbox.kit.answers import Fail
from isao.sandbox.outbox import Outbox
from isao.sandbox.store import Store

ADMIN_PREFIX = "/_sandbox"


class Sandbox:
    """Subclasses set ``name`` and ``default_port`` and implement ``routes`` and ``fault_response``."""

    name: ClassVar[str]
    default_port: ClassVar[int]
    family: ClassVar[str | None] = None
    """Sandboxes of one family started together share what ``new_shared`` makes (``runner.build``)."""

    def __init__(self, *, store_path: str | Path | None = None, faults: Faults | None = None) -> None:
        self.store = Store(store_path)
        self.gate = FaultGate(faults)
        self.outbox = Outbox()
        self.base_url = f"http://127.0.0.1:{self.default_port}"
        """Where this sandbox is reachable (set by whoever serves it); used in links and webhook sources."""

    @staticmethod
    def new_shared() -> Any:
        raise NotImplementedError

    # --- what a provider implements ---------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    def fault_response(self, request: Request, verdict: Verdict) -> Response:
        """The provider's 429 (with its headers), 5xx or 504 for an injected fault."""
        raise NotImplementedError

    def exempt(self, request: Request) -> bool:
        """Requests that faults never touch (override to add e.g. the OAuth token endpoint)."""
        return request.url.path.startswith(ADMIN_PREFIX)

    def is_search(self, request: Request) -> bool:
        """Requests that count against the separate search ceiling."""
        return False

    def extra_headers(self, request: Request) -> dict[str, str]:
        """Headers added to every non-exempt answer (e.g. HubSpot's ``X-HubSpot-RateLimit-*``)."""
        return {}

    def answer(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        """A JSON answer as this provider encodes it (override for its media type or encoder)."""
        return Response(orjson.dumps(body), status, headers, media_type="application/json")

    def credentials(self) -> dict[str, str]:
        """What a user needs to connect to this sandbox, printed by ``isao sandbox up``."""
        return {}

    def reset(self) -> None:
        """Forget every record (subclasses also re-create their fixtures, e.g. pipelines)."""
        self.store.clear()

    # --- the app ----------------------------------------------------------------------------------

    def app(self) -> Starlette:
        admin = [
            Route(f"{ADMIN_PREFIX}/faults", self._get_faults, methods=["GET"]),
            Route(f"{ADMIN_PREFIX}/faults", self._put_faults, methods=["PUT", "POST"]),
            Route(f"{ADMIN_PREFIX}/stats", self._stats, methods=["GET"]),
            Route(f"{ADMIN_PREFIX}/deliveries", self._deliveries, methods=["GET"]),
            Route(f"{ADMIN_PREFIX}/reset", self._reset, methods=["POST"]),
        ]
        app = Starlette(routes=admin + self.routes(), lifespan=self._lifespan)
        app.add_exception_handler(Fail, self._on_fail)
        app.add_middleware(_FaultMiddleware, sandbox=self)
        return app

    async def _on_fail(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Fail)
        return self.answer(exc.body, exc.status, exc.headers)

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.outbox.start()
        try:
            yield
        finally:
            await self.outbox.stop()

    async def _get_faults(self, request: Request) -> Response:
        return JSONResponse(self.gate.faults.model_dump())

    async def _put_faults(self, request: Request) -> Response:
        """Merge the given knobs into the current ones (``{}`` keeps them, ``POST /reset`` clears them)."""
        try:
            changes = await request.json()
            faults = Faults.model_validate(self.gate.faults.model_dump() | dict(changes))
        except (ValueError, TypeError, ValidationError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        self.gate.configure(faults)
        return JSONResponse(faults.model_dump())

    async def _stats(self, request: Request) -> Response:
        counts = {name: self.store.count(name) for name in self.store.collections()}
        return JSONResponse({"faults": self.gate.stats, "records": counts})

    async def _deliveries(self, request: Request) -> Response:
        return JSONResponse([delivery.as_dict() for delivery in self.outbox.deliveries])

    async def _reset(self, request: Request) -> Response:
        await self.outbox.drain()
        self.reset()
        self.outbox.deliveries.clear()
        self.gate.configure(Faults())
        return JSONResponse({"reset": True})


class _FaultMiddleware:
    """Pure ASGI, so streaming and lifespan pass through untouched."""

    def __init__(self, app: Callable[..., Awaitable[None]], sandbox: Sandbox) -> None:
        self.app, self.sandbox = app, sandbox

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if self.sandbox.exempt(request):
            await self.app(scope, receive, send)
            return
        verdict = self.sandbox.gate.check(search=self.sandbox.is_search(request))
        if verdict is not None:
            if verdict.kind == "timeout":
                await asyncio.sleep(self.sandbox.gate.faults.timeout_seconds)
            response = self.sandbox.fault_response(request, verdict)
            await response(scope, receive, send)
            return
        extra = self.sandbox.extra_headers(request)

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and extra:
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.lower().encode(), v.encode()) for k, v in extra.items()),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
