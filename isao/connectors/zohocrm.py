"""Zoho CRM connector: the records API (``/crm/{version}/{module}``, v4 by default) and instant
notifications (``/crm/{version}/actions/watch``).

Webhooks section: Zoho signs nothing. A notification is a JSON POST whose body echoes the ``token``
given when the channel was enabled (at most 50 characters), so the check is a constant-time comparison of
that token with the connection's webhook secret. The token travels in every delivery, so it only proves
the sender knew it: serve the receiver over HTTPS. Zoho sends no stable delivery id, so the receiver
dedupes on the body hash. Sources: Zoho CRM "Enable Notifications" (v4 to v8) and ``zoho/crm-oas``
``notifications.json``.

API section: ``Authorization: Zoho-oauthtoken <token>``; access tokens last an hour and are minted at the
accounts server, at most 10 per refresh token in 10 minutes (Zoho "Token Validity"), which the single-flight
credentials respect. Writes answer per record (``{"data": [{"code", "status", "details", "message"}]}``),
sometimes with a 2xx status around a failed record, so failures are read from the records, not the status.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

import httpx

from isao.connectors._signing import parse_json, require_secret, same
from isao.connectors.base import (
    ApiClient,
    BatchResult,
    Change,
    Credentials,
    Page,
    Setting,
    json_body,
    retry_after,
    summary_of_request,
    summary_of_response,
)
from isao.connectors.kit import auth, oauth2
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

_ACTIONS: dict[str, Literal["created", "updated", "deleted"]] = {
    "insert": "created",
    "update": "updated",
    "delete": "deleted",
}


def _notification(body: bytes) -> dict[str, Any] | None:
    payload = parse_json(body)
    return payload if isinstance(payload, dict) else None


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    url: str,
    method: str = "POST",
    now: float,
) -> None:
    """Raise ``SignatureInvalid`` unless the body's ``token`` equals ``secret`` (the token given to
    ``actions/watch``). Nothing else is signed, so URL, method and time play no part."""
    require_secret(secret, "zohocrm")
    payload = _notification(body)
    if payload is None:
        raise SignatureInvalid("zohocrm: the notification body is not a JSON object")
    token = payload.get("token")
    if not isinstance(token, str) or not token:
        raise SignatureInvalid("zohocrm: the notification carries no token (enable the channel with one)")
    if not same(secret, token):
        raise SignatureInvalid("zohocrm: the notification's token does not match the webhook secret")


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """Zoho sends no set-up probe."""
    return False


def delivery_id(headers: Mapping[str, str], body: bytes) -> str | None:
    """Zoho gives a notification no id of its own; None makes the receiver hash the body."""
    return None


def topic(headers: Mapping[str, str], body: bytes) -> str | None:
    """``<module>.<operation>``, e.g. ``Contacts.update``."""
    payload = _notification(body)
    if payload is None:
        return None
    module, operation = payload.get("module"), payload.get("operation")
    if isinstance(module, str) and module and isinstance(operation, str) and operation:
        return f"{module}.{operation}"
    return None


# --- API client -----------------------------------------------------------------------------------

DEFAULT_BASE_URL = "https://www.zohoapis.com"
DEFAULT_ACCOUNTS_URL = "https://accounts.zoho.com"
DEFAULT_VERSION = "v4"
MAX_WRITE = 100
MAX_PAGE = 200
REFRESH_BLOCK = 600.0
"""Zoho refuses a refresh token for the rest of its 10-minute window after 10 mints."""
_FIELDS_REQUIRED_FROM = 5
"""From v5 on, listing records needs ``fields`` (at most 50 names)."""

SETTINGS: tuple[Setting, ...] = (
    Setting("base_url", "API domain of your Zoho data centre", required=False, default=DEFAULT_BASE_URL),
    Setting(
        "accounts_url",
        "Zoho accounts server of that data centre",
        required=False,
        default=DEFAULT_ACCOUNTS_URL,
    ),
    Setting("api_version", "CRM API version in the paths (v2 … v8)", required=False, default=DEFAULT_VERSION),
    Setting("client_id", "OAuth client id from the Zoho API console (1000.…)"),
    Setting("client_secret", "OAuth client secret", secret=True),
    Setting("refresh_token", "Refresh token from the grant-token exchange", secret=True),
    Setting(
        "webhook_secret", "The token given to Zoho when enabling notifications", secret=True, required=False
    ),
)

DEFAULT_FIELDS: dict[str, str] = {
    "Contacts": (
        "First_Name,Last_Name,Full_Name,Email,Phone,Mobile,Account_Name,Mailing_Street,"
        "Mailing_City,Mailing_State,Mailing_Zip,Mailing_Country,Lead_Source,Description,"
        "Owner,Created_Time,Modified_Time"
    ),
    "Leads": (
        "First_Name,Last_Name,Full_Name,Company,Email,Phone,Mobile,Lead_Source,Lead_Status,"
        "Street,City,State,Zip_Code,Country,Description,Owner,Created_Time,Modified_Time"
    ),
    "Accounts": (
        "Account_Name,Phone,Website,Billing_Street,Billing_City,Billing_State,Billing_Code,"
        "Billing_Country,Description,Owner,Created_Time,Modified_Time"
    ),
    "Deals": (
        "Deal_Name,Stage,Amount,Closing_Date,Account_Name,Contact_Name,Lead_Source,"
        "Description,Owner,Created_Time,Modified_Time"
    ),
    "Products": (
        "Product_Name,Product_Code,Product_Active,Unit_Price,Qty_in_Stock,Description,Owner,"
        "Created_Time,Modified_Time"
    ),
}
"""What ``list_changed`` asks for when the version makes ``fields`` mandatory and the caller names none;
other modules get their field list from the fields metadata API."""


def _version_number(version: str) -> float:
    try:
        return float(version.lstrip("v"))
    except ValueError:
        return float(DEFAULT_VERSION.lstrip("v"))


def _zoho_time(value: str) -> str:
    """An ISO 8601 instant as Zoho writes it (``2024-03-02T10:00:00+00:00``)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(microsecond=0).isoformat()


def _escape(value: str) -> str:
    """Zoho's criteria syntax escapes ``(``, ``)`` and ``,`` (and the escape itself) with ``\\``."""
    for char in ("\\", "(", ")", ","):
        value = value.replace(char, "\\" + char)
    return value


def _records_of(body: Any) -> list[dict[str, Any]] | None:
    """The per-record results of a write (``data``, or ``watch`` for notification channels)."""
    if not isinstance(body, dict):
        return None
    for key in ("data", "watch"):
        items = body.get(key)
        if (
            isinstance(items, list)
            and items
            and all(isinstance(i, dict) and "status" in i and "code" in i for i in items)
        ):
            return items
    return None


class Client(ApiClient):
    provider: ClassVar[str] = "zohocrm"
    default_retry_after: ClassVar[float] = 60.0
    """Zoho's 429s come from its concurrency ceiling and send no ``Retry-After``; a minute lets the
    other calls finish."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        client_id: str,
        accounts_url: str = DEFAULT_ACCOUNTS_URL,
        api_version: str = DEFAULT_VERSION,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        trigger: Sequence[str] | None = None,
    ) -> None:
        super().__init__(base_url, credentials, http=http, timeout=timeout)
        self.client_id = client_id
        self.accounts_url = accounts_url.rstrip("/")
        self.api_version = api_version
        self.trigger = list(trigger) if trigger is not None else None
        """Sent as ``trigger`` with writes: None runs Zoho's workflows as a user's edit would, ``[]``
        runs none."""
        self._per_record = threading.local()
        self._fields_cache: dict[str, list[str]] = {}

    @classmethod
    def from_settings(
        cls, values: Mapping[str, Any], credentials: Credentials, *, http: httpx.Client | None = None
    ) -> Client:
        return cls(
            values.get("base_url") or DEFAULT_BASE_URL,
            credentials,
            client_id=str(values.get("client_id") or credentials.load().get("client_id") or ""),
            accounts_url=values.get("accounts_url") or DEFAULT_ACCOUNTS_URL,
            api_version=values.get("api_version") or DEFAULT_VERSION,
            http=http,
        )

    # --- authentication ---

    @property
    def uses_oauth(self) -> bool:
        return True

    def auth_headers(self, secrets: dict[str, Any]) -> dict[str, str]:
        return auth.header("Authorization", f"Zoho-oauthtoken {secrets.get('access_token', '')}")

    def mint_token(self, secrets: dict[str, Any]) -> dict[str, Any]:
        """The refresh-token grant at the accounts server. Zoho answers a refused grant with HTTP 200 and
        ``{"error": …}``; a refresh token past its 10-per-10-minutes quota gets ``Access Denied``."""
        form = {
            "grant_type": "refresh_token",
            "client_id": secrets.get("client_id") or self.client_id,
            "client_secret": secrets.get("client_secret", ""),
            "refresh_token": secrets.get("refresh_token", ""),
        }
        return oauth2.refresh(
            self, f"{self.accounts_url}/oauth/v2/token", form, keep=("api_domain",), refused=self._refused
        )

    def _refused(
        self, response: httpx.Response, body: Any, sent: dict[str, Any], reply: dict[str, Any]
    ) -> ProviderError | None:
        error = body.get("error") if isinstance(body, dict) else None
        description = str(body.get("error_description", "")) if isinstance(body, dict) else ""
        if (
            response.status_code == 429
            or error == "Access Denied"
            or "too many requests" in description.lower()
        ):
            return RateLimited(
                f"zohocrm: the refresh token is throttled: {description or error}",
                retry_after(response, REFRESH_BLOCK),
                request=sent,
                response=reply,
            )
        if error:
            return Invalid(f"zohocrm: the accounts server refused the token request ({error})", details=body,
                           request=sent, response=reply)  # fmt: skip
        return None

    # --- failures ---

    @contextmanager
    def _batch(self) -> Iterator[None]:
        """Inside, a write answering one result per record is returned to the caller, even when some or
        all of the records failed (HTTP 207 or 400), so each record's result can be read."""
        self._per_record.active = True
        try:
            yield
        finally:
            self._per_record.active = False

    def is_failure(self, response: httpx.Response) -> bool:
        if response.request.method == "GET" or not response.content:
            return response.status_code >= 400
        results = _records_of(json_body(response))
        if results is not None and getattr(self._per_record, "active", False):
            return False
        if response.status_code >= 400:
            return True
        return results is not None and any(r.get("status") == "error" for r in results)

    def classify(
        self, response: httpx.Response, request: dict[str, Any], reply: dict[str, Any]
    ) -> ProviderError:
        body = json_body(response)
        results = _records_of(body)
        item: dict[str, Any] = {}
        if results is not None:
            item = next((r for r in results if r.get("status") == "error"), results[0])
        elif isinstance(body, dict):
            item = body
        status = response.status_code
        summary = f"zohocrm: {request['method']} {request['url']} answered {status}"
        return self._error(status, item, summary, request=request, response=reply, retry=response)

    def _error(
        self,
        status: int,
        item: Mapping[str, Any],
        summary: str,
        *,
        request: dict[str, Any] | None,
        response: dict[str, Any] | None,
        retry: httpx.Response | None = None,
    ) -> ProviderError:
        """The error class of one Zoho error (top level or per record)."""
        code = str(item.get("code") or "")
        message = f"{summary}: {code} {item.get('message', '')}".rstrip() if code else summary
        raw = item.get("details")
        details: dict[str, Any] = raw if isinstance(raw, dict) else {}
        kwargs: dict[str, Any] = {"request": request, "response": response}
        if status == 429 or code == "TOO_MANY_REQUESTS":
            wait = (
                retry_after(retry, self.default_retry_after)
                if retry is not None
                else self.default_retry_after
            )
            return RateLimited(message, wait, **kwargs)
        if code == "INVALID_TOKEN":
            return AuthExpired(message, self.credentials.connection_id, **kwargs)
        if status >= 500 or status in (408, 425) or code == "INTERNAL_ERROR":
            return Transient(message, **kwargs)
        if code == "DUPLICATE_DATA":
            duplicate = details.get("duplicate_record")
            existing = details.get("id") or (duplicate.get("id") if isinstance(duplicate, dict) else None)
            return Conflict(message, existing_id=str(existing) if existing else None, **kwargs)
        if code == "INVALID_DATA" and "id given seems to be invalid" in str(item.get("message", "")).lower():
            return NotFound(message, **kwargs)
        if status == 404:
            return NotFound(message, **kwargs)
        return Invalid(message, details=dict(item) or None, **kwargs)

    # --- helpers ---

    def _path(self, *parts: str) -> str:
        return "/crm/" + "/".join((self.api_version, *parts))

    def _write_body(self, records: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"data": records, **extra}
        if self.trigger is not None:
            body["trigger"] = self.trigger
        return body

    @staticmethod
    def _merged(data: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
        """What a write returns: the values sent plus Zoho's ``details`` (id, times, users). Reading the
        record back would cost another API credit."""
        details = result.get("details")
        return {**data, **(details if isinstance(details, dict) else {})}

    @staticmethod
    def _first(response: httpx.Response) -> dict[str, Any]:
        results = _records_of(json_body(response)) or [{}]
        return results[0]

    def fields_of(self, module: str) -> list[str]:
        """Field API names of ``module`` from the fields metadata API (cached; at most 50, Zoho's limit)."""
        if module not in self._fields_cache:
            response = self.request("GET", self._path("settings", "fields"), params={"module": module})
            fields = (json_body(response) or {}).get("fields") or []
            self._fields_cache[module] = [f["api_name"] for f in fields if isinstance(f, dict)][:50]
        return self._fields_cache[module]

    # --- the generic operations ---

    def check(self) -> str:
        """The org's name (``GET /org``: scope ``ZohoCRM.org.READ``)."""
        response = self.request("GET", self._path("org"))
        org = ((json_body(response) or {}).get("org") or [{}])[0]
        name = org.get("company_name") or org.get("id") or "unknown organisation"
        return f"Zoho CRM {self.api_version} at {self.base_url}: {name}"

    def list_changed(
        self,
        object: str,
        since: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
        *,
        fields: Sequence[str] | None = None,
    ) -> Page:
        """Records modified after ``since`` (Zoho's ``If-Modified-Since``, moved a second earlier: its
        timestamps are whole seconds and whether the header includes its own second is not documented),
        oldest first. The cursor is ``token:<page_token>`` where Zoho offers one (pages past the 2,000th
        record need it), else ``page:<n>``."""
        per_page = max(1, min(limit, MAX_PAGE))
        params: dict[str, Any] = {"sort_by": "Modified_Time", "sort_order": "asc", "per_page": per_page}
        names = list(fields) if fields is not None else None
        if names is None and _version_number(self.api_version) >= _FIELDS_REQUIRED_FROM:
            names = DEFAULT_FIELDS[object].split(",") if object in DEFAULT_FIELDS else self.fields_of(object)
        if names:  # Modified_Time always: the order and ``modified_at`` rest on it
            params["fields"] = ",".join([*[n for n in names if n != "Modified_Time"][:49], "Modified_Time"])
        page = 1
        if cursor and cursor.startswith("token:"):
            params["page_token"] = cursor.removeprefix("token:")
        elif cursor and cursor.startswith("page:") and cursor[5:].isdigit():
            page = int(cursor[5:])
            params["page"] = page
        elif cursor:
            raise ValueError(f"zohocrm: not a cursor of list_changed: {cursor!r}")
        headers: dict[str, str] = {}
        if since:
            moved = datetime.fromisoformat(_zoho_time(since)) - timedelta(seconds=1)
            headers["If-Modified-Since"] = moved.isoformat()
        response = self.request("GET", self._path(object), params=params, headers=headers)
        if response.status_code in (204, 304):
            return Page([], None)
        body = json_body(response) or {}
        records = list(body.get("data") or [])
        info = body.get("info") or {}
        following: str | None = None
        if info.get("more_records") and records:
            token = info.get("next_page_token")
            following = f"token:{token}" if token else f"page:{int(info.get('page') or page) + 1}"
        return Page(records, None if following == cursor else following)

    def get(self, object: str, id: str) -> dict[str, Any] | None:
        try:
            response = self.request("GET", self._path(object, id))
        except NotFound:
            return None
        if response.status_code == 204:
            return None
        data = (json_body(response) or {}).get("data") or []
        return dict(data[0]) if data else None

    def search(self, object: str, field: str, value: str) -> list[dict[str, Any]]:
        """Exact matches (Zoho compares text without regard to case): ``email=`` for e-mail, else the
        criteria ``(field:equals:value)``. Search has its own, lower limits: match by id first."""
        params: dict[str, Any] = {"per_page": MAX_PAGE}
        if field.lower() == "email":
            params["email"] = value
        else:
            params["criteria"] = f"({field}:equals:{_escape(value)})"
        response = self.request("GET", self._path(object, "search"), params=params)
        if response.status_code == 204:
            return []
        return list((json_body(response) or {}).get("data") or [])

    def create(self, object: str, data: dict[str, Any]) -> dict[str, Any]:
        response = self.request("POST", self._path(object), json=self._write_body([data]))
        return self._merged(data, self._first(response))

    def update(self, object: str, id: str, data: dict[str, Any]) -> dict[str, Any]:
        response = self.request("PUT", self._path(object, id), json=self._write_body([data]))
        return self._merged({**data, "id": id}, self._first(response))

    def delete(self, object: str, id: str) -> None:
        self.request("DELETE", self._path(object, id))

    def upsert(self, object: str, key_field: str, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Zoho's native upsert: ``key_field`` is the ``duplicate_check_fields`` (a unique field)."""
        body = self._write_body([data], duplicate_check_fields=[key_field])
        result = self._first(self.request("POST", self._path(object, "upsert"), json=body))
        return self._merged(data, result), result.get("action") == "insert"

    def batch_create(self, object: str, items: Sequence[dict[str, Any]]) -> BatchResult:
        return self._batch_write("POST", object, items)

    def batch_update(self, object: str, items: Sequence[dict[str, Any]]) -> BatchResult:
        """Each item carries its record's ``id``."""
        return self._batch_write("PUT", object, items)

    def batch_upsert(
        self, object: str, items: Sequence[dict[str, Any]], key_field: str | None = None
    ) -> BatchResult:
        """Without ``key_field`` Zoho checks its system duplicate fields (``Email`` for Contacts…)."""
        extra = {"duplicate_check_fields": [key_field]} if key_field else {}
        return self._batch_write("POST", object, items, "upsert", **extra)

    def _batch_write(
        self, method: str, object: str, items: Sequence[dict[str, Any]], *suffix: str, **extra: Any
    ) -> BatchResult:
        """Chunks of 100 (Zoho's ceiling). A record's failure lands in ``errors`` with its index in the
        message and details; a failure of the whole call (429, 5xx, auth) raises."""
        outcome = BatchResult()
        for start in range(0, len(items), MAX_WRITE):
            chunk = [dict(item) for item in items[start : start + MAX_WRITE]]
            with self._batch():
                response = self.request(
                    method, self._path(object, *suffix), json=self._write_body(chunk, **extra)
                )
            sent, reply = summary_of_request(response.request), summary_of_response(response)
            results = _records_of(json_body(response)) or []
            for offset, (item, result) in enumerate(zip(chunk, results, strict=False)):
                index = start + offset
                if result.get("status") == "success":
                    outcome.results.append(self._merged(item, result))
                    continue
                error = self._error(
                    response.status_code,
                    result,
                    f"zohocrm: record {index} of {method} {object}",
                    request=sent,
                    response=reply,
                )
                if isinstance(error, Invalid):
                    error.details = {"index": index, **(error.details or {})}
                outcome.errors.append(error)
        return outcome

    def record_id(self, record: Mapping[str, Any]) -> str:
        return str(record["id"])

    def modified_at(self, record: Mapping[str, Any]) -> str:
        return datetime.fromisoformat(str(record["Modified_Time"])).astimezone(UTC).isoformat()

    # --- notifications ---

    def watch(
        self,
        events: Sequence[str],
        notify_url: str,
        token: str,
        channel_id: str | int,
        *,
        expiry: str | None = None,
        return_affected_field_values: bool = True,
    ) -> dict[str, Any]:
        """Enable instant notifications for ``events`` such as ``Contacts.all`` or ``Deals.create``.
        ``token`` comes back in every notification: it is the connection's webhook secret. Zoho keeps a
        channel at most a week (an hour when ``expiry`` is not given), so renew it before it lapses."""
        channel: dict[str, Any] = {
            "channel_id": int(channel_id),
            "events": list(events),
            "notify_url": notify_url,
            "token": token,
            "return_affected_field_values": return_affected_field_values,
        }
        if expiry:
            channel["channel_expiry"] = _zoho_time(expiry)
        response = self.request("POST", self._path("actions", "watch"), json={"watch": [channel]})
        return self._first(response)

    def unwatch(self, channel_id: str | int) -> None:
        self.request("DELETE", self._path("actions", "watch"), params={"channel_ids": str(channel_id)})

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[Change]:
        """One ``Change`` per id; ``fields`` are the ``affected_fields`` Zoho names for that id."""
        payload = _notification(body)
        if payload is None:
            return []
        action = _ACTIONS.get(str(payload.get("operation")))
        module = payload.get("module")
        if action is None or not isinstance(module, str):
            return []
        affected: dict[str, tuple[str, ...]] = {}
        for entry in payload.get("affected_fields") or []:
            if isinstance(entry, dict):
                for record_id, names in entry.items():
                    affected[str(record_id)] = tuple(str(n) for n in names or ())
        server_time = payload.get("server_time")
        occurred = float(server_time) / 1000 if isinstance(server_time, int | float) else None
        return [
            Change(
                module, str(record_id), action, occurred_at=occurred, fields=affected.get(str(record_id), ())
            )
            for record_id in payload.get("ids") or []
        ]
