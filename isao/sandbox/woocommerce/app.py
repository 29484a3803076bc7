"""The WooCommerce sandbox assembled from its endpoint groups: its routes, request plumbing (method
overrides, bodies, authentication, routing) and fault responses."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from isao.sandbox.faults import Faults, Verdict
from isao.sandbox.woocommerce.auth import Authentication
from isao.sandbox.woocommerce.call import _Call, _params_from_pairs
from isao.sandbox.woocommerce.constants import CONSUMER_KEY, CONSUMER_SECRET, NAMESPACE
from isao.sandbox.woocommerce.core import _Core
from isao.sandbox.woocommerce.deliveries import WebhookDeliveries
from isao.sandbox.woocommerce.discovery import IndexEndpoints
from isao.sandbox.woocommerce.items import ItemEndpoints
from isao.sandbox.woocommerce.listing import ListEndpoints
from isao.sandbox.woocommerce.pages import _HOME_PAGE, _MAINTENANCE, _NOT_FOUND_PAGE, _nginx_page
from isao.sandbox.woocommerce.replies import WPError, _no_route, _reply
from isao.sandbox.woocommerce.webhooks import WebhookEndpoints


class WooCommerceSandbox(
    Authentication,
    IndexEndpoints,
    ListEndpoints,
    ItemEndpoints,
    WebhookEndpoints,
    WebhookDeliveries,
    _Core,
):
    name: ClassVar[str] = "woocommerce"
    default_port: ClassVar[int] = 8701

    def __init__(self, *, store_path: str | Path | None = None, faults: Faults | None = None) -> None:
        super().__init__(store_path=store_path, faults=faults)
        self._fault_turn = 0
        if not list(self.store.collections()):
            self._fixtures()

    # --- what the base asks for ----------------------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        return {"base_url": self.base_url, "consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET}

    def reset(self) -> None:
        super().reset()
        self._nonces.clear()
        self._fixtures()

    def fault_response(self, request: Request, verdict: Verdict) -> Response:
        """WooCommerce core has no rate limit: a 429 comes from a host or a plugin, in WordPress' shape."""
        if verdict.kind == "rate_limited":
            headers = {"Retry-After": str(verdict.retry_after)} if self.gate.faults.retry_after else {}
            return _reply(
                {
                    "code": "woocommerce_rest_too_many_requests",
                    "message": "Too many requests. Please wait before trying again.",
                    "data": {"status": 429},
                },
                429,
                headers,
            )
        if verdict.kind == "timeout":
            return HTMLResponse(_nginx_page("504 Gateway Time-out"), 504)
        status = (500, 502, 503)[self._fault_turn % 3]
        self._fault_turn += 1
        if status == 500:
            return _reply(
                {
                    "code": "internal_server_error",
                    "message": "<p>There has been a critical error on this website.</p><p><a href="
                    '"https://wordpress.org/documentation/article/faq-troubleshooting/">Learn more about '
                    "troubleshooting WordPress.</a></p>",
                    "data": {"status": 500},
                    "additional_errors": [],
                },
                500,
            )
        if status == 502:
            return HTMLResponse(_nginx_page("502 Bad Gateway"), 502)
        return HTMLResponse(_MAINTENANCE, 503, headers={"Retry-After": "600"})

    def routes(self) -> list[BaseRoute]:
        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        return [
            Route("/wp-json", self._rest_endpoint, methods=methods),
            Route("/wp-json/{rest:path}", self._rest_endpoint, methods=methods),
            Route("/", self._home, methods=methods),
            Route("/{path:path}", self._not_found, methods=methods),
        ]

    # --- HTTP plumbing -------------------------------------------------------------------------------

    async def _rest_endpoint(self, request: Request) -> Response:
        return await self._serve(request, "/" + request.path_params.get("rest", ""))

    async def _home(self, request: Request) -> Response:
        route = request.query_params.get("rest_route")
        if route is not None:
            return await self._serve(request, route)
        link = f'<{self.rest_url("/")}>; rel="https://api.w.org/"'
        return HTMLResponse(_HOME_PAGE, headers={"Link": link})

    async def _not_found(self, request: Request) -> Response:
        return HTMLResponse(_NOT_FOUND_PAGE, 404)

    async def _serve(self, request: Request, route: str) -> Response:
        route = "/" + route.strip("/")
        method = request.method.upper()
        if method == "POST":
            override = request.headers.get("x-http-method-override") or request.query_params.get("_method")
            method = (override or method).upper()
        if method == "HEAD":
            method = "GET"
        raw = await request.body()
        query = _params_from_pairs(request.query_params.multi_items())
        content_type = request.headers.get("content-type", "").lower()
        form: dict[str, Any] = {}
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = _params_from_pairs(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        try:
            authed = True
            if route.startswith("/wc/"):
                authed = self._authenticate(request, query, form)
            handler, args, allow = self._match(route, method)
            body: dict[str, Any] = {}
            if "json" in content_type and raw.strip():
                try:
                    decoded = json.loads(raw)
                except ValueError:
                    raise WPError(
                        "rest_invalid_json",
                        "Invalid JSON body passed.",
                        400,
                        json_error_code=4,
                        json_error_message="Syntax error",
                    ) from None
                body = decoded if isinstance(decoded, dict) else {}
            call = _Call(request, route, query, {**query, **form, **body}, authed)
            if request.method.upper() == "OPTIONS":
                return _reply(
                    {"namespace": NAMESPACE, "methods": allow, "endpoints": [{"methods": allow}]},
                    headers={"Allow": ", ".join(allow)},
                )
            response: Response = await handler(call, *args)
            self._emit(call.events)
            response.headers["Allow"] = ", ".join(allow)
            return response
        except WPError as error:
            return _reply(error.body(), error.status, error.headers)

    def _match(self, route: str, method: str) -> tuple[Any, tuple[Any, ...], list[str]]:
        """(handler, its arguments, the methods the route allows); ``rest_no_route`` for anything else."""
        if method == "OPTIONS":
            method = "GET"
        table: list[tuple[re.Pattern[str], dict[str, Any]]] = [
            (re.compile(r"/"), {"GET": self._index}),
            (re.compile(r"/wc/v3"), {"GET": self._namespace}),
            (
                re.compile(r"/wc/v3/(orders|customers|products)"),
                {"GET": self._list, "POST": self._create_item},
            ),
            (
                re.compile(r"/wc/v3/(orders|customers|products)/batch"),
                {"POST": self._batch, "PUT": self._batch, "PATCH": self._batch},
            ),
            (
                re.compile(r"/wc/v3/(orders|customers|products)/(\d+)"),
                {
                    "GET": self._get_item,
                    "POST": self._update_item,
                    "PUT": self._update_item,
                    "PATCH": self._update_item,
                    "DELETE": self._delete_item,
                },
            ),
            (re.compile(r"/wc/v3/webhooks"), {"GET": self._list_webhooks, "POST": self._create_webhook}),
            (
                re.compile(r"/wc/v3/webhooks/(\d+)"),
                {
                    "GET": self._get_webhook,
                    "POST": self._update_webhook,
                    "PUT": self._update_webhook,
                    "PATCH": self._update_webhook,
                    "DELETE": self._delete_webhook,
                },
            ),
        ]
        for pattern, methods in table:
            match = pattern.fullmatch(route)
            if match and method in methods:
                allow = list(methods)
                return methods[method], match.groups(), allow
        raise _no_route()
