"""Every failure leaves the API in the documented shape: the handlers for our and FastAPI's exceptions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from isao.api.responses import error
from isao.crm.errors import BadReference, DuplicateContact, Invalid, NotFound
from isao.crm.messages import validation_details

log = structlog.get_logger(__name__)


class ApiError(Exception):
    """An HTTP error with its documented body, raised from dependencies and routes."""

    def __init__(self, status_code: int, error: str, headers: Mapping[str, str] | None = None, **extra: Any):
        super().__init__(error)
        self.status_code = status_code
        self.error = error
        self.headers = headers
        self.extra = extra


def _allowed(request: Request) -> list[str]:
    """Every method any route serves at this path; Starlette's own 405 names only the first route's."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, APIRoute) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods or set()
    return sorted(methods)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> Response:
        return error(exc.status_code, exc.error, headers=exc.headers, **exc.extra)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> Response:
        return error(404, str(exc))

    @app.exception_handler(BadReference)
    async def _bad_reference(_: Request, exc: BadReference) -> Response:
        return error(400, str(exc))

    @app.exception_handler(Invalid)
    async def _invalid(_: Request, exc: Invalid) -> Response:
        return error(422, "Validation failed", details=exc.details)

    @app.exception_handler(DuplicateContact)
    async def _duplicate(_: Request, exc: DuplicateContact) -> Response:
        return error(
            409,
            "Contact already exists",
            message=str(exc),
            field=exc.field,
            existingContactId=exc.existing_id,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(err["type"] == "json_invalid" for err in errors):
            return error(400, "Invalid JSON", message="The request body is not valid JSON")
        return error(422, "Validation failed", details=validation_details(errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            return error(405, "Method not allowed", headers={"Allow": ", ".join(_allowed(request))})
        text = {404: "Not found"}.get(exc.status_code, str(exc.detail))
        return error(exc.status_code, text, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", path=request.url.path)
        return error(500, "Internal server error")
