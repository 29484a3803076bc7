"""ISAO's own External API as a connector, so a recipe can have the ISAO CRM on either side (seed 000's
WooCommerce → ISAO integration, the HubSpot ↔ ISAO contact sync). It speaks HTTP to ``/api/external``
with an API key like any client, so the same recipe works against a remote ISAO.

Webhooks section: ISAO signs ``X-Isao-Signature: sha256=<hex HMAC-SHA256(secret, "<ts>." + body)>`` with
``X-Isao-Timestamp``; deliveries older than five minutes are refused. The body's ``id`` is the event id,
the same on every retry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import httpx

from isao.connectors._signing import header, isao_signature, lower_keys, parse_json, require_secret, same
from isao.connectors.base import (
    ApiClient,
    Change,
    Credentials,
    Page,
    Setting,
    classify_status,
    json_body,
)
from isao.errors import Conflict, Invalid, NotFound, ProviderError, SignatureInvalid

TOLERANCE_SECONDS = 300
OBJECTS = ("contacts", "deals")
PAGE_SIZE = 200

# --- Webhooks -------------------------------------------------------------------------------------


def verify_webhook(
    secret: str, headers: Mapping[str, str], body: bytes, *, url: str, method: str = "POST", now: float
) -> None:
    require_secret(secret, "isao")
    normalised = lower_keys(headers)
    timestamp, given = header(normalised, "x-isao-timestamp"), header(normalised, "x-isao-signature")
    if timestamp is None or given is None:
        raise SignatureInvalid("isao: missing X-Isao-Timestamp or X-Isao-Signature header")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise SignatureInvalid(f"isao: timestamp {timestamp!r} is outside the {TOLERANCE_SECONDS} s window")
    # Each subscription (one per event) has its own secret: the setting holds them all, space-separated.
    matches = [same(isao_signature(one, timestamp, body), given) for one in secret.split()]
    if not any(matches):
        raise SignatureInvalid("isao: X-Isao-Signature does not match the body and secret")


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    return False


def delivery_id(headers: Mapping[str, str], body: bytes) -> str | None:
    event = parse_json(body)
    return str(event["id"]) if isinstance(event, dict) and event.get("id") else None


def topic(headers: Mapping[str, str], body: bytes) -> str | None:
    """E.g. ``contact.updated``."""
    event = parse_json(body)
    return str(event["event"]) if isinstance(event, dict) and event.get("event") else None


# --- API client -----------------------------------------------------------------------------------

SETTINGS: tuple[Setting, ...] = (
    Setting("base_url", "ISAO's External API, e.g. http://127.0.0.1:8000/api/external"),
    Setting("api_key", "An ISAO API key (ck_…) with the scopes the recipe needs", secret=True),
    Setting("webhook_secret", "The secrets of ISAO's webhook subscriptions (one per event), space-separated",
            secret=True, required=False),
)  # fmt: skip


class Client(ApiClient):
    provider = "isao"
    default_retry_after = 60.0

    @classmethod
    def from_settings(
        cls, values: dict[str, Any], credentials: Credentials, *, http: httpx.Client | None = None
    ) -> Client:
        return cls(str(values["base_url"]), credentials, http=http)

    def auth_headers(self, secrets: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {secrets.get('api_key', '')}"}

    def classify(
        self, response: httpx.Response, request: dict[str, Any], reply: dict[str, Any]
    ) -> ProviderError:
        body = json_body(response) or {}
        message = f"isao: {request['method']} {request['url']} answered {response.status_code}"
        if isinstance(body, dict) and body.get("message"):
            message += f": {body['message']}"
        if response.status_code == 409:
            existing = body.get("existingContactId") if isinstance(body, dict) else None
            return Conflict(message, existing_id=existing, request=request, response=reply)
        if response.status_code in (401, 403):
            return Invalid(message, details=body, request=request, response=reply)
        error = classify_status(self, response, request, reply)
        if isinstance(error, Invalid):
            return Invalid(message, details=body.get("details") if isinstance(body, dict) else body,
                           request=request, response=reply)  # fmt: skip
        return error

    def check(self) -> str:
        data = self.request("GET", "/test").json()["data"]
        company, key = f"{data.get('companyName')} ({data.get('companyId')})", data.get("keyName")
        return f"ISAO company {company} with key {key!r}"

    @staticmethod
    def _object(object: str) -> str:
        if object not in OBJECTS:
            raise Invalid(f"isao: no object {object!r} (known: {', '.join(OBJECTS)})")
        return f"/{object}"

    def list_changed(
        self, object: str, since: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> Page:
        """Oldest change first (``sort=updatedAt``); ``updatedSince`` is inclusive."""
        page = int(cursor or 1)
        params: dict[str, Any] = {"sort": "updatedAt", "page": page, "limit": min(limit, PAGE_SIZE)}
        if since:
            params["updatedSince"] = since
        body = self.request("GET", self._object(object), params=params).json()
        meta = body.get("meta") or {}
        more = page < int(meta.get("totalPages") or 0)
        return Page(list(body["data"]), str(page + 1) if more else None, meta.get("total"))

    def get(self, object: str, id: str) -> dict[str, Any] | None:
        try:
            return dict(self.request("GET", f"{self._object(object)}/{id}").json()["data"])
        except NotFound:
            return None

    def search(self, object: str, field: str, value: str) -> list[dict[str, Any]]:
        """Exact email for contacts (the API's ``email`` filter); other fields through ``search``, then
        kept only where the field equals the value."""
        params = {"email": value} if field == "email" and object == "contacts" else {"search": value}
        body = self.request("GET", self._object(object), params=params | {"limit": PAGE_SIZE}).json()
        return [row for row in body["data"] if field == "email" or str(row.get(field)) == value]

    def create(self, object: str, data: dict[str, Any]) -> dict[str, Any]:
        return dict(self.request("POST", self._object(object), json=data).json()["data"])

    def update(self, object: str, id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Deal status and stage go through ``PUT /deals/:id/status`` (which stamps the close date)."""
        if object == "deals" and {"status", "actualCloseDate"} & set(data):
            status = {k: data[k] for k in ("status", "stage", "probability", "actualCloseDate") if k in data}
            self.request("PUT", f"/deals/{id}/status", json=status)
            data = {k: v for k, v in data.items() if k not in status}
            if not data:
                return self.get(object, id) or {"id": id}
        return dict(self.request("PUT", f"{self._object(object)}/{id}", json=data).json()["data"])

    def delete(self, object: str, id: str) -> None:
        self.request("DELETE", f"{self._object(object)}/{id}")

    def upsert(self, object: str, key_field: str, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        found = self.search(object, key_field, str(data[key_field])) if data.get(key_field) else []
        if found:
            return self.update(object, str(found[0]["id"]), data), False
        try:
            return self.create(object, data), True
        except Conflict as exc:
            if not exc.existing_id:
                raise
            return self.update(object, exc.existing_id, data), False

    def record_id(self, record: dict[str, Any]) -> str:
        return str(record["id"])

    def modified_at(self, record: dict[str, Any]) -> str:
        return str(record.get("updatedAt") or record.get("createdAt"))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[Change]:
        """``{"event": "contact.updated", "data": {...}}`` → one change with the whole record."""
        event = parse_json(body)
        if not isinstance(event, dict) or "." not in str(event.get("event", "")):
            return []
        kind, _, action = str(event["event"]).partition(".")
        data = event.get("data") or {}
        verb: Literal["created", "updated", "deleted"] = (
            "created" if action == "created" else "deleted" if action == "deleted" else "updated"
        )
        return [Change(f"{kind}s", str(data.get("id")), verb, data)]
