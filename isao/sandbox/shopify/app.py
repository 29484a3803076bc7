"""The Shopify sandbox assembled: ``X-Shopify-Access-Token`` auth (a fixed offline token, or expiring ones
from the token endpoint with rotating refresh tokens), the GraphQL Admin API, the legacy REST resources
with ``Link`` paging and the call-limit bucket, and signed webhook deliveries."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from isao.sandbox.faults import Faults, Verdict
from isao.sandbox.kit.answers import Fail
from isao.sandbox.kit.limits import LeakyBucket
from isao.sandbox.kit.oauth2 import Authority, Refused, form_and_query
from isao.sandbox.kit.paging import Cursor
from isao.sandbox.kit.signing import hmac_b64
from isao.sandbox.kit.webhooks import deliver
from isao.sandbox.shopify.graph import Graph
from isao.sandbox.shopify.records import InvalidRecord, Json, moment, stamp

SHOP = "isao-sandbox"
ACCESS_TOKEN = "shpat_" + "5a1db0c0ffee5a1db0c0ffee5a1db0c0"
CLIENT_ID = "7f2c1d9e8b4a3f6e5d0c9b8a7f6e5d4c"
CLIENT_SECRET = "shpss_" + "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a"
REFRESH_TOKEN = "shprt_" + "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
SCOPES = [
    "read_orders",
    "write_orders",
    "read_customers",
    "write_customers",
    "read_products",
    "write_products",
]
TOKEN_TTL = 3600
REFRESH_TTL = 7_776_000
REST_BUCKET, REST_LEAK = 40, 2.0
REST_PAGE, REST_PAGE_MAX = 50, 250
_VERSION = re.compile(r"\d{4}-(01|04|07|10)|unstable")
_REST = re.compile(r"(?P<resource>orders|customers|products|webhooks)(?:/(?P<id>search|count|\d+))?\.json")


class ShopifySandbox(Graph):
    name: ClassVar[str] = "shopify"
    default_port: ClassVar[int] = 8704
    webhook_retries: int = 3
    webhook_backoff_seconds: float = 0.2

    def __init__(self, *, store_path: Any = None, faults: Faults | None = None) -> None:
        super().__init__(store_path=store_path, faults=faults)
        self.domain = f"{SHOP}.myshopify.com"
        self.tokens = Authority(
            TOKEN_TTL, prefix="shpat_", refresh_prefix="shprt_", rotate=True, store=self.store
        )
        self.tokens.add_client(CLIENT_ID, CLIENT_SECRET)
        self.tokens.add_refresh_token(REFRESH_TOKEN, CLIENT_ID, SCOPES, fixed=True)
        self.rest_bucket = LeakyBucket(REST_BUCKET, REST_LEAK)
        self._graph_setup()

    def credentials(self) -> dict[str, str]:
        return {
            "base_url": self.base_url,
            "shop": self.domain,
            "access_token": ACCESS_TOKEN,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
            "api_version": "2024-10",
        }

    def reset(self) -> None:
        super().reset()
        self.tokens.persist()

    def exempt(self, request: Request) -> bool:
        return super().exempt(request) or request.url.path.startswith("/admin/oauth/")

    def answer(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(orjson.dumps(body), status, headers, media_type="application/json; charset=utf-8")

    def fault_response(self, request: Request, verdict: Verdict) -> Response:
        if verdict.kind == "rate_limited":
            return self.answer(
                {
                    "errors": "Exceeded 2 calls per second for api client. Reduce request rates to "
                    "resume uninterrupted service."
                },
                429,
                {"Retry-After": f"{verdict.retry_after}.0"},
            )
        if verdict.kind == "timeout":
            return self.answer({"errors": "Gateway Timeout"}, 504)
        return self.answer({"errors": "Internal Server Error"}, 500)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/admin/oauth/access_token", self._token, methods=["POST"]),
            Route("/admin/api/{version}/graphql.json", self._graphql, methods=["POST"]),
            Route("/admin/api/{version}/{path:path}", self._rest, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/{path:path}", self._not_found, methods=["GET", "POST", "PUT", "DELETE"]),
        ]

    async def _not_found(self, request: Request) -> Response:
        raise Fail(404, {"errors": "Not Found"})

    def shop(self) -> Json:
        return {
            "id": 548380009,
            "name": "ISAO sandbox",
            "email": "shop@example.com",
            "domain": self.domain,
            "myshopify_domain": self.domain,
            "currency": "USD",
            "iana_timezone": "UTC",
            "plan_name": "basic",
        }

    # --- auth ---

    def _authenticate(self, request: Request) -> None:
        if not _VERSION.fullmatch(request.path_params["version"]):
            raise Fail(404, {"errors": "Not Found"})
        token = request.headers.get("x-shopify-access-token", "")
        if token and (
            secrets.compare_digest(token.encode(), ACCESS_TOKEN.encode())
            or self.tokens.check(token) == "valid"
        ):
            return
        raise Fail(
            401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
        )

    async def _token(self, request: Request) -> Response:
        """``POST /admin/oauth/access_token``: the code exchange (form, as the Python package sends it, or
        JSON) and the refresh of expiring offline tokens (JSON), whose refresh token rotates on every use."""
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        if "json" in content_type:
            try:
                loaded = orjson.loads(raw)
            except orjson.JSONDecodeError:
                loaded = None
            params = {k: str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
        else:
            params = form_and_query(request.query_params.multi_items(), raw, content_type)
        client_id = params.get("client_id", "")
        if not self.tokens.client_ok(client_id, params.get("client_secret")):
            raise Fail(
                400, {"error": "invalid_client", "error_description": "Client credentials are invalid"}
            )
        ttl = self.gate.token_ttl(TOKEN_TTL)
        if params.get("grant_type") == "refresh_token":
            issued = self.tokens.refresh(params.get("refresh_token", ""), client_id, ttl)
        elif params.get("code"):
            exchanged = self.tokens.exchange(params["code"], client_id, None, ttl)
            issued = exchanged if not isinstance(exchanged, str) else Refused("invalid_grant")
        else:
            raise Fail(400, {"error": "invalid_request", "error_description": "Missing code or grant_type"})
        if isinstance(issued, Refused):
            raise Fail(
                400, {"error": "invalid_grant", "error_description": "The refresh token or code is invalid"}
            )
        return self.answer(
            {
                "access_token": issued.access_token,
                "scope": ",".join(issued.scopes),
                "expires_in": issued.expires_in,
                "refresh_token": issued.refresh_token,
                "refresh_token_expires_in": REFRESH_TTL,
            }
        )

    # --- GraphQL ---

    async def _graphql(self, request: Request) -> Response:
        self._authenticate(request)
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise Fail(400, {"errors": {"query": "Required parameter missing or invalid"}}) from None
        query = body.get("query") if isinstance(body, dict) else None
        if not isinstance(query, str) or not query.strip():
            raise Fail(400, {"errors": {"query": "Required parameter missing or invalid"}})
        variables = body.get("variables") if isinstance(body.get("variables"), dict) else None
        answer, _ = self.run(query, variables, body.get("operationName"))
        return self.answer(answer)

    # --- REST ---

    async def _rest(self, request: Request) -> Response:
        self._authenticate(request)
        if not self.rest_bucket.take(1):
            raise Fail(
                429,
                {
                    "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume "
                    "uninterrupted service."
                },
                {"Retry-After": "2.0"},
            )
        headers = {"X-Shopify-Shop-Api-Call-Limit": f"{round(self.rest_bucket.used)}/{REST_BUCKET}"}
        if request.path_params["path"] == "shop.json" and request.method == "GET":
            return self.answer({"shop": self.shop()}, 200, headers)
        matched = _REST.fullmatch(request.path_params["path"])
        if matched is None:
            raise Fail(404, {"errors": "Not Found"})
        resource, id_ = matched["resource"], matched["id"]
        body: Json = {}
        if request.method in ("POST", "PUT"):
            try:
                loaded = orjson.loads(await request.body() or b"{}")
            except orjson.JSONDecodeError:
                raise Fail(400, {"errors": {"base": ["Invalid JSON"]}}) from None
            body = loaded if isinstance(loaded, dict) else {}
        try:
            answer, status = self._resource(request, resource, id_, body)
        except Fail as failure:  # errors carry the call limit too
            failure.headers |= headers
            raise
        if isinstance(answer, tuple):
            answer, link = answer
            if link:
                headers["Link"] = link
        return self.answer(answer, status, headers)

    def _resource(self, request: Request, resource: str, id_: str | None, body: Json) -> tuple[Any, int]:
        singular = resource[:-1]
        method = request.method
        try:
            if id_ is None and method == "GET":
                return self._list(request, resource, self.store.all(resource)), 200
            if id_ == "search" and resource == "customers":
                return self._list(
                    request, resource, self.matching("customers", request.query_params.get("query"))
                ), 200
            if id_ == "count" and method == "GET":
                return {"count": len(self._filtered(request, resource, self.store.all(resource)))}, 200
            if id_ is None and method == "POST":
                given = body.get(singular)
                if not isinstance(given, dict):
                    raise Fail(400, {"errors": {singular: "Required parameter missing or invalid"}})
                make = {
                    "orders": self.create_order,
                    "customers": self.create_customer,
                    "products": self.create_product,
                    "webhooks": self._rest_subscribe,
                }[resource]
                return {singular: make(given)}, 201
            record = self.store.get(resource, id_ or "")
            if record is None:
                raise Fail(404, {"errors": "Not Found"})
            if method == "GET":
                return {singular: _fields(record, request.query_params.get("fields"))}, 200
            if method == "DELETE":
                self.store.delete(resource, id_ or "")
                return {}, 200
            given = body.get(singular)
            if not isinstance(given, dict):
                raise Fail(400, {"errors": {singular: "Required parameter missing or invalid"}})
            update = {"orders": self.update_order, "customers": self.update_customer}.get(resource)
            if update is None:
                raise Fail(406, {"errors": "Not Acceptable"})
            return {singular: update(record["id"], given)}, 200
        except InvalidRecord as invalid:
            raise Fail(422, {"errors": invalid.errors}) from None

    def _filtered(self, request: Request, resource: str, records: list[Json]) -> list[Json]:
        query = request.query_params
        for name, column, after in (
            ("updated_at_min", "updated_at", True),
            ("updated_at_max", "updated_at", False),
            ("created_at_min", "created_at", True),
            ("created_at_max", "created_at", False),
        ):
            if query.get(name):
                bound = query[name]
                records = [r for r in records if (self.matching_time(r[column], bound, after))]
        if query.get("ids"):
            wanted = {i.strip() for i in query["ids"].split(",")}
            records = [r for r in records if str(r["id"]) in wanted]
        if query.get("since_id"):
            records = [r for r in records if int(r["id"]) > int(query["since_id"])]
        if resource == "orders" and query.get("financial_status") not in (None, "any"):
            records = [r for r in records if r["financial_status"] == query["financial_status"]]
        if resource == "orders" and query.get("status") == "cancelled":
            records = [r for r in records if r.get("cancelled_at")]
        return records

    @staticmethod
    def matching_time(value: str, bound: str, after: bool) -> bool:
        left, right = moment(value), moment(bound)
        if left is None or right is None:
            return False
        return left >= right if after else left <= right

    def _list(self, request: Request, resource: str, records: list[Json]) -> tuple[Json, str | None]:
        """A page in id order; ``Link`` names the pages before and after (``page_info``, ``limit``)."""
        query = request.query_params
        try:
            limit = int(query.get("limit") or REST_PAGE)
        except ValueError:
            limit = 0
        if not 1 <= limit <= REST_PAGE_MAX:
            raise Fail(400, {"errors": {"limit": f"must be between 1 and {REST_PAGE_MAX}"}})
        state: dict[str, Any] = {}
        if query.get("page_info"):
            extra = set(query) - {"page_info", "limit", "fields"}
            decoded = Cursor.decode(query["page_info"])
            if extra or decoded is None:
                raise Fail(400, {"errors": {"page_info": "Invalid value."}})
            state = decoded
            records = [r for r in records if str(r["id"]) in set(state["ids"])]
        else:
            records = self._filtered(request, resource, records)
        records.sort(key=lambda r: int(r["id"]))
        start = int(state.get("start", 0))
        page = records[start : start + limit]
        ids = [str(r["id"]) for r in records]
        here = f"{self.base_url}{request.url.path}"

        def link(at: int, rel: str) -> str:
            info = Cursor.encode({"ids": ids, "start": at})
            return f'<{here}?{urlencode({"limit": limit, "page_info": info})}>; rel="{rel}"'

        links = []
        if start > 0:
            links.append(link(max(0, start - limit), "previous"))
        if start + limit < len(records):
            links.append(link(start + limit, "next"))
        shown = [_fields(r, query.get("fields")) for r in page]
        return {resource: shown}, ", ".join(links) or None

    # --- webhooks ---

    def _rest_subscribe(self, given: Json) -> Json:
        hook = self.subscribe(
            str(given.get("topic") or ""),
            str(given.get("address") or ""),
            str(given.get("format") or "json"),
            list(given.get("fields") or []),
        )
        return {k: v for k, v in hook.items() if k != "secret"}

    def subscribe(self, topic: str, url: str, format_: str, fields: list[str]) -> Json:
        errors: dict[str, list[str]] = {}
        if not re.fullmatch(r"https?://[^\s/?#]+\S*", url):
            errors["address"] = ["Address is invalid"]
        elif any(h["topic"] == topic and h["address"] == url for h in self.store.scan("webhooks")):
            errors["address"] = ["Address for this topic has already been taken"]
        if not topic or "/" not in topic:
            errors["topic"] = ["Invalid topic specified."]
        if errors:
            raise InvalidRecord(errors)
        now, id_ = stamp(time.time()), self._id("webhooks")
        hook = {
            "id": id_,
            "address": url,
            "topic": topic,
            "format": format_,
            "fields": fields,
            "created_at": now,
            "updated_at": now,
            "api_version": "2024-10",
            "metafield_namespaces": [],
        }
        self.store.put("webhooks", id_, hook)
        return hook

    def _changed(self, kind: str, record: Json, topic: str) -> None:
        """One delivery per subscription to ``topic``: the REST JSON of the record, signed with the app's
        client secret; the webhook id stays the same on every retry of the delivery."""
        event_id = str(uuid.uuid4())
        for hook in self.store.all("webhooks"):
            if hook["topic"] != topic:
                continue
            body = orjson.dumps(_fields(record, ",".join(hook["fields"]) or None))
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": hmac_b64(CLIENT_SECRET, body),
                "X-Shopify-Shop-Domain": self.domain,
                "X-Shopify-API-Version": hook.get("api_version") or "2024-10",
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "X-Shopify-Event-Id": event_id,
                "X-Shopify-Triggered-At": stamp(time.time()),
                "User-Agent": "Shopify-Captain-Hook",
            }
            deliver(
                self.outbox,
                hook["address"],
                _same(body, headers),
                retries=self.webhook_retries,
                backoff=self.webhook_backoff_seconds,
            )


def _same(body: bytes, headers: dict[str, str]) -> Callable[[int], tuple[bytes, dict[str, str]]]:
    """Every attempt sends the same bytes and headers (the webhook id too: it names the delivery)."""
    return lambda _attempt: (body, headers)


def _fields(record: Json, wanted: str | None) -> Json:
    if not wanted:
        return record
    names = {name.strip() for name in wanted.split(",")}
    return {k: v for k, v in record.items() if k in names}
