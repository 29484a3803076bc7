"""The Zoho CRM sandbox assembled from its endpoint groups: routes, fault responses, credentials."""

from __future__ import annotations

from typing import ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from isao.sandbox.faults import Verdict
from isao.sandbox.zohocrm.answers import _err, _error, _invalid_url, _json
from isao.sandbox.zohocrm.core import _Core
from isao.sandbox.zohocrm.metadata import MetadataEndpoints
from isao.sandbox.zohocrm.records import RecordEndpoints
from isao.sandbox.zohocrm.search import SearchEndpoints
from isao.sandbox.zohocrm.watch import WatchEndpoints


class ZohoCrmSandbox(MetadataEndpoints, RecordEndpoints, SearchEndpoints, WatchEndpoints, _Core):
    name: ClassVar[str] = "zohocrm"
    default_port: ClassVar[int] = 8703

    def reset(self) -> None:
        """Forget records and channels and the refresh throttle; issued access tokens stay valid."""
        super().reset()
        self.tokens.forget_throttle()

    def credentials(self) -> dict[str, str]:
        return super().credentials() | {"api_version": "v4"}

    def is_search(self, request: Request) -> bool:
        return request.url.path.startswith("/crm/") and request.url.path.rstrip("/").endswith("/search")

    def fault_response(self, request: Request, verdict: Verdict) -> Response:
        if verdict.kind == "rate_limited":
            headers = {"Retry-After": str(verdict.retry_after)} if self.gate.faults.retry_after else None
            message = (
                "You have reached the API rate or concurrency limit of your org. Please try again later."
            )
            return _json(_err("TOO_MANY_REQUESTS", message), 429, headers)
        if verdict.kind == "error":
            return _error("INTERNAL_ERROR", "Internal server error occurred.", status=500)
        html = b"<html><head><title>504 Gateway Time-out</title></head><body><h1>504</h1></body></html>"
        return Response(html, 504, media_type="text/html")

    def routes(self) -> list[BaseRoute]:
        every = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return [
            Route("/oauth/v2/token", self._token, methods=["POST"]),
            Route("/crm/{version}/users", self._users, methods=every),
            Route("/crm/{version}/org", self._org, methods=every),
            Route("/crm/{version}/settings/fields", self._fields, methods=every),
            Route("/crm/{version}/settings/modules", self._modules, methods=every),
            Route("/crm/{version}/actions/watch", self._watch, methods=every),
            Route("/crm/{version}/{module}/search", self._search, methods=every),
            Route("/crm/{version}/{module}/upsert", self._upsert, methods=every),
            Route("/crm/{version}/{module}", self._collection, methods=every),
            Route("/crm/{version}/{module}/{id}", self._single, methods=every),
            Route("/{path:path}", self._unknown, methods=[*every, "HEAD", "OPTIONS"]),
        ]

    async def _unknown(self, request: Request) -> Response:
        return _invalid_url()
