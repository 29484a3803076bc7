"""WooCommerce connector.

Webhooks section: WooCommerce signs the exact body bytes it sends (``trim(wp_json_encode(payload))``,
which escapes ``/`` as ``\\/``), so verification must use the raw bytes received, never a re-encoding.
Source: woocommerce ``includes/class-wc-webhook.php`` (``generate_signature``, ``deliver_ping``).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx

from isao.connectors._signing import b64, header, hmac_sha256, lower_keys, parse_json, require_secret, same
from isao.connectors.base import (
    ApiClient,
    BatchResult,
    Change,
    Credentials,
    Page,
    Setting,
    json_body,
    paginate,
    retry_after,
    summary_of_request,
)
from isao.connectors.kit import auth, paging
from isao.errors import (
    Conflict,
    Invalid,
    NotFound,
    ProviderError,
    RateLimited,
    SignatureInvalid,
    Transient,
)

# --- Webhooks -------------------------------------------------------------------------------------

SIGNATURE_HEADER = "X-WC-Webhook-Signature"
_PING_BODY = re.compile(rb"\s*webhook_id=\d+\s*")
# The entities wp_specialchars_decode(..., ENT_QUOTES) turns back into characters.
_ENTITY = re.compile(r"&(?:(lt|gt|quot|amp)|#0*(60|62|34|39|38)|#[xX]0*(22|27|26));")
_NAMED = {"lt": "<", "gt": ">", "quot": '"', "amp": "&"}


def _wp_specialchars_decode(secret: str) -> str:
    """WooCommerce keys the HMAC with ``wp_specialchars_decode(secret, ENT_QUOTES)``; mirror it (one pass,
    the same entities) so a secret copied in its stored, entity-encoded form (``a&amp;b``) still verifies."""
    return _ENTITY.sub(_entity_char, secret)


def _entity_char(match: re.Match[str]) -> str:
    name, decimal, hexadecimal = match.groups()
    if decimal:
        return chr(int(decimal))
    if hexadecimal:
        return chr(int(hexadecimal, 16))
    return _NAMED[name]


def _signature(secret: str, body: bytes) -> str:
    return b64(hmac_sha256(_wp_specialchars_decode(secret), body))


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    url: str,
    method: str = "POST",
    now: float,
) -> None:
    """Raise ``SignatureInvalid`` unless ``X-WC-Webhook-Signature`` is base64(HMAC-SHA256(secret, body)).
    WooCommerce sends no timestamp, so there is no replay window to check (dedupe covers replays)."""
    require_secret(secret, "woocommerce")
    given = header(lower_keys(headers), SIGNATURE_HEADER.lower())
    if given is None:
        raise SignatureInvalid(f"woocommerce: missing {SIGNATURE_HEADER} header")
    if not same(_signature(secret, body), given):
        raise SignatureInvalid(f"woocommerce: {SIGNATURE_HEADER} does not match the body and secret")


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """The unsigned form post ``webhook_id=<id>`` WooCommerce sends when a webhook is created; it
    must be answered 200 (or the admin sees an error) and must not be treated as an event."""
    normalised = lower_keys(headers)
    if any(name.startswith("x-wc-webhook-") for name in normalised):
        return False
    return _PING_BODY.fullmatch(body) is not None


def delivery_id(headers: Mapping[str, str], body: bytes) -> str | None:
    """``X-WC-Webhook-Delivery-ID`` with the topic and a hash of the body. WooCommerce derives the id from
    the webhook id and the current *second* (``wp_hash($id . strtotime('now'))``), so two orders created in
    the same second share it: the id alone would drop the second order as a duplicate."""
    normalised = lower_keys(headers)
    given = header(normalised, "x-wc-webhook-delivery-id")
    if given is None:
        return None
    digest = hashlib.sha256(body).hexdigest()[:16]
    return f"{given}:{header(normalised, 'x-wc-webhook-topic') or ''}:{digest}"


def topic(headers: Mapping[str, str], body: bytes) -> str | None:
    """E.g. ``order.created``."""
    return header(lower_keys(headers), "x-wc-webhook-topic")


def sign(
    secret: str,
    body: bytes,
    *,
    topic: str | None = None,
    webhook_id: int | str | None = None,
    delivery_id: str | None = None,
    source: str | None = None,
) -> dict[str, str]:
    """The headers WooCommerce sends with ``body`` (for sandboxes, tests and load generators); the
    optional ones are added when given, with ``X-WC-Webhook-Resource``/``-Event`` split from ``topic``."""
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: _signature(secret, body)}
    if topic is not None:
        resource, _, event = topic.partition(".")
        headers |= {
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
        }
    if webhook_id is not None:
        headers["X-WC-Webhook-ID"] = str(webhook_id)
    if delivery_id is not None:
        headers["X-WC-Webhook-Delivery-ID"] = delivery_id
    if source is not None:
        headers["X-WC-Webhook-Source"] = source
    return headers


# --- REST API client -------------------------------------------------------------------------------
#
# Facts the client is built on (WooCommerce REST controllers v1-v3, WordPress REST server):
# - Basic auth with the key pair, or ``consumer_key``/``consumer_secret`` in the query string for hosts that
#   drop the Authorization header. WooCommerce honours both only over https; a plain-http store needs
#   OAuth 1.0a, which this client does not sign.
# - Lists page by number (``page``, ``per_page`` <= 100) with ``X-WP-Total``/``X-WP-TotalPages``. Orders and
#   products filter ``modified_after`` (exclusive, to the second) and sort by ``modified``; customers have
#   neither, so their changes come from a scan by id filtered here.
# - No upsert and no search endpoint: natural keys are looked up with ``?email=`` / ``?sku=`` / ``?search=``.
# - ``/batch`` takes create + update + delete <= 100 items and answers per item, failures inside the 200.
# - Errors are ``WP_Error`` bodies ``{"code","message","data":{"status",…}}``; duplicates are 400s
#   (``product_invalid_sku`` names the owner in ``data.resource_id``), and an unknown id is a 404 on read
#   but a 400 ``…_invalid_id`` on update, so the code decides.

API_PREFIX = "/wp-json/wc/v3"
OBJECTS = ("orders", "customers", "products")
BATCH_LIMIT = 100
NATURAL_KEYS = {"customers": "email", "products": "sku"}
"""The key ``batch_upsert`` matches on when none is given (orders have none)."""

SETTINGS: tuple[Setting, ...] = (
    Setting("base_url", "Store address, e.g. https://shop.example.com (the site URL, without /wp-json)"),
    Setting(
        "consumer_key",
        "REST API consumer key (ck_...): WooCommerce > Settings > Advanced > REST API",
        secret=True,
    ),
    Setting("consumer_secret", "REST API consumer secret (cs_...)", secret=True),
    Setting(
        "webhook_secret",
        "The secret set on the store's webhooks, to verify their signatures",
        secret=True,
        required=False,
    ),
    Setting(
        "query_string_auth",
        "true to send the key pair as query parameters, for hosts that strip the Authorization header",
        required=False,
        default="false",
    ),
)

_CONFLICT_CODES = {
    "registration-error-email-exists",
    "registration-error-username-exists",
    "woocommerce_rest_customer_invalid_email",
}
_ACTIONS: dict[str, Literal["created", "updated", "deleted"]] = {
    "created": "created",
    "updated": "updated",
    "deleted": "deleted",
    "restored": "updated",  # back from the trash: present again, with its current data
    "published": "updated",
}
_PAGES = "x-wp-totalpages"
_TRANSPORT_PREFIX = re.compile(r"/wp-json(?:/.*)?$")


def _truthy(value: Any) -> bool:
    return str(value or "").strip().lower() in {"1", "true", "yes", "on"}


def _wp_error(body: Any) -> tuple[str, str, dict[str, Any]]:
    """(code, message, data) of a ``WP_Error`` body; empty strings when the body is something else."""
    if not isinstance(body, dict):
        return "", "", {}
    data = body.get("data")
    return str(body.get("code") or ""), str(body.get("message") or ""), data if isinstance(data, dict) else {}


def _utc(text: str) -> datetime:
    """A WooCommerce ``*_gmt`` date (no offset) or any ISO 8601 date, as an aware UTC datetime."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _field(record: Mapping[str, Any], path: str) -> Any:
    """``billing.email`` → ``record["billing"]["email"]``."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _same(field: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False
    if field.split(".")[-1] == "email":
        return str(left).strip().casefold() == str(right).strip().casefold()
    return str(left) == str(right)


class Client(ApiClient):
    """One WooCommerce store. ``object`` is ``orders``, ``customers`` or ``products``."""

    provider = "woocommerce"
    default_retry_after = 10.0
    """WooCommerce itself never answers 429; hosts and security plugins do, often without ``Retry-After``."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        query_string_auth: bool = False,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # People paste the API root as often as the store address.
        super().__init__(
            _TRANSPORT_PREFIX.sub("", base_url.strip().rstrip("/")),
            credentials,
            http=http,
            timeout=timeout,
            clock=clock,
        )
        self.query_string_auth = query_string_auth

    @classmethod
    def from_settings(
        cls, values: dict[str, Any], credentials: Credentials, *, http: httpx.Client | None = None
    ) -> Client:
        base_url = str(values.get("base_url") or "").strip()
        if not base_url.startswith(("http://", "https://")):
            raise Invalid(f"woocommerce: base_url must be the store's http(s) address, not {base_url!r}")
        return cls(
            base_url, credentials, query_string_auth=_truthy(values.get("query_string_auth")), http=http
        )

    # --- what the base asks for -------------------------------------------------------------------

    def auth_headers(self, secrets: dict[str, Any]) -> dict[str, str]:
        if self.query_string_auth:
            return {}
        return auth.basic(str(secrets.get("consumer_key", "")), str(secrets.get("consumer_secret", "")))

    def auth_params(self, secrets: dict[str, Any]) -> dict[str, str]:
        if not self.query_string_auth:
            return {}
        return {
            "consumer_key": str(secrets.get("consumer_key", "")),
            "consumer_secret": str(secrets.get("consumer_secret", "")),
        }

    def classify(
        self, response: httpx.Response, request: dict[str, Any], reply: dict[str, Any]
    ) -> ProviderError:
        code, message, data = _wp_error(json_body(response))
        wait = retry_after(response, self.default_retry_after) if response.status_code == 429 else 0.0
        return self._error(response.status_code, code, message, data, request, reply, wait)

    def _error(
        self,
        status: int,
        code: str,
        message: str,
        data: dict[str, Any],
        request: dict[str, Any],
        reply: dict[str, Any],
        wait: float = 0.0,
    ) -> ProviderError:
        """One reading of a ``WP_Error`` for whole answers and for the items inside a batch answer."""
        text = f"woocommerce: {request['method']} {request['url']} answered {status}"
        if code:
            text += f" {code}: {message}"
        kwargs: dict[str, Any] = {"request": request, "response": reply}
        if status == 429:
            return RateLimited(text, wait, **kwargs)
        if code == "rest_no_route" or (status == 404 and not code):
            # Not a missing record: no WooCommerce REST API at this URL (or pretty permalinks are off).
            return Invalid(
                text + " (check base_url and the store's permalink settings)", details=data, **kwargs
            )
        if status == 404 or code.endswith("_invalid_id"):
            return NotFound(text, **kwargs)
        if status in (401, 403):
            # No token to refresh: a rejected key pair stays rejected until someone replaces it.
            return Invalid(text, details=reply.get("body"), **kwargs)
        if code == "product_invalid_sku":
            owner = data.get("resource_id")
            return Conflict(text, existing_id=str(owner) if owner else None, **kwargs)
        if code in _CONFLICT_CODES:
            return Conflict(text, **kwargs)
        if status in (408, 425) or status >= 500:
            return Transient(text, **kwargs)
        return Invalid(text, details=reply.get("body"), **kwargs)

    # --- generic operations -----------------------------------------------------------------------

    def _path(self, object: str, *rest: Any) -> str:
        if object not in OBJECTS:
            raise ValueError(f"woocommerce: unknown object {object!r} (known: {', '.join(OBJECTS)})")
        return "/".join([API_PREFIX, object, *(str(part) for part in rest)])

    def check(self) -> str:
        response = self.request("GET", self._path("orders"), params={"per_page": 1})
        return f"WooCommerce store {self.base_url}: {response.headers.get('x-wp-total', '?')} orders"

    def list_changed(
        self, object: str, since: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> Page:
        """Oldest-modified first for orders and products; customers in id order, filtered here.

        ``modified_after`` is exclusive and to the second, so ``since`` is moved back one second. The cursor
        is the next page number: records modified while paging move to the end, and one may shift onto an
        already-read page, so callers poll again from the newest ``modified_at`` they stored.
        """
        page = int(cursor) if cursor else 1
        if page < 1:
            raise ValueError(f"woocommerce: bad cursor {cursor!r}")
        params: dict[str, Any] = {"page": page, "per_page": max(1, min(limit, 100))}
        floor = _utc(since).replace(microsecond=0) if since else None
        if object == "customers":
            params |= {"orderby": "id", "order": "asc"}
        else:
            params |= {"orderby": "modified", "order": "asc"}
            if floor is not None:
                after = (floor - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
                params |= {"modified_after": after, "dates_are_gmt": "true"}
        response = self.request("GET", self._path(object), params=params)
        records = [r for r in response.json() if isinstance(r, dict)]
        if object == "customers" and floor is not None:
            records = [r for r in records if _utc(self.modified_at(r)) >= floor]
        total = response.headers.get("x-wp-total")
        return Page(records, paging.next_number(response, page, _PAGES), int(total) if total else None)

    def get(self, object: str, id: str | int) -> dict[str, Any] | None:
        try:
            record: dict[str, Any] = self.request("GET", self._path(object, id)).json()
        except NotFound:
            return None
        return record

    def search(self, object: str, field: str, value: Any) -> list[dict[str, Any]]:
        """Exact matches on ``field`` (dotted for nested, e.g. ``billing.email``; emails ignore case)."""
        params: dict[str, Any] = {"per_page": 100}
        if object == "customers" and field == "email":
            if "@" not in str(value):
                return []
            # role=all: a shop manager or subscriber with this email would still block a new customer.
            params |= {"email": str(value), "role": "all"}
        elif object == "products" and field == "sku":
            params["sku"] = str(value)  # "A,B,C" finds each of them, as WooCommerce reads it
        elif object == "orders" and field in ("customer", "customer_id"):
            field, params["customer"] = "customer_id", str(value)
        else:
            params["search"] = str(value)
        try:
            found = self.request("GET", self._path(object), params=params).json()
        except Invalid as error:
            code, _, _ = _wp_error((error.response or {}).get("body"))
            if code == "rest_invalid_param" and "email" in params:
                return []  # WordPress refuses ?email= with what is_email() rejects: nobody has it
            raise
        wanted = [part.strip() for part in str(value).split(",")] if field == "sku" else [value]
        return [
            r for r in found if isinstance(r, dict) and any(_same(field, _field(r, field), w) for w in wanted)
        ]

    def list_matching(self, object: str, filters: Mapping[str, Any], cursor: str | None = None) -> Page:
        """A page of the records matching WooCommerce's own list filters (``status``, ``before``,
        ``customer``…), oldest first: what a scan trigger reads instead of the changes since a cursor."""
        page = int(cursor) if cursor else 1
        params = {"page": page, "per_page": 100, "orderby": "id", "order": "asc", "dates_are_gmt": "true"}
        response = self.request("GET", self._path(object), params=params | dict(filters))
        records = [r for r in response.json() if isinstance(r, dict)]
        return Page(records, paging.next_number(response, page, _PAGES))

    def create(self, object: str, data: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = self.request("POST", self._path(object), json=data).json()
        return record

    def update(self, object: str, id: str | int, data: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = self.request("PUT", self._path(object, id), json=data).json()
        return record

    def delete(self, object: str, id: str | int, *, permanent: bool = False) -> None:
        """Orders and products go to the trash (recoverable, and it is what fires ``*.deleted`` webhooks)
        unless ``permanent``; customers cannot be trashed, so they are always deleted. Deleting what is
        already in the trash is done, not an error."""
        force = permanent or object == "customers"
        try:
            self.request("DELETE", self._path(object, id), params={"force": "true"} if force else None)
        except Invalid as error:
            code, _, _ = _wp_error((error.response or {}).get("body"))
            if code != "woocommerce_rest_already_trashed":
                raise

    def upsert(self, object: str, key_field: str, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Look up by ``key_field``, then update the first match or create (WooCommerce has no upsert)."""
        value = _field(data, key_field)
        existing = self.search(object, key_field, value) if value not in (None, "") else []
        if existing:
            return self.update(object, existing[0]["id"], data), False
        try:
            return self.create(object, data), True
        except Conflict as error:  # created meanwhile by someone else
            again = self.search(object, key_field, value) if value not in (None, "") else []
            owner = again[0]["id"] if again else error.existing_id
            if owner is None:
                raise
            return self.update(object, owner, data), False

    def record_id(self, record: Mapping[str, Any]) -> str:
        return str(record["id"])

    def modified_at(self, record: Mapping[str, Any]) -> str:
        stamp = record.get("date_modified_gmt") or record.get("date_created_gmt")
        if not stamp:
            raise ValueError("woocommerce: record has no date_modified_gmt")
        return _utc(str(stamp)).isoformat()

    # --- batches ------------------------------------------------------------------------------------

    def batch_create(self, object: str, items: list[dict[str, Any]]) -> BatchResult:
        return self._batch(object, [("create", item) for item in items])

    def batch_update(self, object: str, items: list[dict[str, Any]]) -> BatchResult:
        missing = [index for index, item in enumerate(items) if not item.get("id")]
        if missing:
            raise ValueError(f"woocommerce: batch_update items without an id at {missing}")
        return self._batch(object, [("update", item) for item in items])

    def batch_upsert(
        self, object: str, items: list[dict[str, Any]], key_field: str | None = None
    ) -> BatchResult:
        """Each item looked up by ``key_field`` (email for customers, sku for products), then one mixed
        create/update batch per 100 items; results in input order."""
        key = key_field or NATURAL_KEYS.get(object)
        if key is None:
            raise ValueError(f"woocommerce: {object} have no natural key; pass key_field")
        plan: list[tuple[str, dict[str, Any]]] = []
        for item in items:
            value = _field(item, key)
            found = self.search(object, key, value) if value not in (None, "") else []
            plan.append(("update", {**item, "id": found[0]["id"]}) if found else ("create", item))
        return self._batch(object, plan)

    def _batch(self, object: str, plan: list[tuple[str, dict[str, Any]]]) -> BatchResult:
        result = BatchResult()
        for start in range(0, len(plan), BATCH_LIMIT):
            chunk = plan[start : start + BATCH_LIMIT]
            payload: dict[str, list[dict[str, Any]]] = {}
            for action, item in chunk:
                payload.setdefault(action, []).append(item)
            response = self.request("POST", self._path(object, "batch"), json=payload)
            sent = summary_of_request(response.request)
            answer = response.json()
            taken = dict.fromkeys(payload, 0)
            for action, _ in chunk:
                entries = answer.get(action) or []
                entry = entries[taken[action]] if taken[action] < len(entries) else {}
                taken[action] += 1
                result.results.append(entry)
                if "error" in entry:
                    code, message, data = _wp_error(entry["error"])
                    status = int(data.get("status") or 400)
                    reply = {"status": status, "headers": {}, "body": entry}
                    result.errors.append(self._error(status, code, message, data, sent, reply))
        return result

    # --- webhooks ---------------------------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[Change]:
        """One change per delivery, the record whole (``{"id"}`` only for ``deleted``); a ping is none."""
        if is_ping(headers, body):
            return []
        name = topic(headers, body) or ""
        normalised = lower_keys(headers)
        resource = header(normalised, "x-wc-webhook-resource") or name.partition(".")[0]
        event = header(normalised, "x-wc-webhook-event") or name.partition(".")[2]
        action = _ACTIONS.get(event)
        data = parse_json(body)
        if action is None or resource == "action" or not isinstance(data, dict) or "id" not in data:
            return []
        stamp = data.get("date_modified_gmt")
        occurred = _utc(str(stamp)).timestamp() if stamp else None
        return [Change(resource + "s", str(data["id"]), action, data, occurred)]

    def create_webhook(
        self, topic: str, delivery_url: str, secret: str, name: str | None = None
    ) -> dict[str, Any]:
        """WooCommerce pings ``delivery_url`` before answering; the ping's failure does not fail this."""
        body = {"topic": topic, "delivery_url": delivery_url, "secret": secret, "status": "active"}
        if name:
            body["name"] = name
        hook: dict[str, Any] = self.request("POST", f"{API_PREFIX}/webhooks", json=body).json()
        return hook

    def list_webhooks(self) -> list[dict[str, Any]]:
        def page(cursor: str | None) -> Page:
            number = int(cursor or 1)
            response = self.request("GET", f"{API_PREFIX}/webhooks", params={"page": number, "per_page": 100})
            return Page(list(response.json()), paging.next_number(response, number, _PAGES))

        return list(paginate(page))

    def delete_webhook(self, id: str | int) -> None:
        self.request("DELETE", f"{API_PREFIX}/webhooks/{id}", params={"force": "true"})
