"""The FastAPI application: External API under ``/api/external``, OpenAPI at ``/docs``, ``/healthz``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from isao import __version__
from isao.api import errors
from isao.api.middleware import PREFIX, ExternalApiMiddleware
from isao.api.ratelimit import RateLimiter
from isao.api.responses import Json
from isao.api.routes import contacts, deals, meta, webhooks
from isao.config import Settings, get_settings
from isao.db import Database
from isao.db.migrate import upgrade

DESCRIPTION = """
The ISAO External API. Authenticate every request with `Authorization: Bearer ck_…`
(create keys with `isao keys create`). Lists answer
`{"success": true, "data": [...], "meta": {"page", "limit", "total", "totalPages"}}`,
errors `{"success": false, "error": "...", ...}`. Each key may make `ISAO_RATE_LIMIT`
requests per `ISAO_RATE_LIMIT_WINDOW` seconds; every answer carries `X-RateLimit-*` headers
and a 429 carries `Retry-After`.
"""


def create_app(
    settings: Settings | None = None, db: Database | None = None, *, migrate: bool = True
) -> FastAPI:
    settings = settings or get_settings()
    if db is None:
        url = settings.resolved_database_url()
        if migrate:
            upgrade(url)
        db = Database(url, pool_size=settings.db_pool_size)

    app = FastAPI(
        title="ISAO External API",
        version=__version__,
        description=DESCRIPTION,
        default_response_class=Json,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.limiter = RateLimiter(settings.rate_limit, settings.rate_limit_window)

    external = APIRouter(prefix=PREFIX)
    for module in (meta, contacts, deals, webhooks):
        external.include_router(module.router)
    app.include_router(external)

    @app.get("/healthz", tags=["Operations"], summary="Liveness: a constant answer, touching nothing")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

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
