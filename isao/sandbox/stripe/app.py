"""The Stripe sandbox assembled: auth, ``Idempotency-Key`` replay, routing, lists with ``expand[]``, search,
events and signed webhook deliveries."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from isao.sandbox.faults import Faults, Verdict
from isao.sandbox.kit.answers import Fail
from isao.sandbox.kit.forms import FormError, nested
from isao.sandbox.kit.paging import Cursor, after_id
from isao.sandbox.kit.signing import hmac_hex
from isao.sandbox.kit.webhooks import deliver
from isao.sandbox.stripe.objects import Objects
from isao.sandbox.stripe.wire import BY_PREFIX, COMMON, RESOURCES, Json, boolean, fail, integer, missing, text

API_KEY = "sk_test_51IsaoSandboxKey000000000000000000000000000000000000000000000"
VERSION = "2024-06-20"
"""The account's default API version (a request's ``Stripe-Version`` header overrides it)."""
SEARCH_RATE = 20
IDEMPOTENCY_TTL = 86400.0
_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(\.[a-z]+)?")
_SEARCH = re.compile(r"""(metadata\[['"]([^'"]+)['"]\]|[a-z_]+)\s*(:|~)\s*(['"])(.*?)\4""")


class StripeSandbox(Objects):
    name: ClassVar[str] = "stripe"
    default_port: ClassVar[int] = 8705
    webhook_retries: int = 3
    webhook_backoff_seconds: float = 0.2

    def __init__(self, *, store_path: Any = None, faults: Faults | None = None) -> None:
        if faults is None or faults.search_rate_limit is None:
            faults = (faults or Faults()).model_copy(update={"search_rate_limit": SEARCH_RATE})
        super().__init__(store_path=store_path, faults=faults)
        self._replays: dict[str, tuple[float, str, int, bytes]] = {}
        self._request: tuple[str, str | None] = ("", None)

    def credentials(self) -> dict[str, str]:
        return {"base_url": self.base_url, "api_key": API_KEY}

    def answer(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(orjson.dumps(body), status, _headers(headers), media_type="application/json")

    def is_search(self, request: Request) -> bool:
        return request.url.path.endswith("/search")

    def fault_response(self, request: Request, verdict: Verdict) -> Response:
        if verdict.kind == "rate_limited":
            error = fail(
                429,
                "Request rate limit exceeded. Learn more about rate limits here "
                "https://stripe.com/docs/rate-limits.",
                code="rate_limit",
            )
            return self.answer(error.body, 429, {"Stripe-Should-Retry": "true"})
        if verdict.kind == "timeout":
            return self.answer(fail(504, "The request timed out.", kind="api_error").body, 504)
        return self.answer(fail(500, "An unknown error occurred", kind="api_error").body, 500)

    def routes(self) -> list[BaseRoute]:
        every = ["GET", "POST", "DELETE"]
        return [
            Route("/v1/{path}", self._serve, methods=every),
            Route("/v1/{path}/{id}", self._serve, methods=every),
            Route("/v1/{path}/{id}/{action}", self._serve, methods=every),
            Route("/{rest:path}", self._unknown, methods=every),
        ]

    async def _unknown(self, request: Request) -> Response:
        raise fail(
            404,
            f"Unrecognized request URL ({request.method}: {request.url.path}). Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/.",
        )

    # --- the request ---

    async def _serve(self, request: Request) -> Response:
        self._authenticate(request)
        version = request.headers.get("stripe-version", VERSION)
        if not _VERSION.fullmatch(version):
            raise fail(400, f"Invalid Stripe API version: {version}", code="invalid_api_version")
        raw = await request.body() if request.method == "POST" else b""
        try:
            params = nested(
                [*request.query_params.multi_items(), *parse_qsl(raw.decode(), keep_blank_values=True)]
            )
        except (FormError, UnicodeDecodeError) as exc:
            raise fail(400, f"Invalid request: {exc}") from None
        key = request.headers.get("idempotency-key") if request.method == "POST" else None
        fingerprint = hashlib.sha256(f"{request.method} {request.url.path} ".encode() + raw).hexdigest()
        if key:
            replay = self._replay(key, fingerprint)
            if replay is not None:
                return replay
        self._request = ("req_" + secrets.token_hex(7), key)
        try:
            body, status = self._dispatch(request, params), 200
        except Fail as failure:
            if not key or failure.status == 429 or failure.status >= 500:
                raise
            body, status = failure.body, failure.status
        response = self.answer(body, status, {"Stripe-Version": version, "Request-Id": self._request[0]})
        if key:
            self._replays[key] = (time.time() + IDEMPOTENCY_TTL, fingerprint, status, bytes(response.body))
        return response

    def _authenticate(self, request: Request) -> None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        key = value.strip()
        if scheme.lower() == "basic":
            key = base64.b64decode(key + "==").decode("utf-8", "replace").partition(":")[0]
        if not key:
            raise fail(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        if not secrets.compare_digest(key.encode(), API_KEY.encode()):
            raise fail(401, f"Invalid API Key provided: {key[:8]}{'*' * 12}{key[-4:]}")

    def _replay(self, key: str, fingerprint: str) -> Response | None:
        now = time.time()
        self._replays = {k: v for k, v in self._replays.items() if v[0] > now}
        found = self._replays.get(key)
        if found is None:
            return None
        if found[1] != fingerprint:
            raise fail(
                400,
                "Keys for idempotent requests can only be used with the same parameters they were "
                f"first used with. Try using a key other than '{key}' if you meant to execute a "
                "different request.",
                kind="idempotency_error",
            )
        return Response(
            found[3], found[2], _headers({"Idempotent-Replayed": "true"}), media_type="application/json"
        )

    def _dispatch(self, request: Request, params: Json) -> Json:
        path, id_, action = (request.path_params.get(k) for k in ("path", "id", "action"))
        resource = RESOURCES.get(str(path))
        if resource is None:
            raise fail(404, f"Unrecognized request URL ({request.method}: {request.url.path}).")
        method = request.method
        if id_ == "search" and method == "GET" and resource.searchable:
            return self._search(resource.path, params)
        if method == "POST" and not action:
            unknown = sorted(set(params) - resource.writable - COMMON - {"pending_invoice_items_behavior"})
            if unknown and resource.path != "webhook_endpoints":
                raise fail(
                    400,
                    f"Received unknown parameter: {unknown[0]}",
                    code="parameter_unknown",
                    param=unknown[0],
                )
        if resource.path == "webhook_endpoints":
            return self._endpoints(method, id_, params)
        if resource.path == "events" and method != "GET":
            raise fail(404, f"Unrecognized request URL ({method}: {request.url.path}).")
        if id_ is None:
            if method == "GET":
                return self._list(resource.path, params)
            if method == "POST":
                return self._expand(self.create(resource.path, params), params)
        elif action == "lines" and resource.path == "invoices" and method == "GET":
            lines = self._get("invoices", id_)["lines"]["data"]
            return self._page(lines, params, f"/v1/invoices/{id_}/lines")
        elif action and method == "POST":
            return self._expand(self.act(resource.path, id_, action, params), params)
        elif not action and method == "GET":
            return self._expand(self._get(resource.path, id_), params)
        elif not action and method == "POST":
            return self._expand(self.update(resource.path, id_, params), params)
        elif not action and method == "DELETE":
            return self.delete(resource.path, id_)
        raise fail(404, f"Unrecognized request URL ({method}: {request.url.path}).")

    # --- lists, search, expand ---

    def _list(self, path: str, params: Json) -> Json:
        items = list(reversed(self.store.all(path)))
        for name in RESOURCES[path].filters & set(params):
            value = params[name]
            if name == "created" and isinstance(value, dict):
                items = [i for i in items if _in_range(i["created"], value)]
            elif name == "created":
                items = [i for i in items if str(i["created"]) == value]
            elif name == "type":
                pattern = re.compile(re.escape(str(value)).replace(r"\*", ".*"))
                items = [i for i in items if pattern.fullmatch(i["type"])]
            elif name in ("types", "ids") and isinstance(value, list):
                key = "type" if name == "types" else "id"
                items = [i for i in items if i[key] in value]
            elif name == "active":
                items = [i for i in items if i["active"] == boolean(params, "active")]
            elif name == "email":
                items = [i for i in items if (i.get("email") or "").lower() == str(value).lower()]
            else:
                items = [i for i in items if str(i.get(name)) == str(value)]
        return self._page(items, params, f"/v1/{path}")

    def _page(self, items: list[Json], params: Json, url: str) -> Json:
        limit = integer(params, "limit", low=1, high=100) or 10
        after, before = text(params, "starting_after"), text(params, "ending_before")
        if after and before:
            raise fail(400, "You may only specify one of these parameters: starting_after, ending_before.")
        page = after_id(items, lambda i: str(i["id"]), limit, after, before)
        if page is None:
            named = after or before or ""
            raise missing(BY_PREFIX.get(named.partition("_")[0], RESOURCES["events"]).object, named)
        data, more = page
        return {
            "object": "list",
            "data": [self._expand(i, params, "data.") for i in data],
            "has_more": more,
            "url": url,
        }

    def _search(self, path: str, params: Json) -> Json:
        query = text(params, "query")
        if not query:
            raise fail(400, "Missing required param: query.", code="parameter_missing", param="query")
        clauses = _SEARCH.findall(query)
        joins = set(re.findall(r"\b(AND|OR)\b", _SEARCH.sub("", query)))
        if (
            not clauses
            or len(joins) > 1
            or _SEARCH.sub("", query).replace("AND", "").replace("OR", "").strip()
        ):
            raise fail(400, f"Invalid search query: {query}", code="search_query_invalid", param="query")

        def holds(item: Json, clause: tuple[str, str, str, str, str]) -> bool:
            field, meta_key, operator, _, value = clause
            found = (item.get("metadata") or {}).get(meta_key) if meta_key else item.get(field)
            found = "" if found is None else str(found)
            return value.lower() in found.lower() if operator == "~" else found.lower() == value.lower()

        combine = any if joins == {"OR"} else all
        items = [i for i in reversed(self.store.all(path)) if combine(holds(i, c) for c in clauses)]
        limit = integer(params, "limit", low=1, high=100) or 10
        state = Cursor.decode(text(params, "page") or "") if params.get("page") else {"o": 0}
        if state is None:
            raise fail(400, "Invalid page token.", param="page")
        start = int(state.get("o", 0))
        more = start + limit < len(items)
        return {
            "object": "search_result",
            "data": [self._expand(i, params, "data.") for i in items[start : start + limit]],
            "has_more": more,
            "next_page": Cursor.encode({"o": start + limit}) if more else None,
            "url": f"/v1/{path}/search",
        }

    def _expand(self, obj: Json, params: Json, prefix: str = "") -> Json:
        wanted = params.get("expand") or []
        if not isinstance(wanted, list):
            raise fail(400, "Invalid array", code="parameter_invalid_array", param="expand")
        shown = dict(obj)
        for path in wanted:
            if not str(path).startswith(prefix):
                continue
            field = str(path)[len(prefix) :]
            value = shown.get(field)
            resource = BY_PREFIX.get(str(value).partition("_")[0]) if isinstance(value, str) else None
            if field not in shown or (value is not None and resource is None):
                raise fail(400, f"This property cannot be expanded ({field}).", param="expand")
            if resource is not None:
                shown[field] = self._get(resource.path, str(value))
        return shown

    # --- events and webhook endpoints ---

    def _emit(self, type_: str, obj: Json, previous: Json | None = None) -> None:
        request_id, key = self._request
        endpoints = [
            e
            for e in self.store.all("webhook_endpoints")
            if e["status"] == "enabled" and ("*" in e["enabled_events"] or type_ in e["enabled_events"])
        ]
        event: Json = {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": VERSION,
            "created": self._now(),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": len(endpoints),
            "request": {"id": request_id or None, "idempotency_key": key},
            "type": type_,
        }
        if previous:
            event["data"]["previous_attributes"] = previous
        self.store.put("events", event["id"], event)
        for endpoint in endpoints:
            self._deliver(endpoint, orjson.dumps(event))

    def _deliver(self, endpoint: Json, body: bytes) -> None:
        def attempt(number: int) -> tuple[bytes, dict[str, str]]:
            stamp = str(int(time.time()))
            signature = hmac_hex(endpoint["secret"], f"{stamp}.".encode() + body)
            return body, {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": f"t={stamp},v1={signature}",
            }

        deliver(
            self.outbox,
            endpoint["url"],
            attempt,
            retries=self.webhook_retries,
            backoff=self.webhook_backoff_seconds,
        )

    def _endpoints(self, method: str, id_: str | None, params: Json) -> Json:
        path = "webhook_endpoints"
        if id_ is None and method == "GET":
            listed = self._list(path, params)
            listed["data"] = [{k: v for k, v in e.items() if k != "secret"} for e in listed["data"]]
            return listed
        if id_ is None and method == "POST":
            url, events = text(params, "url"), params.get("enabled_events")
            if not url or not re.fullmatch(r"https?://\S+", url):
                raise fail(400, "Invalid URL: the URL must be an http(s) URL.", param="url")
            if not isinstance(events, list) or not events:
                raise fail(
                    400,
                    "Missing required param: enabled_events.",
                    code="parameter_missing",
                    param="enabled_events",
                )
            created: Json = {
                "id": "we_" + secrets.token_hex(12),
                "object": "webhook_endpoint",
                "api_version": None,
                "application": None,
                "created": self._now(),
                "description": text(params, "description"),
                "enabled_events": events,
                "livemode": False,
                "metadata": {},
                "status": "enabled",
                "url": url,
                "secret": "whsec_" + secrets.token_hex(16),
            }
            self.store.put(path, created["id"], created)
            return created
        assert id_ is not None
        endpoint = self._get(path, id_)
        if method == "DELETE":
            self.store.delete(path, id_)
            return {"id": id_, "object": "webhook_endpoint", "deleted": True}
        if method == "POST":
            if isinstance(params.get("enabled_events"), list):
                endpoint["enabled_events"] = params["enabled_events"]
            if text(params, "url"):
                endpoint["url"] = params["url"]
            if boolean(params, "disabled") is not None:
                endpoint["status"] = "disabled" if boolean(params, "disabled") else "enabled"
            self.store.put(path, id_, endpoint)
        return {k: v for k, v in endpoint.items() if k != "secret"}


def _in_range(value: int, bounds: Json) -> bool:
    checks = {"gt": value.__gt__, "gte": value.__ge__, "lt": value.__lt__, "lte": value.__le__}
    return all(
        checks[op](int(limit)) for op, limit in bounds.items() if op in checks and str(limit).isdigit()
    )


def _headers(extra: dict[str, str] | None) -> dict[str, str]:
    base = {"Request-Id": "req_" + secrets.token_hex(7), "Stripe-Version": VERSION}
    return base | (extra or {})
