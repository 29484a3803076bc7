"""Shopify connector: the GraphQL Admin API client (below) and webhooks.

Webhooks section: Shopify signs the raw body with the app's client secret (base64 HMAC-SHA256) and
sends no timestamp. Header names are case-insensitive; the newer "Events" deliveries use the same
names without the ``X-`` prefix, so both spellings are read. Source: shopify.dev "Verify webhook
deliveries", "Webhooks delivery structure".
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from isao.connectors._signing import b64, header, hmac_sha256, lower_keys, parse_json, require_secret, same
from isao.connectors.base import (
    ApiClient,
    Change,
    Credentials,
    Page,
    Setting,
    json_body,
    paginate,
    retry_after,
    summary_of_request,
    summary_of_response,
)
from isao.connectors.kit import auth, oauth2, paging
from isao.connectors.kit.errors import by_status, make
from isao.errors import AuthExpired, Conflict, Invalid, ProviderError, RateLimited, SignatureInvalid

# --- Webhooks -------------------------------------------------------------------------------------

SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"


def _get(headers: Mapping[str, str], name: str) -> str | None:
    """``name`` without its ``x-`` prefix: read ``X-Shopify-<name>``, then ``Shopify-<name>``."""
    return header(lower_keys(headers), f"x-shopify-{name}", f"shopify-{name}")


def _signature(secret: str, body: bytes) -> str:
    return b64(hmac_sha256(secret, body))


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    url: str,
    method: str = "POST",
    now: float,
) -> None:
    """Raise ``SignatureInvalid`` unless ``X-Shopify-Hmac-Sha256`` is base64(HMAC-SHA256(secret, body)).
    No timestamp is signed, so replays are caught by dedupe on the webhook id, not here."""
    require_secret(secret, "shopify")
    given = _get(headers, "hmac-sha256")
    if given is None:
        raise SignatureInvalid(f"shopify: missing {SIGNATURE_HEADER} header")
    if not same(_signature(secret, body), given):
        raise SignatureInvalid(f"shopify: {SIGNATURE_HEADER} does not match the body and secret")


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """Shopify has no unsigned ping."""
    return False


def delivery_id(headers: Mapping[str, str], body: bytes) -> str | None:
    """``X-Shopify-Webhook-Id`` (the same on every retry of one delivery), else ``X-Shopify-Event-Id``."""
    return _get(headers, "webhook-id") or _get(headers, "event-id")


def topic(headers: Mapping[str, str], body: bytes) -> str | None:
    """E.g. ``orders/create``."""
    return _get(headers, "topic")


def sign(
    secret: str,
    body: bytes,
    *,
    topic: str | None = None,
    webhook_id: str | None = None,
    shop_domain: str | None = None,
) -> dict[str, str]:
    """The headers Shopify sends with ``body``; the optional ones are added when given."""
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: _signature(secret, body)}
    if topic is not None:
        headers["X-Shopify-Topic"] = topic
    if webhook_id is not None:
        headers["X-Shopify-Webhook-Id"] = webhook_id
    if shop_domain is not None:
        headers["X-Shopify-Shop-Domain"] = shop_domain
    return headers


# --- API client -----------------------------------------------------------------------------------
#
# The GraphQL Admin API (saas-apis-directory.md §1): ``X-Shopify-Access-Token``, every answer with
# ``extensions.cost`` and a ``THROTTLED`` error when the shop's bucket cannot pay; business failures as
# ``userErrors``. Records are handed on in the REST shape that webhooks carry (``email``, ``total_price``,
# ``line_items``…), so a recipe reads a polled order and a delivered one alike.

DEFAULT_VERSION = "2024-10"
PAGE_MAX = 250
LINES_MAX = 100
SETTINGS: tuple[Setting, ...] = (
    Setting("base_url", "The store's address, e.g. https://my-store.myshopify.com"),
    Setting("api_version", "Admin API version", required=False, default=DEFAULT_VERSION),
    Setting("access_token", "Admin API access token (shpat_…)", secret=True, required=False),
    Setting("client_id", "The app's client id, for expiring offline tokens", required=False),
    Setting("client_secret", "The app's client secret: signs its webhooks", secret=True, required=False),
    Setting("refresh_token", "Refresh token of an expiring offline token", secret=True, required=False),
)
_KINDS = {"orders": "Order", "customers": "Customer", "products": "Product"}
_TOPIC_ACTIONS: dict[str, Literal["created", "updated", "deleted"]] = {
    "create": "created",
    "updated": "updated",
    "update": "updated",
    "paid": "updated",
    "cancelled": "updated",
    "fulfilled": "updated",
    "delete": "deleted",
}
_MONEY = "{ shopMoney { amount currencyCode } }"
_CUSTOMER = "id legacyResourceId email phone firstName lastName note tags createdAt updatedAt numberOfOrders"
_ADDRESS = "{ address1 address2 city province zip country countryCodeV2 company firstName lastName phone }"
_FIELDS = {
    "orders": f"""id legacyResourceId name email phone note tags createdAt updatedAt processedAt cancelledAt
        currencyCode displayFinancialStatus displayFulfillmentStatus totalPriceSet {_MONEY}
        subtotalPriceSet {_MONEY} totalTaxSet {_MONEY} customer {{ {_CUSTOMER} }}
        billingAddress {_ADDRESS} shippingAddress {_ADDRESS}
        lineItems(first: {LINES_MAX}) {{ nodes {{ id title name sku quantity originalUnitPriceSet {_MONEY}
          variant {{ id legacyResourceId }} product {{ id legacyResourceId }} }} }}""",
    "customers": f"{_CUSTOMER} defaultAddress {_ADDRESS}",
    "products": """id legacyResourceId title handle vendor productType status tags createdAt updatedAt
        variants(first: 100) { nodes { id legacyResourceId title sku price inventoryQuantity } }""",
}


def _snake(address: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not address:
        return None
    names = {"firstName": "first_name", "lastName": "last_name", "countryCodeV2": "country_code"}
    return {names.get(k, k): v for k, v in address.items()}


def rest_shape(object: str, node: Mapping[str, Any]) -> dict[str, Any]:
    """A GraphQL node in the REST shape webhooks carry."""
    common = {
        "id": int(node["legacyResourceId"]),
        "admin_graphql_api_id": node["id"],
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "tags": ", ".join(node.get("tags") or []),
    }
    if object == "customers":
        return common | {
            "email": node.get("email"),
            "phone": node.get("phone"),
            "first_name": node.get("firstName"),
            "last_name": node.get("lastName"),
            "note": node.get("note"),
            "orders_count": node.get("numberOfOrders"),
            "default_address": _snake(node.get("defaultAddress")),
        }
    if object == "products":
        variants = [
            {
                "id": int(v["legacyResourceId"]),
                "title": v["title"],
                "sku": v.get("sku"),
                "price": v["price"],
                "inventory_quantity": v.get("inventoryQuantity"),
                "product_id": common["id"],
            }
            for v in (node.get("variants") or {}).get("nodes") or []
        ]
        return common | {
            "title": node["title"],
            "handle": node["handle"],
            "vendor": node.get("vendor"),
            "product_type": node.get("productType"),
            "status": str(node["status"]).lower(),
            "variants": variants,
        }
    customer = node.get("customer")
    lines = [
        {
            "id": int(str(line["id"]).rpartition("/")[2]),
            "title": line["title"],
            "name": line["name"],
            "sku": line.get("sku"),
            "quantity": line["quantity"],
            "price": line["originalUnitPriceSet"]["shopMoney"]["amount"],
            "variant_id": int(line["variant"]["legacyResourceId"]) if line.get("variant") else None,
            "product_id": int(line["product"]["legacyResourceId"]) if line.get("product") else None,
        }
        for line in (node.get("lineItems") or {}).get("nodes") or []
    ]
    return common | {
        "name": node["name"],
        "email": node.get("email"),
        "phone": node.get("phone"),
        "note": node.get("note"),
        "processed_at": node.get("processedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "currency": node["currencyCode"],
        "total_price": node["totalPriceSet"]["shopMoney"]["amount"],
        "subtotal_price": (node.get("subtotalPriceSet") or {}).get("shopMoney", {}).get("amount"),
        "total_tax": (node.get("totalTaxSet") or {}).get("shopMoney", {}).get("amount"),
        "financial_status": str(node.get("displayFinancialStatus") or "").lower() or None,
        "fulfillment_status": {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}.get(
            str(node.get("displayFulfillmentStatus"))
        ),
        "customer": rest_shape("customers", customer) if customer else None,
        "billing_address": _snake(node.get("billingAddress")),
        "shipping_address": _snake(node.get("shippingAddress")),
        "line_items": lines,
    }


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Client(ApiClient):
    provider = "shopify"
    default_retry_after = 2.0
    pace_wait_max = 1.0
    """Waits for the cost bucket up to this long are slept; longer ones go back to the queue."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        api_version: str = DEFAULT_VERSION,
        http: httpx.Client | None = None,
    ) -> None:
        super().__init__(base_url, credentials, http=http)
        self.api_version = api_version
        self._oauth = bool(credentials.load().get("refresh_token"))
        self._throttle: dict[str, float] = {}

    @classmethod
    def from_settings(
        cls, values: dict[str, Any], credentials: Credentials, *, http: httpx.Client | None = None
    ) -> Client:
        return cls(
            str(values["base_url"]),
            credentials,
            api_version=values.get("api_version") or DEFAULT_VERSION,
            http=http,
        )

    @property
    def uses_oauth(self) -> bool:
        return self._oauth

    def auth_headers(self, secrets: dict[str, Any]) -> dict[str, str]:
        return auth.header("X-Shopify-Access-Token", secrets.get("access_token"))

    def mint_token(self, secrets: dict[str, Any]) -> dict[str, Any]:
        """Expiring offline tokens: JSON refresh at the shop; the refresh token is replaced on every use."""
        form = {
            "client_id": secrets.get("client_id"),
            "client_secret": secrets.get("client_secret"),
            "grant_type": "refresh_token",
            "refresh_token": secrets.get("refresh_token"),
        }
        return oauth2.refresh(self, f"{self.base_url}/admin/oauth/access_token", form, as_json=True)

    def classify(
        self, response: httpx.Response, request: dict[str, Any], reply: dict[str, Any]
    ) -> ProviderError:
        body = json_body(response)
        errors = body.get("errors") if isinstance(body, dict) else None
        message = f"shopify: {request['method']} {request['url']} answered {response.status_code}"
        if errors:
            message += f": {errors}"
        kind = Invalid if response.status_code in (401, 403) else by_status(response.status_code)
        if response.status_code == 401 and self.uses_oauth:  # an expiring token expired: refresh, once
            kind = AuthExpired
        if response.status_code == 422:
            taken = isinstance(errors, dict) and any("taken" in str(m) for m in errors.values())
            kind = Conflict if taken else Invalid
        return make(
            kind,
            message,
            request=request,
            response=reply,
            details=errors,
            connection_id=self.credentials.connection_id,
            retry_after=retry_after(response, self.default_retry_after),
        )

    # --- GraphQL ---

    def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, cost: float = 10
    ) -> dict[str, Any]:
        """``data`` of one query, paced by the cost the last answer reported: a wait under ``pace_wait_max``
        is slept, a longer one is ``RateLimited``; ``THROTTLED`` is ``RateLimited`` too."""
        status = self._throttle
        if status and status["available"] < cost:
            wait = (cost - status["available"]) / max(status["rate"], 1.0)
            if wait > self.pace_wait_max:
                raise RateLimited(
                    f"shopify: the cost bucket needs {wait:.1f} s to pay for {cost:.0f} points", wait
                )
            time.sleep(wait)
        response = self.request(
            "POST",
            f"/admin/api/{self.api_version}/graphql.json",
            json={"query": query, "variables": dict(variables or {})},
        )
        answer = json_body(response) or {}
        throttle = ((answer.get("extensions") or {}).get("cost") or {}).get("throttleStatus")
        if throttle:
            self._throttle = {
                "available": float(throttle["currentlyAvailable"]),
                "rate": float(throttle["restoreRate"]),
            }
        errors = answer.get("errors") or []
        sent = summary_of_request(response.request)
        reply = summary_of_response(response)
        if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
            requested = float(
                ((answer.get("extensions") or {}).get("cost") or {}).get("requestedQueryCost") or cost
            )
            wait = max(
                1.0, (requested - self._throttle.get("available", 0)) / max(self._throttle.get("rate", 50), 1)
            )
            raise RateLimited("shopify: THROTTLED", wait, request=sent, response=reply)
        if errors:
            raise Invalid(
                f"shopify: {errors[0].get('message')}", details=errors, request=sent, response=reply
            )
        data: dict[str, Any] = answer.get("data") or {}
        return data

    def _mutate(self, name: str, query: str, variables: Mapping[str, Any], key: str) -> dict[str, Any]:
        payload = self.graphql(query, variables)[name]
        problems = payload.get("userErrors") or []
        if problems:
            text = "; ".join(str(p.get("message")) for p in problems)
            kind = Conflict if any("taken" in str(p.get("message")) for p in problems) else Invalid
            raise make(kind, f"shopify: {name}: {text}", request=None, response=None, details=problems)
        result: dict[str, Any] = payload[key]
        return result

    # --- RecordApi ---

    def check(self) -> str:
        shop = self.graphql("{ shop { name myshopifyDomain } }")["shop"]
        return f"Shopify store {shop['name']} ({shop['myshopifyDomain']})"

    def _list(self, object: str, query: str | None, cursor: str | None, limit: int, sort: str = "ID") -> Page:
        if object not in _KINDS:
            raise ValueError(f"shopify: unknown object {object!r} (known: {', '.join(_KINDS)})")
        text = f"""query ($first: Int!, $after: String, $query: String) {{
            {object}(first: $first, after: $after, query: $query, sortKey: {sort}) {{
              pageInfo {{ hasNextPage endCursor }} nodes {{ {_FIELDS[object]} }} }} }}"""
        first = max(1, min(limit, PAGE_MAX))
        found = self.graphql(text, {"first": first, "after": cursor, "query": query}, cost=2 + first * 3)[
            object
        ]
        nodes, following = paging.connection(found)
        return Page([rest_shape(object, node) for node in nodes], following)

    def list_changed(
        self, object: str, since: str | None = None, cursor: str | None = None, limit: int = 50
    ) -> Page:
        """Oldest change first (``sortKey: UPDATED_AT``); ``updated_at:>=`` the mark (records at that very
        second come again: at least once)."""
        query = f"updated_at:>={_quoted(since)}" if since else None
        return self._list(object, query, cursor, limit, "UPDATED_AT")

    def get(self, object: str, id: str) -> dict[str, Any] | None:
        node_id = id if str(id).startswith("gid://") else f"gid://shopify/{_KINDS[object]}/{id}"
        name = _KINDS[object][0].lower() + _KINDS[object][1:]
        found = self.graphql(
            f"query ($id: ID!) {{ {name}(id: $id) {{ {_FIELDS[object]} }} }}", {"id": node_id}
        )
        node = found.get(name)
        return rest_shape(object, node) if node else None

    def search(self, object: str, field: str, value: str) -> list[dict[str, Any]]:
        """Shopify's search syntax, exact (emails compared case-insensitively)."""
        if field == "id":
            found = self.get(object, value)
            return [found] if found else []
        records = list(paginate(lambda cursor: self._list(object, f"{field}:{_quoted(value)}", cursor, 50)))
        return [
            r for r in records if str(r.get(field) or "").casefold() == value.casefold() or field == "sku"
        ]

    def create(self, object: str, data: dict[str, Any]) -> dict[str, Any]:
        if object != "customers":
            raise Invalid(f"shopify: this connector writes customers only, not {object}")
        mutation = f"""mutation ($input: CustomerInput!) {{ customerCreate(input: $input) {{
            customer {{ {_FIELDS["customers"]} }} userErrors {{ field message }} }} }}"""
        return rest_shape(
            "customers",
            self._mutate("customerCreate", mutation, {"input": _customer_input(data)}, "customer"),
        )

    def update(self, object: str, id: str, data: dict[str, Any]) -> dict[str, Any]:
        if object != "customers":
            raise Invalid(f"shopify: this connector writes customers only, not {object}")
        mutation = f"""mutation ($input: CustomerInput!) {{ customerUpdate(input: $input) {{
            customer {{ {_FIELDS["customers"]} }} userErrors {{ field message }} }} }}"""
        given = _customer_input(data) | {"id": f"gid://shopify/Customer/{id}"}
        return rest_shape("customers", self._mutate("customerUpdate", mutation, {"input": given}, "customer"))

    def delete(self, object: str, id: str) -> None:
        raise Invalid("shopify: this connector deletes nothing")

    def upsert(self, object: str, key_field: str, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Customers by email: search, then update or create (Shopify has no upsert)."""
        found = self.search(object, key_field, str(data[key_field])) if data.get(key_field) else []
        if found:
            return self.update(object, str(found[0]["id"]), data), False
        return self.create(object, data), True

    def record_id(self, record: Mapping[str, Any]) -> str:
        return str(record["id"])

    def modified_at(self, record: Mapping[str, Any]) -> str:
        return (
            datetime.fromisoformat(str(record["updated_at"]).replace("Z", "+00:00"))
            .astimezone(UTC)
            .isoformat()
        )

    # --- webhooks ---

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[Change]:
        """One change: the record whole (REST JSON), its topic (``orders/create``) from the headers."""
        name = topic(headers, body) or ""
        resource, _, verb = name.partition("/")
        data = parse_json(body)
        action = _TOPIC_ACTIONS.get(verb)
        if resource not in _KINDS or action is None or not isinstance(data, dict) or "id" not in data:
            return []
        stamp = data.get("updated_at")
        occurred = datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp() if stamp else None
        return [Change(resource, str(data["id"]), action, data, occurred)]

    def subscribe(self, topics: Sequence[str], url: str) -> list[dict[str, Any]]:
        """A subscription per topic (``orders/create``) to ``url``; existing ones are kept."""
        existing = self.graphql("{ webhookSubscriptions(first: 100) { nodes { id topic callbackUrl } } }")
        have = {(n["topic"], n["callbackUrl"]) for n in existing["webhookSubscriptions"]["nodes"]}
        mutation = """mutation ($topic: WebhookSubscriptionTopic!, $url: URL!) {
            webhookSubscriptionCreate(topic: $topic, webhookSubscription: {callbackUrl: $url, format: JSON}) {
              webhookSubscription { id topic callbackUrl } userErrors { field message } } }"""
        made = []
        for name in topics:
            enum = name.upper().replace("/", "_").replace(".", "_")
            if (enum, url) not in have:
                made.append(
                    self._mutate(
                        "webhookSubscriptionCreate",
                        mutation,
                        {"topic": enum, "url": url},
                        "webhookSubscription",
                    )
                )
        return made


def _customer_input(data: Mapping[str, Any]) -> dict[str, Any]:
    names = {
        "email": "email",
        "phone": "phone",
        "first_name": "firstName",
        "last_name": "lastName",
        "note": "note",
    }
    given = {camel: data[snake] for snake, camel in names.items() if snake in data}
    if "tags" in data:
        given["tags"] = [t.strip() for t in str(data["tags"]).split(",") if t.strip()]
    return given
