"""The server: External API under ``/api/external``, provider webhooks at ``/hooks``, OpenAPI at
``/docs``, ``/metrics``, ``/healthz``, the dashboard at ``/``, and (by default) worker threads."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from isao import __version__, logs
from isao.api import errors, hooks
from isao.api.auth import KeyCache
from isao.api.middleware import PREFIX, ExternalApiMiddleware
from isao.api.ratelimit import RateLimiter
from isao.api.responses import Json
from isao.api.routes import contacts, deadletters, deals, meta, webhooks
from isao.config import Settings, get_settings
from isao.dashboard.app import mount as mount_dashboard
from isao.db import Database
from isao.db.migrate import upgrade
from isao.hooks.inbound import Receiver
from isao.metrics import watch_queue
from isao.queue.foreground import foreground
from isao.runtime import Runtime

DESCRIPTION = """
The ISAO External API. Authenticate every request with `Authorization: Bearer ck_…`
(create keys with `isao keys create`). Lists answer
`{"success": true, "data": [...], "meta": {"page", "limit", "total", "totalPages"}}`,
errors `{"success": false, "error": "...", ...}`. Each key may make `ISAO_RATE_LIMIT`
requests per `ISAO_RATE_LIMIT_WINDOW` seconds; every answer carries `X-RateLimit-*` headers
and a 429 carries `Retry-After`.
"""


def create_app(
    settings: Settings | None = None,
    db: Database | None = None,
    *,
    migrate: bool = True,
    workers: int | None = None,
) -> FastAPI:
    """``workers`` in-process worker threads (default ``ISAO_WORKERS``; 0 runs none)."""
    settings = settings or get_settings()
    logs.configure(settings.log_level)
    if db is None:
        url = settings.resolved_database_url()
        if migrate:
            upgrade(url)
        db = Database(url, pool_size=settings.db_pool_size)
    runtime = Runtime(settings, db)
    receiver = Receiver(db, route=runtime.inbox.at_the_door)
    concurrency = settings.workers if workers is None else workers
    foreground.max_wait = settings.ack_priority_ms / 1000
    queue_metrics = CollectorRegistry()
    watch_queue(db, queue_metrics)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool = runtime.pool(concurrency) if concurrency else None
        if pool:
            pool.start()
        try:
            yield
        finally:
            if pool:
                await run_in_threadpool(pool.stop)
            await run_in_threadpool(receiver.close)
            runtime.close()

    app = FastAPI(
        title="ISAO External API",
        version=__version__,
        description=DESCRIPTION,
        default_response_class=Json,
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.runtime = runtime
    app.state.receiver = receiver
    app.state.limiter = RateLimiter(settings.rate_limit, settings.rate_limit_window)
    app.state.key_cache = KeyCache(db, settings.key_cache_seconds)

    external = APIRouter(prefix=PREFIX)
    for module in (meta, contacts, deals, webhooks, deadletters):
        external.include_router(module.router)
    app.include_router(external)
    app.include_router(hooks.router)

    @app.get("/healthz", tags=["Operations"], summary="Liveness: a constant answer, touching nothing")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", tags=["Operations"], summary="Prometheus metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        body = generate_latest(REGISTRY) + generate_latest(queue_metrics)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    mount_dashboard(app, https_only=settings.dashboard_https_only)
    errors.install(app)
    app.add_middleware(ExternalApiMiddleware)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schema.setdefault("components", {})["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An ISAO API key, `ck_…`"}
    }
    for path, operations in schema["paths"].items():
        if path.startswith(PREFIX):
            for operation in operations.values():
                operation["security"] = [{"bearerAuth": []}]
    for name in ("HTTPValidationError", "ValidationError"):
        schema["components"].get("schemas", {}).pop(name, None)
    app.openapi_schema = schema
    return schema
