"""Stripe connector: the ``/v1`` API client (below) and webhooks.

Webhooks section: ``Stripe-Signature: t=<unix s>,v1=<hex>[,v1=<hex>...]`` where each ``v1`` is
hex(HMAC-SHA256(endpoint secret, f"{t}.{raw body}")). Several ``v1`` values appear while a secret is
being rolled; any match passes. Other schemes (``v0``) are ignored. Source: stripe-python
``stripe/_webhook.py`` (``WebhookSignature``, ``DEFAULT_TOLERANCE``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import orjson

from isao.connectors._signing import header, hmac_sha256, lower_keys, parse_json, require_secret, same
from isao.connectors.base import (
    ApiClient,
    Change,
    Credentials,
    Page,
    Setting,
    json_body,
    paginate,
    retry_after,
)
from isao.connectors.kit import auth, paging
from isao.connectors.kit.errors import Kind, by_status, make
from isao.errors import Invalid, NotFound, ProviderError, RateLimited, SignatureInvalid, Transient

# --- Webhooks -------------------------------------------------------------------------------------

SIGNATURE_HEADER = "Stripe-Signature"
TOLERANCE_SECONDS = 300


def _signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac_sha256(secret, timestamp.encode("ascii") + b"." + body).hex()


def _parse(value: str) -> tuple[str, list[str]]:
    """The first ``t`` and every ``v1`` of the header."""
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in value.split(","):
        key, _, item_value = item.strip().partition("=")
        if key == "t":
            timestamps.append(item_value)
        elif key == "v1":
            signatures.append(item_value)
    if not timestamps or not timestamps[0].isascii() or not timestamps[0].isdigit():
        raise SignatureInvalid(f"stripe: {SIGNATURE_HEADER} has no valid t= timestamp")
    if not signatures:
        raise SignatureInvalid(f"stripe: {SIGNATURE_HEADER} has no v1 signature")
    return timestamps[0], signatures


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    url: str,
    method: str = "POST",
    now: float,
) -> None:
    """Raise ``SignatureInvalid`` unless some ``v1`` matches and ``t`` is at most 300 s old. Like
    Stripe's SDK, only the age is limited: a receiver whose clock lags must not refuse real events."""
    require_secret(secret, "stripe")
    value = header(lower_keys(headers), SIGNATURE_HEADER.lower())
    if value is None:
        raise SignatureInvalid(f"stripe: missing {SIGNATURE_HEADER} header")
    timestamp, signatures = _parse(value)
    expected = _signature(secret, timestamp, body)
    # Check every candidate (no early exit) so timing does not reveal which one matched.
    if not any([same(expected, candidate) for candidate in signatures]):  # noqa: C419
        raise SignatureInvalid(f"stripe: no v1 signature in {SIGNATURE_HEADER} matches the body and secret")
    if int(timestamp) < now - TOLERANCE_SECONDS:
        raise SignatureInvalid(
            f"stripe: timestamp {timestamp} is outside the {TOLERANCE_SECONDS} s tolerance window"
        )


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """Stripe has no unsigned ping."""
    return False


def _event_field(body: bytes, name: str) -> str | None:
    event = parse_json(body)
    value = event.get(name) if isinstance(event, dict) else None
    return value if isinstance(value, str) and value else None


def delivery_id(headers: Mapping[str, str], body: bytes) -> str | None:
    """The event's ``id`` (``evt_...``), the same on every retry."""
    return _event_field(body, "id")


def topic(headers: Mapping[str, str], body: bytes) -> str | None:
    """The event's ``type``, e.g. ``payment_intent.succeeded``."""
    return _event_field(body, "type")


def sign(secret: str, body: bytes, timestamp: int, *, previous_secrets: Sequence[str] = ()) -> dict[str, str]:
    """The headers Stripe sends with ``body`` at ``timestamp`` (Unix seconds); during a secret roll
    Stripe adds a ``v1`` for each still-valid older secret, which ``previous_secrets`` reproduces."""
    t = str(int(timestamp))
    v1 = ",".join(f"v1={_signature(s, t, body)}" for s in (secret, *previous_secrets))
    return {"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: f"t={t},{v1}"}


# --- API client -----------------------------------------------------------------------------------
#
# ``/v1`` with form-encoded bodies (bracket nesting), ``Authorization: Bearer sk_…``, lists newest first
# with ``starting_after``/``has_more``, search with ``page``/``next_page`` (its own lower limit and a lag of
# up to a minute), ``Idempotency-Key`` on every create, and ``{"error": {type, code, message, param}}``
# (saas-apis-directory.md §2). Stripe has no "modified since" filter: changes come from ``/v1/events``
# (kept 30 days), whose ``data.object`` is the object as of that change.

DEFAULT_BASE_URL = "https://api.stripe.com"
API_VERSION = "2024-06-20"
PAGE_MAX = 100
OBJECTS = {
    "customers": "customer",
    "payment_intents": "payment_intent",
    "charges": "charge",
    "invoices": "invoice",
    "products": "product",
    "prices": "price",
    "refunds": "refund",
}
_SEARCHABLE = {"customers", "payment_intents", "charges", "invoices", "products", "prices"}
_ERRORS: dict[str, Kind] = {
    "resource_missing": NotFound,
    "rate_limit": RateLimited,
    "idempotency_key_in_use": Transient,
    "lock_timeout": Transient,
}
_CHANGED_AT = "_changed_at"
"""Set on records read from events: when that change happened (Unix seconds)."""

SETTINGS: tuple[Setting, ...] = (
    Setting("base_url", "API root", required=False, default=DEFAULT_BASE_URL),
    Setting("api_key", "Secret or restricted key (sk_… / rk_…)", secret=True),
    Setting("webhook_secret", "The endpoint's signing secret (whsec_…)", secret=True, required=False),
    Setting("api_version", "Stripe-Version sent with each call", required=False, default=API_VERSION),
)


def _form(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's bracket nesting: ``{"metadata": {"a": 1}}`` → ``metadata[a]=1``; lists index their items."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            pairs += _form(value, name)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                pairs += (
                    _form({str(index): item}, name)
                    if isinstance(item, Mapping)
                    else [(f"{name}[]", str(item))]
                )
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif value is None:
            pairs.append((name, ""))
        else:
            pairs.append((name, str(value)))
    return pairs


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Client(ApiClient):
    provider = "stripe"
    default_retry_after = 1.0
    default_rate_limit = "25/1"
    """Stripe's test-mode ceiling (live mode: 100 per second)."""

    def __init__(self, base_url: str, credentials: Credentials, *, api_version: str = API_VERSION,
                 http: httpx.Client | None = None) -> None:  # fmt: skip
        super().__init__(base_url, credentials, http=http)
        self.api_version = api_version

    @classmethod
    def from_settings(
        cls, values: dict[str, Any], credentials: Credentials, *, http: httpx.Client | None = None
    ) -> Client:
        return cls(values.get("base_url") or DEFAULT_BASE_URL, credentials,
                   api_version=values.get("api_version") or API_VERSION, http=http)  # fmt: skip

    def auth_headers(self, secrets: dict[str, Any]) -> dict[str, str]:
        return auth.bearer(secrets.get("api_key")) | {"Stripe-Version": self.api_version}

    def classify(
        self, response: httpx.Response, request: dict[str, Any], reply: dict[str, Any]
    ) -> ProviderError:
        body = json_body(response)
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        code, status = str(error.get("code") or ""), response.status_code
        message = f"stripe: {request['method']} {request['url']} answered {status}"
        if error.get("message"):
            message += f" {code or error.get('type')}: {error['message']}"
        kind = _ERRORS.get(code) or (Invalid if status in (401, 403) else by_status(status))
        if response.headers.get("stripe-should-retry") == "true" and kind is Invalid:
            kind = Transient
        return make(kind, message, request=request, response=reply, details=error or body,
                    retry_after=retry_after(response, self.default_retry_after))  # fmt: skip

    def check(self) -> str:
        self.request("GET", "/v1/customers", params={"limit": 1})
        return f"Stripe account at {self.base_url} (API version {self.api_version})"

    def _path(self, object: str, *rest: str) -> str:
        if object not in OBJECTS:
            raise ValueError(f"stripe: unknown object {object!r} (known: {', '.join(OBJECTS)})")
        return "/".join(["/v1", object, *rest])

    def _post(self, path: str, data: Mapping[str, Any], key: str | None = None) -> dict[str, Any]:
        form: dict[str, Any] = {}
        for name, value in _form(data):  # repeated names (``expand[]``) become lists, sent in order
            form[name] = [*form[name], value] if name in form and name.endswith("[]") else value
        headers = {"Idempotency-Key": key} if key else None
        record: dict[str, Any] = self.request("POST", path, data=form, headers=headers).json()
        return record

    # --- RecordApi ---

    def get(self, object: str, id: str) -> dict[str, Any] | None:
        try:
            record: dict[str, Any] = self.request("GET", self._path(object, id)).json()
        except NotFound:
            return None
        return None if record.get("deleted") else record

    def list_changed(
        self, object: str, since: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> Page:
        """Without ``since``: the object's own list, newest first. With it: the objects that events since
        then name, newest change first, each read as it is now."""
        limit = max(1, min(limit, PAGE_MAX))
        if since is None:
            params: dict[str, Any] = {"limit": limit} | ({"starting_after": cursor} if cursor else {})
            payload = self.request("GET", self._path(object), params=params).json()
            return Page(list(payload.get("data") or []), paging.next_starting_after(payload))
        stamp = int(datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp())
        params = {"type": f"{OBJECTS[object]}.*", "created[gte]": stamp, "limit": limit}
        if cursor:
            params["starting_after"] = cursor
        payload = self.request("GET", "/v1/events", params=params).json()
        changed: dict[str, int] = {}
        for event in payload.get("data") or []:  # newest first: the first time an id is seen is its latest
            changed.setdefault(str(event["data"]["object"]["id"]), int(event["created"]))
        # Events hold the object as it was then, and come in no guaranteed order: read each one as it is now.
        records = [found | {_CHANGED_AT: at} for id, at in changed.items() if (found := self.get(object, id))]
        return Page(records, paging.next_starting_after(payload))

    def search(self, object: str, field: str, value: str) -> list[dict[str, Any]]:
        """``id`` reads the record; other fields use Stripe's search (exact, case-insensitive), or list
        filters where search does not reach (e.g. prices by product)."""
        if field == "id":
            found = self.get(object, value)
            return [found] if found else []
        if object not in _SEARCHABLE:
            raise Invalid(f"stripe: {object} cannot be searched")
        name = (
            f"metadata[{_quoted(field.removeprefix('metadata.'))}]"
            if field.startswith("metadata.")
            else field
        )
        query = f"{name}:{_quoted(str(value))}"

        def page(cursor: str | None) -> Page:
            params = {"query": query, "limit": PAGE_MAX} | ({"page": cursor} if cursor else {})
            payload = self.request("GET", self._path(object, "search"), params=params).json()
            return Page(
                list(payload.get("data") or []), payload.get("next_page") if payload.get("has_more") else None
            )

        return list(paginate(page))

    def create(self, object: str, data: dict[str, Any]) -> dict[str, Any]:
        # The key comes from the content: a create resent after a crash is replayed, not made twice.
        key = "isao-" + hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()[:40]
        return self._post(self._path(object), data, key)

    def update(self, object: str, id: str, data: dict[str, Any]) -> dict[str, Any]:
        return self._post(self._path(object, id), data)

    def delete(self, object: str, id: str) -> None:
        try:
            self.request("DELETE", self._path(object, id))
        except NotFound:
            return

    def upsert(self, object: str, key_field: str, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Stripe has no upsert: search by ``key_field``, then update or create."""
        found = self.search(object, key_field, str(data[key_field])) if data.get(key_field) else []
        if found:
            return self.update(object, found[0]["id"], data), False
        return self.create(object, data), True

    def record_id(self, record: Mapping[str, Any]) -> str:
        return str(record["id"])

    def modified_at(self, record: Mapping[str, Any]) -> str:
        stamp = record.get(_CHANGED_AT) or record.get("updated") or record["created"]
        return datetime.fromtimestamp(int(stamp), UTC).isoformat()

    # --- webhooks ---

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[Change]:
        """One change per event: the object as of the event, its type as the topic."""
        event = parse_json(body)
        if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
            return []
        obj, kind = event["data"].get("object"), str(event.get("type") or "")
        plural = next(
            (p for p, s in OBJECTS.items() if isinstance(obj, dict) and obj.get("object") == s), None
        )
        if plural is None or not isinstance(obj, dict) or "id" not in obj:
            return []
        verb = kind.rpartition(".")[2]
        action: Literal["created", "updated", "deleted"] = (
            "created" if verb == "created" else "deleted" if verb == "deleted" else "updated"
        )
        occurred = event.get("created")
        return [
            Change(plural, str(obj["id"]), action, obj, float(occurred) if occurred else None, topic=kind)
        ]

    def create_webhook(self, url: str, events: Sequence[str]) -> dict[str, Any]:
        """A webhook endpoint; its ``secret`` (``whsec_…``) is in this answer only."""
        return self._post("/v1/webhook_endpoints", {"url": url, "enabled_events": list(events)})

    def list_webhooks(self) -> list[dict[str, Any]]:
        def page(cursor: str | None) -> Page:
            params: dict[str, Any] = {"limit": PAGE_MAX} | ({"starting_after": cursor} if cursor else {})
            payload = self.request("GET", "/v1/webhook_endpoints", params=params).json()
            return Page(list(payload.get("data") or []), paging.next_starting_after(payload))

        return list(paginate(page))

    def delete_webhook(self, id: str) -> None:
        self.request("DELETE", f"/v1/webhook_endpoints/{id}")
