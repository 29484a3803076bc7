"""The HubSpot sandbox assembled from its endpoint groups: credentials, rate-limit headers, fault
answers, error handlers, routes and the account details."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from isao.sandbox.faults import Verdict
from isao.sandbox.hubspot.answers import _error, _Json
from isao.sandbox.hubspot.associations import AssociationEndpoints
from isao.sandbox.hubspot.batch import BatchEndpoints
from isao.sandbox.hubspot.constants import (
    APP_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    DAILY_LIMIT,
    DEVELOPER_API_KEY,
    PORTAL_ID,
    PRIVATE_APP_TOKEN,
    REFRESH_TOKEN,
    WINDOW_MAX,
)
from isao.sandbox.hubspot.core import _Core
from isao.sandbox.hubspot.deliveries import _Deliveries
from isao.sandbox.hubspot.links import _Links
from isao.sandbox.hubspot.oauth import OAuthEndpoints
from isao.sandbox.hubspot.objects import ObjectEndpoints
from isao.sandbox.hubspot.pipelines import PipelineEndpoints
from isao.sandbox.hubspot.properties import PropertyEndpoints
from isao.sandbox.hubspot.records import _Records
from isao.sandbox.hubspot.search import SearchEndpoints
from isao.sandbox.hubspot.webhooks import WebhookEndpoints

_SEARCH_PATH = re.compile(r"/crm/v3/objects/[^/]+/search/?")


class HubSpotSandbox(
    ObjectEndpoints,
    BatchEndpoints,
    SearchEndpoints,
    AssociationEndpoints,
    PipelineEndpoints,
    PropertyEndpoints,
    OAuthEndpoints,
    WebhookEndpoints,
    _Records,
    _Links,
    _Deliveries,
    _Core,
):
    name = "hubspot"
    default_port = 8702

    # --- what the base asks for ---

    def credentials(self) -> dict[str, str]:
        return {
            "base_url": self.base_url,
            "access_token": PRIVATE_APP_TOKEN,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
            "app_id": str(APP_ID),
            "developer_api_key": DEVELOPER_API_KEY,
            "portal_id": str(PORTAL_ID),
        }

    def reset(self) -> None:
        super().reset()
        self._pending.clear()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._unique = self._custom = None
        self._fixtures()
        self.tokens.persist()

    def exempt(self, request: Request) -> bool:
        return super().exempt(request) or request.url.path.startswith("/oauth/")

    def is_search(self, request: Request) -> bool:
        return request.method == "POST" and _SEARCH_PATH.fullmatch(request.url.path) is not None

    def extra_headers(self, request: Request) -> dict[str, str]:
        """``X-HubSpot-RateLimit-*`` on every authenticated answer; OAuth installs have no daily cap, so
        HubSpot leaves out the two ``Daily`` headers for them."""
        token = request.headers.get("authorization", "").partition(" ")[2].strip()
        developer = "hapikey" in request.query_params
        if not token and not developer:
            return {}
        private = developer or token.startswith("pat-")
        window = self.gate.window()
        maximum = window.limit if window else WINDOW_MAX["private" if private else "oauth"]
        headers = {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(
                int((window.window_seconds if window else 10) * 1000)
            ),
            "X-HubSpot-RateLimit-Max": str(maximum),
            "X-HubSpot-RateLimit-Remaining": str(window.remaining if window else maximum),
        }
        if not private:
            return headers
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        if today != self._daily_day:
            self._daily_day, self._daily_used = today, 0
        self._daily_used += 1
        return {
            "X-HubSpot-RateLimit-Daily": str(DAILY_LIMIT),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, DAILY_LIMIT - self._daily_used)),
        } | headers

    def fault_response(self, request: Request, verdict: Verdict) -> Response:
        correlation = str(uuid.uuid4())
        if verdict.kind == "rate_limited":
            window = self.gate.window()
            if self.is_search(request) and not (window is not None and window.remaining == 0):
                policy, headers = "SECONDLY", {}
            else:
                policy, headers = "TEN_SECONDLY_ROLLING", self.extra_headers(request)
            if self.gate.faults.retry_after:
                headers["Retry-After"] = str(verdict.retry_after)
            body = {
                "status": "error",
                "message": f"You have reached your {policy.lower()} limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": correlation,
                "policyName": policy,
            }
            return _Json(body, status_code=429, headers=headers)
        if verdict.kind == "timeout":
            body = {
                "status": "error",
                "message": "The request timed out before it could be processed.",
                "correlationId": correlation,
                "category": "GATEWAY_TIMEOUT",
            }
            return _Json(body, status_code=504)
        body = {
            "status": "error",
            "message": "internal error",
            "correlationId": correlation,
            "category": "INTERNAL_ERROR",
        }
        return _Json(body, status_code=500)

    def app(self) -> Starlette:
        app = super().app()
        app.add_exception_handler(HTTPException, self._on_http_exception)
        return app

    def answer(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return _Json(body, status_code=status, headers=headers)

    async def _on_http_exception(self, request: Request, exc: Exception) -> Response:
        """Unknown routes and methods answer in HubSpot's JSON, never Starlette's plain text."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 405:
            fail = _error(405, f"HTTP {request.method} is not supported by this URL", "VALIDATION_ERROR")
        else:
            fail = _error(status, f"No route matches {request.method} {request.url.path}", "OBJECT_NOT_FOUND")
        return _Json(fail.body, status_code=status)

    def routes(self) -> list[BaseRoute]:
        objects = "/crm/v3/objects/{object}"
        v4 = "/crm/v4/objects/{object}/{id}/associations"
        webhooks = "/webhooks/v3/{app_id}"
        return [
            Route("/oauth/v1/token", self._token, methods=["POST"]),
            Route("/oauth/v1/access-tokens/{token}", self._access_token_info, methods=["GET"]),
            Route("/oauth/v1/refresh-tokens/{token}", self._refresh_token_info, methods=["GET", "DELETE"]),
            Route("/oauth/authorize", self._authorize, methods=["GET"]),
            Route("/account-info/v3/details", self._account, methods=["GET"]),
            Route(objects, self._list, methods=["GET"]),
            Route(objects, self._create, methods=["POST"]),
            Route(objects + "/search", self._search, methods=["POST"]),
            Route(objects + "/batch/{op}", self._batch, methods=["POST"]),
            Route(objects + "/{id}", self._get, methods=["GET"]),
            Route(objects + "/{id}", self._update, methods=["PATCH"]),
            Route(objects + "/{id}", self._archive, methods=["DELETE"]),
            Route(v4 + "/default/{to}/{to_id}", self._associate_default, methods=["PUT"]),
            Route(v4 + "/{to}/{to_id}", self._associate_labelled, methods=["PUT"]),
            Route(v4 + "/{to}/{to_id}", self._dissociate, methods=["DELETE"]),
            Route(v4 + "/{to}", self._list_associations, methods=["GET"]),
            Route(
                "/crm/v4/associations/{object}/{to}/batch/{op:path}",
                self._batch_associations,
                methods=["POST"],
            ),
            Route("/crm/v3/pipelines/{object}", self._pipelines, methods=["GET", "POST"]),
            Route("/crm/v3/pipelines/{object}/{pipeline}", self._pipeline, methods=["GET"]),
            Route("/crm/v3/pipelines/{object}/{pipeline}/stages", self._stages, methods=["GET"]),
            Route("/crm/v3/properties/{object}", self._properties, methods=["GET", "POST"]),
            Route("/crm/v3/properties/{object}/{name}", self._property, methods=["GET"]),
            Route(webhooks + "/settings", self._settings, methods=["GET", "PUT", "DELETE"]),
            Route(webhooks + "/subscriptions", self._subscriptions, methods=["GET", "POST"]),
            Route(webhooks + "/subscriptions/batch/update", self._subscriptions_batch, methods=["POST"]),
            Route(webhooks + "/subscriptions/{id}", self._subscription, methods=["GET", "PATCH", "DELETE"]),
        ]

    # --- account ---

    async def _account(self, request: Request) -> Response:
        self._caller(request)
        return _Json(
            {
                "portalId": PORTAL_ID,
                "accountType": "STANDARD",
                "timeZone": "US/Eastern",
                "companyCurrency": "USD",
                "additionalCurrencies": [],
                "utcOffset": "-05:00",
                "utcOffsetMilliseconds": -18_000_000,
                "uiDomain": "app.hubspot.com",
                "dataHostingLocation": "na1",
            }
        )
