"""HubSpot connector.

Webhooks section: signature v3 only. ``X-HubSpot-Signature-v3`` is
base64(HMAC-SHA256(app client secret, METHOD + URI + raw body + timestamp)) with the timestamp (Unix
milliseconds) from ``X-HubSpot-Request-Timestamp``; requests older than 5 minutes are refused. The
v1/v2 signatures HubSpot still sends sign no timestamp (replayable forever), so they are not accepted.
Sources: HubSpot "Validating requests" and changelog "Introducing version 3 of webhook signatures";
hubspot-api-python ``utils/signature.py``.

API client section (``Client``, below): CRM objects, search, batches, associations, pipelines and webhook
subscriptions, with OAuth refresh and HubSpot's error categories mapped onto ``isao.errors``.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import httpx
import orjson

from isao.connectors._signing import b64, header, hmac_sha256, lower_keys, parse_json, require_secret, same
from isao.connectors.base import (
    ApiClient,
    BatchResult,
    Change,
    Credentials,
    Page,
    Setting,
    paginate,
    retry_after,
    summary_of_request,
    summary_of_response,
)
from isao.connectors.kit import auth, oauth2, paging
from isao.errors import (
    AuthExpired,
    Conflict,
    Invalid,
    NotFound,
    ProviderError,
    RateLimited,
    SignatureInvalid,
    Transient,
)

# --- Webhooks -------------------------------------------------------------------------------------

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE_MS = 5 * 60 * 1000
# HubSpot decodes these escapes in the URI before signing (its documented table). Percent-escapes are
# case-insensitive (RFC 3986), so lower-case hex is decoded too.
_DECODED = {"3A": ":", "2F": "/", "3F": "?", "40": "@", "21": "!", "24": "$", "27": "'", "28": "(",
            "29": ")", "2A": "*", "2C": ",", "3B": ";"}  # fmt: skip
_ESCAPE = re.compile("%(" + "|".join(_DECODED) + ")", re.IGNORECASE)
_MAX_ID_LENGTH = 200


def signed_uri(url: str) -> str:
    """The URI as HubSpot puts it in the signed string: the full URL it called with the listed
    escapes decoded (anything else, e.g. ``%20``, stays encoded)."""
    return _ESCAPE.sub(lambda match: _DECODED[match.group(1).upper()], url)


def _signature(secret: str, method: str, url: str, body: bytes, timestamp: str) -> str:
    source = (method.upper() + signed_uri(url)).encode("utf-8") + body + timestamp.encode("ascii")
    return b64(hmac_sha256(secret, source))


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    url: str,
    method: str = "POST",
    now: float,
) -> None:
    """Raise ``SignatureInvalid`` unless the v3 signature matches and the timestamp is at most
    5 minutes old. ``url`` must be the public URL HubSpot called (scheme, host, path and query as
    configured in the app), not the one a proxy forwarded. Like HubSpot's SDKs, only the age is
    limited, so a receiver whose clock lags does not refuse real events."""
    require_secret(secret, "hubspot")
    normalised = lower_keys(headers)
    given = header(normalised, SIGNATURE_HEADER.lower())
    if given is None:
        raise SignatureInvalid(
            f"hubspot: missing {SIGNATURE_HEADER} header (v1/v2 signatures are not accepted)"
        )
    timestamp = header(normalised, TIMESTAMP_HEADER.lower())
    if timestamp is None:
        raise SignatureInvalid(f"hubspot: missing {TIMESTAMP_HEADER} header")
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise SignatureInvalid(f"hubspot: {TIMESTAMP_HEADER} is not a Unix time in milliseconds")
    if not same(_signature(secret, method, url, body, timestamp), given):
        raise SignatureInvalid(
            f"hubspot: {SIGNATURE_HEADER} does not match the method, URL, body, timestamp and secret"
        )
    if now * 1000 - int(timestamp) > MAX_AGE_MS:
        raise SignatureInvalid(f"hubspot: request timestamp {timestamp} is older than 5 minutes")


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """HubSpot has no unsigned ping."""
    return False


def _events(body: bytes) -> list[dict[str, object]] | None:
    events = parse_json(body)
    if not isinstance(events, list) or not events:
        return None
    if not all(isinstance(event, dict) and "eventId" in event for event in events):
        return None
    return events


def delivery_id(headers: Mapping[str, str], body: bytes) -> str | None:
    """A stable id for the batch: HubSpot retries resend the same events, but ``attemptNumber``
    changes, so the body hash would differ. ``eventId`` alone is not guaranteed unique, so each event
    is keyed by ``subscriptionId:eventId:occurredAt``; long batches are hashed to bound the length."""
    events = _events(body)
    if events is None:
        return None
    keys = sorted(
        ":".join(str(event.get(field, "")) for field in ("subscriptionId", "eventId", "occurredAt"))
        for event in events
    )
    joined = ",".join(keys)
    if len(joined) > _MAX_ID_LENGTH:
        return "hubspot:sha256:" + hashlib.sha256(joined.encode("utf-8")).hexdigest()
    return "hubspot:" + joined


def topic(headers: Mapping[str, str], body: bytes) -> str | None:
    """The ``subscriptionType`` of the batch's first event, e.g. ``contact.propertyChange`` (a batch
    can mix types; the events themselves carry theirs)."""
    events = _events(body)
    kind = events[0].get("subscriptionType") if events else None
    return kind if isinstance(kind, str) and kind else None


def sign(secret: str, method: str, url: str, body: bytes, timestamp_ms: int) -> dict[str, str]:
    """The v3 headers HubSpot sends for a request to ``url`` at ``timestamp_ms`` (Unix ms)."""
    timestamp = str(int(timestamp_ms))
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: _signature(secret, method, url, body, timestamp),
        TIMESTAMP_HEADER: timestamp,
    }


# --- API client -----------------------------------------------------------------------------------
#
# CRM objects v3, associations v4, pipelines v3 and the app webhooks API v3 (saas-apis.md §2). Auth is a
# private-app token (``pat-…``, never expires) or OAuth (``/oauth/v1/token``, 30-minute access tokens
# that the base refreshes ahead of ``expires_at``). The webhooks API takes the developer account's
# ``hapikey`` instead of a bearer token.

DEFAULT_BASE_URL = "https://api.hubapi.com"
BATCH_SIZE = 100
SEARCH_PAGE_MAX = 200
SEARCH_CEILING = 10_000
ASSOCIATIONS_PAGE = 500
_QUERY_PROPERTIES_MAX = 3000
"""Longest comma-joined ``properties`` put in a GET query; longer lists go in a batch-read body (HubSpot
answers 414 to over-long URIs)."""
_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")
_WEBHOOK_OBJECTS = {
    "contact": "contacts",
    "company": "companies",
    "deal": "deals",
    "ticket": "tickets",
    "product": "products",
    "line_item": "line_items",
}
_OBJECT_TYPE_IDS = {
    "0-1": "contacts",
    "0-2": "companies",
    "0-3": "deals",
    "0-5": "tickets",
    "0-7": "products",
    "0-8": "line_items",
}
_ACTIONS: dict[str, Literal["created", "updated", "deleted"]] = {
    "creation": "created",
    "propertyChange": "updated",
    "deletion": "deleted",
    "privacyDeletion": "deleted",
    "merge": "updated",
    "restore": "updated",
    "associationChange": "updated",
}

SETTINGS: tuple[Setting, ...] = (
    Setting("base_url", "API root", required=False, default=DEFAULT_BASE_URL),
    Setting(
        "access_token",
        "Private app access token (pat-…), or leave empty for OAuth",
        secret=True,
        required=False,
    ),
    Setting("client_id", "OAuth app client id", required=False),
    Setting(
        "client_secret",
        "OAuth app client secret (also signs the app's webhooks)",
        secret=True,
        required=False,
    ),
    Setting(
        "refresh_token",
        "OAuth refresh token of the app's install in this account",
        secret=True,
        required=False,
    ),
    Setting("app_id", "The app's id, for webhook subscriptions", required=False),
    Setting(
        "developer_api_key",
        "Developer account API key, for webhook subscriptions",
        secret=True,
        required=False,
    ),
)


def is_own_write(event: Mapping[str, Any], app_id: str | int | None) -> bool:
    """Whether a webhook event reports a change this app made through the API (``changeSource``
    ``INTEGRATION`` with the app as ``sourceId``), so the engine can drop the echo of its own writes."""
    if app_id is None or str(app_id) == "":
        return False
    return event.get("changeSource") == "INTEGRATION" and str(event.get("sourceId", "")) == str(app_id)


def modified_property(object: str) -> str:
    """Contacts keep their own name for the last-modified date."""
    return "lastmodifieddate" if object in ("contacts", "0-1") else "hs_lastmodifieddate"


def _iso_ms(value: str) -> int | None:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _value(value: Any) -> Any:
    """HubSpot property values are strings on the wire; None clears a property."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return value


def _properties(data: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _value(value) for name, value in data.items()}


def _chunks(items: Sequence[Any], size: int = BATCH_SIZE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _cursor(since_ms: int | None, offset: int) -> str:
    return f"{'' if since_ms is None else since_ms}:{offset}"


def _parse_cursor(cursor: str) -> tuple[int | None, int]:
    since, _, offset = cursor.partition(":")
    try:
        return (int(since) if since else None), int(offset or 0)
    except ValueError:
        raise ValueError(f"not a HubSpot list_changed cursor: {cursor!r}") from None


def _in_order(
    records: list[dict[str, Any]], ids: Sequence[str], id_property: str | None
) -> list[dict[str, Any]]:
    """HubSpot does not promise batch results in input order; put them back in it."""
    order = {str(i).casefold(): n for n, i in enumerate(ids)}

    def position(record: dict[str, Any]) -> int:
        key = record["properties"].get(id_property) if id_property else record["id"]
        return order.get(str(key).casefold(), len(order))

    return sorted(records, key=position)


class Client(ApiClient):
    provider = "hubspot"
    default_rate_limit = "100/10"
    default_retry_after = 10.0
    search_ceiling = SEARCH_CEILING
    """Results one search query can page through; ``list_changed`` starts a new query before it."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        client_id: str | None = None,
        app_id: str | None = None,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(base_url, credentials, http=http, timeout=timeout, clock=clock)
        self.client_id = client_id
        self.app_id = app_id
        secrets = credentials.load()
        # A private-app token (``pat-…``) wins over OAuth secrets: it needs no refresh and never expires.
        self._oauth = bool(secrets.get("refresh_token")) and not str(
            secrets.get("access_token") or ""
        ).startswith("pat-")
        self._names: dict[str, list[str]] = {}
        self._unique: dict[str, set[str]] = {}

    @classmethod
    def from_settings(
        cls, values: dict[str, Any], credentials: Credentials, *, http: httpx.Client | None = None
    ) -> Client:
        return cls(
            values.get("base_url") or DEFAULT_BASE_URL,
            credentials,
            client_id=values.get("client_id") or None,
            app_id=str(values["app_id"]) if values.get("app_id") else None,
            http=http,
        )

    # --- auth and errors ---

    @property
    def uses_oauth(self) -> bool:
        return self._oauth

    def auth_headers(self, secrets: dict[str, Any]) -> dict[str, str]:
        return auth.bearer(secrets.get("access_token"))

    def mint_token(self, secrets: dict[str, Any]) -> dict[str, Any]:
        """The refresh-token grant. HubSpot does not rotate refresh tokens, but one it returns is kept."""
        form = {
            "grant_type": "refresh_token",
            "client_id": secrets.get("client_id") or self.client_id,
            "client_secret": secrets.get("client_secret"),
            "refresh_token": secrets.get("refresh_token"),
        }
        minted = oauth2.refresh(
            self, self.base_url + "/oauth/v1/token", form, lifetime=1800, refused=self._refused
        )
        return {"refresh_token": secrets.get("refresh_token")} | minted

    def _refused(
        self, response: httpx.Response, body: Any, sent: dict[str, Any], reply: dict[str, Any]
    ) -> ProviderError:
        error = self.classify(response, sent, reply)
        if isinstance(error, AuthExpired):  # a refused refresh is permanent, never "refresh and retry"
            return Invalid(str(error), details=error.response, request=sent, response=error.response)
        return error

    def classify(
        self, response: httpx.Response, request: dict[str, Any], reply: dict[str, Any]
    ) -> ProviderError:
        """HubSpot's ``category`` decides: EXPIRED_AUTHENTICATION is the only 401 worth a refresh; the
        token endpoint's own failures (``BAD_REFRESH_TOKEN`` …) come back as 400 and are permanent."""
        status = response.status_code
        body = reply.get("body")
        data: dict[str, Any] = body if isinstance(body, dict) else {}
        detail = data.get("message")
        message = f"hubspot: {request['method']} {request['url']} answered {status}" + (
            f": {detail}" if detail else ""
        )
        kwargs: dict[str, Any] = {"request": request, "response": reply}
        category = data.get("category")
        if status == 429:
            return RateLimited(message, retry_after(response, self._rate_window(response, data)), **kwargs)
        if status == 401 and category == "EXPIRED_AUTHENTICATION":
            return AuthExpired(message, self.credentials.connection_id, **kwargs)
        if status in (401, 403):
            return Invalid(message, details=body, **kwargs)
        if status == 404:
            return NotFound(message, **kwargs)
        if status == 409 or category == "CONFLICT":
            found = _EXISTING_ID.search(str(detail or ""))
            return Conflict(message, existing_id=found.group(1) if found else None, **kwargs)
        if status in (408, 425) or status >= 500:
            return Transient(message, **kwargs)
        return Invalid(message, details=body, **kwargs)

    def _rate_window(self, response: httpx.Response, body: Mapping[str, Any]) -> float:
        """Without Retry-After: a second for the search ceiling, until midnight UTC for the daily cap,
        else the window HubSpot states in ``X-HubSpot-RateLimit-Interval-Milliseconds``."""
        policy = str(body.get("policyName") or "")
        if policy == "SECONDLY":
            return 1.0
        if policy == "DAILY":
            now = datetime.fromtimestamp(self.clock(), UTC)
            return 86400.0 - (now.hour * 3600 + now.minute * 60 + now.second)
        interval = response.headers.get("x-hubspot-ratelimit-interval-milliseconds", "")
        return int(interval) / 1000 if interval.isdigit() and int(interval) > 0 else self.default_retry_after

    def _developer(self, method: str, path: str, *, json: Any = None) -> httpx.Response:
        """A webhooks-API call: the developer ``hapikey`` only, never the account's bearer token."""
        key = self.credentials.load().get("developer_api_key")
        if not key or not self.app_id:
            raise Invalid("hubspot: webhook subscriptions need the app_id and developer_api_key settings")
        headers = {"Content-Type": "application/json"} if json is not None else {}
        content = orjson.dumps(json) if json is not None else None
        request = self.http.build_request(
            method, self.base_url + path, params={"hapikey": key}, content=content, headers=headers
        )
        sent = summary_of_request(request)
        try:
            response = self.http.send(request)
        except httpx.TimeoutException as exc:
            raise Transient(f"hubspot: timed out: {exc}", request=sent) from exc
        except httpx.TransportError as exc:
            raise Transient(f"hubspot: {type(exc).__name__}: {exc}", request=sent) from exc
        if response.status_code >= 400:
            raise self.classify(response, sent, summary_of_response(response))
        return response

    # --- properties ---

    def property_names(self, object: str) -> list[str]:
        """Every property of ``object`` (cached): reads ask for all of them, since HubSpot otherwise
        returns only a handful of defaults."""
        if object not in self._names:
            results = self.request("GET", f"/crm/v3/properties/{object}").json().get("results", [])
            live = [p for p in results if not p.get("archived")]
            self._names[object] = [p["name"] for p in live]
            self._unique[object] = {p["name"] for p in live if p.get("hasUniqueValue")}
        return self._names[object]

    def is_unique(self, object: str, name: str) -> bool:
        """Whether ``name`` can be an ``idProperty``: a contact's email, or a property marked unique."""
        if object in ("contacts", "0-1") and name == "email":
            return True
        self.property_names(object)
        return name in self._unique[object]

    # --- generic operations ---

    def check(self) -> str:
        info = self.request("GET", "/account-info/v3/details").json()
        kind = "OAuth" if self.uses_oauth else "private app"
        return (
            f"HubSpot portal {info.get('portalId')} ({info.get('dataHostingLocation', '?')}, "
            f"{info.get('timeZone', '?')}, {info.get('companyCurrency', '?')}) via {kind} token"
        )

    def list_changed(
        self, object: str, since: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> Page:
        """Search on the last-modified date (GTE ``since``), oldest first, paging with ``after``.

        A search cannot page past ``search_ceiling`` results, so before the next page would reach it the
        cursor restarts the query from the last modified date seen (records at that very millisecond come
        again: delivery is at least once). Should a whole ceiling of records share one millisecond, the
        bound moves one millisecond on rather than loop."""
        limit = max(1, min(limit, SEARCH_PAGE_MAX))
        if cursor:
            since_ms, offset = _parse_cursor(cursor)
        else:
            since_ms, offset = (self._since_ms(since) if since else None), 0
        field = modified_property(object)
        filters = (
            [{"propertyName": field, "operator": "GTE", "value": str(since_ms)}]
            if since_ms is not None
            else []
        )
        body = {
            "filterGroups": [{"filters": filters}] if filters else [],
            "sorts": [{"propertyName": field, "direction": "ASCENDING"}],
            "properties": self.property_names(object),
            "limit": limit,
            "after": str(offset),
        }
        data = self.request("POST", f"/crm/v3/objects/{object}/search", json=body).json()
        records: list[dict[str, Any]] = data.get("results") or []
        following = paging.next_after(data)
        next_cursor: str | None = None
        if following is not None and records:
            next_offset = int(following)
            if next_offset + limit >= self.search_ceiling:
                last = self._modified_ms(records[-1])
                if since_ms is not None and last <= since_ms:
                    last = since_ms + 1
                next_cursor = _cursor(last, 0)
            else:
                next_cursor = _cursor(since_ms, next_offset)
        return Page(records, next_cursor, total=data.get("total"))

    @staticmethod
    def _since_ms(since: str) -> int:
        ms = _iso_ms(since)
        if ms is None:
            raise ValueError(f"since must be an ISO 8601 timestamp, got {since!r}")
        return ms

    def _modified_ms(self, record: Mapping[str, Any]) -> int:
        return _iso_ms(self.modified_at(record)) or 0

    def get(self, object: str, id: str) -> dict[str, Any] | None:
        names = ",".join(self.property_names(object))
        if len(names) > _QUERY_PROPERTIES_MAX:
            found = self.batch_read(object, [id])
            return found.results[0] if found.results else None
        try:
            record: dict[str, Any] = self.request(
                "GET", f"/crm/v3/objects/{object}/{id}", params={"properties": names}
            ).json()
        except NotFound:
            return None
        return record

    def search(self, object: str, field: str, value: str) -> list[dict[str, Any]]:
        """Exact match (EQ; HubSpot compares text case-insensitively), every page."""
        body: dict[str, Any] = {
            "filterGroups": [{"filters": [{"propertyName": field, "operator": "EQ", "value": str(value)}]}],
            "properties": self.property_names(object),
            "limit": 100,
            "after": "0",
        }

        def page(cursor: str | None) -> Page:
            data = self.request(
                "POST", f"/crm/v3/objects/{object}/search", json=body | {"after": cursor or "0"}
            )
            payload = data.json()
            following = paging.next_after(payload)
            if following is not None and int(following) >= self.search_ceiling:
                following = None
            return Page(payload.get("results") or [], following)

        return list(paginate(page))

    def create(self, object: str, data: Mapping[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = self.request(
            "POST", f"/crm/v3/objects/{object}", json={"properties": _properties(data)}
        ).json()
        return record

    def update(self, object: str, id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = self.request(
            "PATCH", f"/crm/v3/objects/{object}/{id}", json={"properties": _properties(data)}
        ).json()
        return record

    def delete(self, object: str, id: str) -> None:
        """Archive (HubSpot answers 204 for unknown ids too)."""
        try:
            self.request("DELETE", f"/crm/v3/objects/{object}/{id}")
        except NotFound:
            return

    def upsert(self, object: str, key_field: str, data: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """Native ``batch/upsert`` when ``key_field`` is unique at HubSpot, else search then write."""
        value = data.get(key_field)
        if value in (None, ""):
            raise Invalid(f"hubspot: upsert on {key_field} needs a value for it", details=dict(data))
        if not self.is_unique(object, key_field):
            found = self.search(object, key_field, str(value))
            if found:
                return self.update(object, str(found[0]["id"]), data), False
            return self.create(object, data), True
        result = self.batch_upsert(object, [data], key_field=key_field)
        if result.errors:
            raise result.errors[0]
        record = result.results[0]
        return record, bool(record.get("new"))

    def batch_create(self, object: str, items: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Chunks of 100; each input carries ``objectWriteTraceId`` so one bad record fails alone (207) and
        results come back in input order. A 429/5xx raises after the chunks before it were written."""
        inputs = [{"properties": _properties(item)} for item in items]
        return self._batch_write(object, "create", inputs)

    def batch_update(self, object: str, items: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Items are ``{"id", "properties"}`` or flat ``{"id", **properties}``."""
        inputs = []
        for item in items:
            properties = item.get("properties")
            if not isinstance(properties, Mapping):
                properties = {k: v for k, v in item.items() if k != "id"}
            inputs.append({"id": str(item["id"]), "properties": _properties(properties)})
        return self._batch_write(object, "update", inputs)

    def batch_upsert(
        self, object: str, items: Sequence[Mapping[str, Any]], key_field: str | None = None
    ) -> BatchResult:
        """Items are property maps holding ``key_field`` (default: email for contacts), HubSpot's
        ``idProperty``; each result carries ``new``."""
        key = key_field or ("email" if object in ("contacts", "0-1") else None)
        if key is None:
            raise ValueError(f"batch_upsert on {object} needs the key_field (a unique property)")
        inputs = []
        for item in items:
            if item.get(key) in (None, ""):
                raise Invalid(
                    f"hubspot: batch_upsert on {key} needs a value for it in every item", details=dict(item)
                )
            inputs.append({"idProperty": key, "id": str(item[key]), "properties": _properties(item)})
        return self._batch_write(object, "upsert", inputs)

    def batch_read(self, object: str, ids: Sequence[str], *, id_property: str | None = None) -> BatchResult:
        result = BatchResult()
        names = self.property_names(object)
        for chunk in _chunks(list(ids)):
            body: dict[str, Any] = {
                "inputs": [{"id": str(i)} for i in chunk],
                "properties": names,
                "propertiesWithHistory": [],
            }
            if id_property:
                body["idProperty"] = id_property
            response = self.request("POST", f"/crm/v3/objects/{object}/batch/read", json=body)
            payload = response.json()
            result.results.extend(_in_order(payload.get("results") or [], chunk, id_property))
            result.errors.extend(self._batch_errors(response, payload))
        return result

    def _batch_write(self, object: str, op: str, inputs: list[dict[str, Any]]) -> BatchResult:
        result = BatchResult()
        for chunk in _chunks(inputs):
            traced = [item | {"objectWriteTraceId": str(n)} for n, item in enumerate(chunk)]
            try:
                response = self.request(
                    "POST", f"/crm/v3/objects/{object}/batch/{op}", json={"inputs": traced}
                )
            except (Invalid, Conflict, NotFound) as exc:  # the whole chunk was refused; the next may pass
                result.errors.append(exc)
                continue
            payload = response.json()
            found = payload.get("results") or []
            result.results.extend(sorted(found, key=lambda r: int(r.get("objectWriteTraceId") or 0)))
            result.errors.extend(self._batch_errors(response, payload))
        return result

    def _batch_errors(self, response: httpx.Response, payload: Mapping[str, Any]) -> list[ProviderError]:
        """One error per entry of a 207's ``errors``, classified by its ``category``."""
        sent, reply = summary_of_request(response.request), summary_of_response(response)
        errors: list[ProviderError] = []
        for entry in payload.get("errors") or []:
            category, text = entry.get("category"), entry.get("message", "")
            context = entry.get("context") or {}
            message = f"hubspot: batch {category}: {text} {context}".strip()
            if category == "CONFLICT":
                found = _EXISTING_ID.search(text)
                existing = found.group(1) if found else None
                errors.append(Conflict(message, existing_id=existing, request=sent, response=reply))
            elif category == "OBJECT_NOT_FOUND":
                errors.append(NotFound(message, request=sent, response=reply))
            else:
                errors.append(Invalid(message, details=entry, request=sent, response=reply))
        return errors

    def record_id(self, record: Mapping[str, Any]) -> str:
        return str(record["id"])

    def modified_at(self, record: Mapping[str, Any]) -> str:
        properties = record.get("properties") or {}
        value = (
            properties.get("lastmodifieddate") or properties.get("hs_lastmodifieddate") or record["updatedAt"]
        )
        ms = _iso_ms(str(value))
        if ms is None:
            return str(value)
        moment = datetime.fromtimestamp(ms / 1000, UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"

    # --- HubSpot specifics ---

    def associate(self, from_object: str, from_id: str, to_object: str, to_id: str) -> None:
        """The default (unlabelled) association; HubSpot records it in both directions."""
        self.request(
            "PUT", f"/crm/v4/objects/{from_object}/{from_id}/associations/default/{to_object}/{to_id}"
        )

    def associations(self, from_object: str, id: str, to_object: str) -> list[str]:
        path = f"/crm/v4/objects/{from_object}/{id}/associations/{to_object}"

        def page(cursor: str | None) -> Page:
            params: dict[str, Any] = {"limit": ASSOCIATIONS_PAGE} | ({"after": cursor} if cursor else {})
            payload = self.request("GET", path, params=params).json()
            return Page(payload.get("results") or [], paging.next_after(payload))

        return [str(item["toObjectId"]) for item in paginate(page)]

    def pipelines(self, object: str = "deals") -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = self.request("GET", f"/crm/v3/pipelines/{object}").json()["results"]
        return results

    def subscribe(self, event_types: Sequence[str], target_url: str) -> list[dict[str, Any]]:
        """Point the app's webhooks at ``target_url`` and make sure each event type has an active
        subscription. A property change names its property after a colon: ``contact.propertyChange:email``.
        Idempotent: existing subscriptions are reused (and reactivated)."""
        app = self.app_id
        self._developer(
            "PUT",
            f"/webhooks/v3/{app}/settings",
            json={"targetUrl": target_url, "throttling": {"maxConcurrentRequests": 10}},
        )
        existing = self._developer("GET", f"/webhooks/v3/{app}/subscriptions").json().get("results") or []
        subscribed = []
        for spec in event_types:
            event_type, _, property_name = spec.partition(":")
            match = next(
                (
                    s
                    for s in existing
                    if s.get("eventType") == event_type and (s.get("propertyName") or "") == property_name
                ),
                None,
            )
            if match is None:
                body: dict[str, Any] = {"eventType": event_type, "active": True}
                if property_name:
                    body["propertyName"] = property_name
                match = self._developer("POST", f"/webhooks/v3/{app}/subscriptions", json=body).json()
            elif not match.get("active"):
                match = self._developer(
                    "PATCH", f"/webhooks/v3/{app}/subscriptions/{match['id']}", json={"active": True}
                ).json()
            subscribed.append(match)
        return subscribed

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[Change]:
        """One change per event (a batch can mix objects and kinds); ids only, HubSpot sends no record."""
        changes = []
        for event in _events(body) or []:
            kind = str(event.get("subscriptionType") or "")
            prefix, _, name = kind.partition(".")
            object = _OBJECT_TYPE_IDS.get(str(event.get("objectTypeId"))) if prefix == "object" else None
            object = object or _WEBHOOK_OBJECTS.get(prefix)
            action = _ACTIONS.get(name)
            if object is None or action is None or event.get("objectId") is None:
                continue
            property_name = event.get("propertyName")
            occurred = event.get("occurredAt")
            changes.append(
                Change(
                    object=object,
                    id=str(event["objectId"]),
                    action=action,
                    occurred_at=float(occurred) / 1000 if isinstance(occurred, int | float) else None,
                    fields=(str(property_name),) if name == "propertyChange" and property_name else (),
                    topic=kind,
                )
            )
        return changes

    def associated(self, from_object: str, id: str, to_object: str) -> list[dict[str, Any]]:
        """The ``to_object`` records associated with one record (a deal's line items), read in batches."""
        ids = self.associations(from_object, id, to_object)
        return self.batch_read(to_object, ids).results if ids else []
