"""HubSpot CRM sandbox: objects v3 (contacts, deals, products, line items) with batch and search,
associations v4, deal pipelines, properties, OAuth v1 tokens and private-app tokens, the app webhooks API
with batched v3-signed deliveries, and HubSpot's rate-limit headers and error bodies.

Wire facts follow ``saas-apis.md`` §2, HubSpot's published OpenAPI documents and what the official Python
SDK sends and parses. Where HubSpot's behaviour is undocumented the choice made here is stated where it is
implemented. Nothing here is shared with ``isao.connectors.hubspot`` on purpose.
"""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import hashlib
import hmac
import json
import math
import re
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from isao.sandbox.base import Sandbox
from isao.sandbox.faults import Faults, Verdict
from isao.sandbox.outbox import Delivery
from isao.sandbox.store import Store
from isao.sandbox.tokens import Tokens

# --- The fixed account ------------------------------------------------------------------------------

PORTAL_ID = 24681357
APP_ID = 1234567
PRIVATE_APP_TOKEN = "pat-na1-5b7a3c1e-2f4d-4e8a-9c6b-1d2e3f4a5b6c"  # noqa: S105 - a sandbox fixture
CLIENT_ID = "7d9f2a4c-1b3e-4c5d-8e6f-0a1b2c3d4e5f"
CLIENT_SECRET = "3f8e1c2d-9a7b-4c6d-b5e4-f3a2b1c0d9e8"  # noqa: S105
REFRESH_TOKEN = "na1-8c1e-2b7d-4f3a-9e6c-5d4b3a2f1e0d"  # noqa: S105
DEVELOPER_API_KEY = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
SCOPES = (
    "crm.objects.contacts.read crm.objects.contacts.write crm.objects.deals.read crm.objects.deals.write "
    "crm.objects.line_items.read crm.objects.line_items.write e-commerce oauth"
).split()

TOKEN_TTL = 1800
BATCH_MAX = 100
LIST_MAX = 100
SEARCH_MAX = 200
SEARCH_CEILING = 10_000
ASSOCIATIONS_MAX = 500
FILTER_GROUPS_MAX, FILTERS_PER_GROUP_MAX, FILTERS_MAX = 5, 6, 18
OPERATORS = (
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
)
DAILY_LIMIT = 250_000
WINDOW_MAX = {"private": 100, "oauth": 110}
"""Calls per 10 s HubSpot grants a private app (free/starter tiers) and an OAuth app install, shown in
the headers when no ceiling is injected."""
FIRST_ID = 10_001
FIXTURE_TIME = "2024-01-01T00:00:00.000Z"

# Collections in the store.
PIPELINES, PROPERTIES, ASSOCIATIONS = "pipelines", "properties", "associations"
WEBHOOK_SETTINGS, SUBSCRIPTIONS = "webhook_settings", "webhook_subscriptions"
ACCESS_TOKENS, REFRESH_TOKENS = "oauth_access_tokens", "oauth_refresh_tokens"


# --- Object types and their properties --------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    name: str
    type_id: str
    singular: str
    label: str
    modified: str
    defaults: tuple[str, ...]
    """Properties a read returns when none are asked for."""
    searchable: tuple[str, ...]
    """Properties the free-text ``query`` of a search looks at."""


# fmt: off
CONTACTS = _Kind("contacts", "0-1", "contact", "CONTACT", "lastmodifieddate",
                 ("email", "firstname", "lastname"), ("email", "firstname", "lastname", "phone", "company"))
DEALS = _Kind("deals", "0-3", "deal", "DEAL", "hs_lastmodifieddate",
              ("dealname", "amount", "closedate", "dealstage", "pipeline"), ("dealname",))
PRODUCTS = _Kind("products", "0-7", "product", "PRODUCT", "hs_lastmodifieddate",
                 ("name", "price", "description"), ("name", "hs_sku", "description"))
LINE_ITEMS = _Kind("line_items", "0-8", "line_item", "LINE_ITEM", "hs_lastmodifieddate",
                   ("name", "quantity", "price", "amount", "hs_product_id"), ("name", "hs_sku"))
# fmt: on
KINDS = {kind.name: kind for kind in (CONTACTS, DEALS, PRODUCTS, LINE_ITEMS)}
_KIND_ALIASES = {alias: kind for kind in KINDS.values() for alias in (kind.name, kind.singular, kind.type_id)}

# HubSpot-defined association types among these objects (saas-apis §2.7): type id → (from, to).
ASSOCIATION_TYPES = {3: ("deals", "contacts"), 4: ("contacts", "deals"), 19: ("deals", "line_items"),
                     20: ("line_items", "deals")}  # fmt: skip
DEFAULT_TYPE = {pair: type_id for type_id, pair in ASSOCIATION_TYPES.items()}
INVERSE_TYPE = {3: 4, 4: 3, 19: 20, 20: 19}


def _definition(
    name: str,
    label: str,
    group: str,
    type_: str = "string",
    field_type: str = "text",
    options: Iterable[tuple[str, str]] = (),
    *,
    read_only: bool = False,
    unique: bool = False,
    external: bool = False,
    order: int = -1,
) -> dict[str, Any]:
    """A property in the shape of ``GET /crm/v3/properties/{object}``."""
    return {
        "updatedAt": FIXTURE_TIME,
        "createdAt": FIXTURE_TIME,
        "name": name,
        "label": label,
        "type": type_,
        "fieldType": field_type,
        "description": "",
        "groupName": group,
        "options": [
            {"label": text, "value": value, "displayOrder": index, "hidden": False}
            for index, (value, text) in enumerate(options)
        ],
        "displayOrder": order,
        "calculated": False,
        "externalOptions": external,
        "hasUniqueValue": unique,
        "hidden": False,
        "hubspotDefined": True,
        "modificationMetadata": {"archivable": False, "readOnlyDefinition": True, "readOnlyValue": read_only},
        "formField": not read_only,
        "archived": False,
    }


_CURRENCIES = [
    (code, code)
    for code in "USD EUR GBP CAD AUD CHF JPY SEK NOK DKK PLN CZK NZD SGD HKD INR BRL MXN ZAR CNY".split()
]


def _common(group: str, modified: str) -> list[dict[str, Any]]:
    return [
        _definition("hs_object_id", "Record ID", group, "number", "number", read_only=True),
        _definition("createdate", "Create Date", group, "datetime", "date"),
        _definition(modified, "Last Modified Date", group, "datetime", "date", read_only=True),
        _definition("hubspot_owner_id", "Owner", group, "enumeration", "select", external=True),
    ]


# fmt: off
BUILTIN: dict[str, dict[str, dict[str, Any]]] = {
    "contacts": {d["name"]: d for d in [
        _definition("email", "Email", "contactinformation", unique=True),
        _definition("firstname", "First Name", "contactinformation"),
        _definition("lastname", "Last Name", "contactinformation"),
        _definition("phone", "Phone Number", "contactinformation", field_type="phonenumber"),
        _definition("mobilephone", "Mobile Phone Number", "contactinformation", field_type="phonenumber"),
        _definition("company", "Company Name", "contactinformation"),
        _definition("jobtitle", "Job Title", "contactinformation"),
        _definition("website", "Website URL", "contactinformation"),
        _definition("address", "Street Address", "contactinformation"),
        _definition("city", "City", "contactinformation"),
        _definition("state", "State/Region", "contactinformation"),
        _definition("zip", "Postal Code", "contactinformation"),
        _definition("country", "Country/Region", "contactinformation"),
        _definition("industry", "Industry", "contactinformation"),
        _definition("annualrevenue", "Annual Revenue", "contactinformation"),
        _definition("date_of_birth", "Date of birth", "contactinformation", "date", "date"),
        _definition("message", "Message", "contactinformation", field_type="textarea"),
        _definition("hs_language", "Preferred language", "contactinformation"),
        _definition("lifecyclestage", "Lifecycle Stage", "contactinformation", "enumeration", "radio", [
            ("subscriber", "Subscriber"), ("lead", "Lead"),
            ("marketingqualifiedlead", "Marketing Qualified Lead"),
            ("salesqualifiedlead", "Sales Qualified Lead"), ("opportunity", "Opportunity"),
            ("customer", "Customer"), ("evangelist", "Evangelist"), ("other", "Other")]),
        _definition("hs_lead_status", "Lead Status", "sales_properties", "enumeration", "radio", [
            ("NEW", "New"), ("OPEN", "Open"), ("IN_PROGRESS", "In Progress"), ("OPEN_DEAL", "Open Deal"),
            ("UNQUALIFIED", "Unqualified"), ("ATTEMPTED_TO_CONTACT", "Attempted to Contact"),
            ("CONNECTED", "Connected"), ("BAD_TIMING", "Bad Timing")]),
        _definition("hs_email_optout", "Unsubscribed from all email", "contactinformation", "bool",
                    "booleancheckbox", [("true", "Yes"), ("false", "No")]),
        *_common("contactinformation", "lastmodifieddate"),
    ]},
    "deals": {d["name"]: d for d in [
        _definition("dealname", "Deal Name", "dealinformation"),
        _definition("amount", "Amount", "dealinformation", "number", "number"),
        _definition("closedate", "Close Date", "dealinformation", "datetime", "date"),
        _definition("dealstage", "Deal Stage", "dealinformation", "enumeration", "radio"),
        _definition("pipeline", "Pipeline", "dealinformation", "enumeration", "select"),
        _definition("description", "Deal Description", "dealinformation", field_type="textarea"),
        _definition("dealtype", "Deal Type", "dealinformation", "enumeration", "radio",
                    [("newbusiness", "New Business"), ("existingbusiness", "Existing Business")]),
        _definition("hs_priority", "Priority", "dealinformation", "enumeration", "select",
                    [("low", "Low"), ("medium", "Medium"), ("high", "High")]),
        _definition("deal_currency_code", "Currency", "dealinformation", "enumeration", "select",
                    _CURRENCIES),
        *_common("dealinformation", "hs_lastmodifieddate"),
    ]},
    "products": {d["name"]: d for d in [
        _definition("name", "Name", "productinformation"),
        _definition("hs_sku", "SKU", "productinformation"),
        _definition("price", "Unit price", "productinformation", "number", "number"),
        _definition("description", "Description", "productinformation", field_type="textarea"),
        _definition("hs_cost_of_goods_sold", "Unit cost", "productinformation", "number", "number"),
        _definition("hs_url", "URL", "productinformation"),
        _definition("hs_product_type", "Product type", "productinformation", "enumeration", "select",
                    [("inventory", "Inventory"), ("non_inventory", "Non-inventory"), ("service", "Service")]),
        _definition("recurringbillingfrequency", "Billing frequency", "productinformation", "enumeration",
                    "select", [("weekly", "Weekly"), ("biweekly", "Biweekly"), ("monthly", "Monthly"),
                               ("quarterly", "Quarterly"), ("per_six_months", "Every six months"),
                               ("annually", "Annually")]),
        *_common("productinformation", "hs_lastmodifieddate"),
    ]},
    "line_items": {d["name"]: d for d in [
        _definition("name", "Name", "lineiteminformation"),
        _definition("hs_product_id", "Product ID", "lineiteminformation", "number", "number"),
        _definition("hs_sku", "SKU", "lineiteminformation"),
        _definition("quantity", "Quantity", "lineiteminformation", "number", "number"),
        _definition("price", "Unit price", "lineiteminformation", "number", "number"),
        _definition("discount", "Unit discount", "lineiteminformation", "number", "number"),
        _definition("amount", "Net price", "lineiteminformation", "number", "number", read_only=True),
        _definition("description", "Description", "lineiteminformation", field_type="textarea"),
        _definition("hs_line_item_currency_code", "Currency", "lineiteminformation", "enumeration", "select",
                    _CURRENCIES),
        *_common("lineiteminformation", "hs_lastmodifieddate"),
    ]},
}

DEFAULT_STAGES = [("appointmentscheduled", "Appointment Scheduled", "0.2"),
                  ("qualifiedtobuy", "Qualified To Buy", "0.4"),
                  ("presentationscheduled", "Presentation Scheduled", "0.6"),
                  ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8"),
                  ("contractsent", "Contract Sent", "0.9"),
                  ("closedwon", "Closed Won", "1.0"),
                  ("closedlost", "Closed Lost", "0.0")]
# fmt: on

WEBHOOK_EVENT_TYPES = frozenset(
    f"{obj}.{event}"
    for obj in ("contact", "company", "deal", "ticket", "product", "line_item")
    for event in ("creation", "deletion", "propertyChange", "merge", "restore", "associationChange")
) | {"contact.privacyDeletion"}
"""What the webhooks API accepts; deliveries are made for the four objects this sandbox keeps."""


# --- Small helpers ----------------------------------------------------------------------------------


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _iso(ms: int) -> str:
    """HubSpot's timestamps: UTC, millisecond precision, ``Z``."""
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _parse_time(value: str) -> int | None:
    """Epoch milliseconds from either epoch milliseconds or ISO 8601 (what HubSpot accepts for dates)."""
    text = value.strip()
    if re.fullmatch(r"-?\d{1,15}", text):
        return int(text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _format_number(number: float) -> str:
    return str(int(number)) if number == int(number) else repr(round(number, 10))


class _Fail(Exception):
    """An answer in HubSpot's own shape, raised from anywhere below a route."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("message"))
        self.status, self.body, self.headers = status, body, headers or {}


def _error(status: int, message: str, category: str, **extra: Any) -> _Fail:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}
    return _Fail(status, body | extra)


def _invalid(message: str, **extra: Any) -> _Fail:
    return _error(400, message, "VALIDATION_ERROR", **extra)


def _not_found(object_id: str) -> _Fail:
    return _error(
        404,
        "Object not found.  objectId are usually numeric.",
        "OBJECT_NOT_FOUND",
        context={"id": [object_id]},
    )


@dataclass(frozen=True)
class _PropertyError:
    name: str
    code: str
    message: str


def _property_failure(errors: list[_PropertyError]) -> _Fail:
    """HubSpot's 400 for bad property values: the per-property list is JSON inside ``message``."""
    items = [
        {
            "isValid": False,
            "message": e.message,
            "error": e.code,
            "name": e.name,
            "localizedErrorMessage": e.message,
            "portalId": PORTAL_ID,
        }
        for e in errors
    ]
    return _invalid(
        "Property values were not valid: " + json.dumps(items, separators=(",", ":")),
        errors=[
            {"message": e.message, "code": e.code, "in": e.name, "context": {"propertyName": [e.name]}}
            for e in errors
        ],
    )


class _Json(JSONResponse):
    media_type = "application/json;charset=utf-8"


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _invalid(f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    except UnicodeDecodeError as exc:
        raise _invalid("Invalid input JSON: the body is not UTF-8") from exc


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"Invalid input JSON: {what} must be an object")
    return value


def _inputs(body: Any, maximum: int = BATCH_MAX) -> list[dict[str, Any]]:
    inputs = _object(body, "the request body").get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
        raise _invalid("Invalid input JSON: inputs must be an array of objects")
    if len(inputs) > maximum:
        raise _invalid(
            f"Batch input size {len(inputs)} exceeds the maximum of {maximum} inputs.",
            context={"maxInputs": [str(maximum)]},
        )
    return inputs


def _names(request: Request, key: str) -> list[str]:
    """A list parameter, given repeated (the SDK) or comma-separated (the docs)."""
    return [
        name.strip()
        for value in request.query_params.getlist(key)
        for name in value.split(",")
        if name.strip()
    ]


def _flag(request: Request, key: str) -> bool:
    return request.query_params.get(key, "false").lower() == "true"


def _limit(request: Request, default: int, maximum: int) -> int:
    raw = request.query_params.get("limit")
    try:
        limit = default if raw is None else int(raw)
    except ValueError:
        raise _invalid(f"limit must be an integer, got {raw!r}") from None
    if not 1 <= limit <= maximum:
        raise _invalid(f"limit must be between 1 and {maximum}, got {limit}")
    return limit


_ESCAPED = {
    "3A": ":",
    "2F": "/",
    "3F": "?",
    "40": "@",
    "21": "!",
    "24": "$",
    "27": "'",
    "28": "(",
    "29": ")",
    "2A": "*",
    "2C": ",",
    "3B": ";",
}
_ESCAPE = re.compile("%(" + "|".join(_ESCAPED) + ")", re.IGNORECASE)


def _signature_v3(secret: str, url: str, body: bytes, timestamp: str) -> str:
    """HubSpot signs the called URI with a few escapes decoded (its "Validating requests" table)."""
    uri = _ESCAPE.sub(lambda match: _ESCAPED[match.group(1).upper()], url)
    digest = hmac.new(secret.encode(), b"POST" + uri.encode() + body + timestamp.encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


# --- Tokens ------------------------------------------------------------------------------------------


class _Tokens(Tokens):
    """Tokens also written to the store, so a sandbox restarted with ``--data-dir`` still knows the access
    tokens it issued (HubSpot never forgets one before it expires) and can say when one expired."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self._expiry: dict[str, tuple[str, float]] = {}

    def load(self) -> None:
        for doc in self.store.all(REFRESH_TOKENS):
            self.refresh_tokens[doc["id"]] = doc["client_id"]
        for doc in self.store.all(ACCESS_TOKENS):
            self._expiry[doc["id"]] = (doc["refresh_token"], float(doc["expires_at"]))

    def persist(self) -> None:
        """Write back what a data reset cleared: sessions outlive a reset of the records."""
        for token, client_id in self.refresh_tokens.items():
            if token != REFRESH_TOKEN:
                self.store.put(REFRESH_TOKENS, token, {"id": token, "client_id": client_id})
        for token, (refresh, expires_at) in self._expiry.items():
            self._put(token, refresh, expires_at)

    def add_refresh_token(self, refresh_token: str, client_id: str) -> None:
        super().add_refresh_token(refresh_token, client_id)
        if refresh_token != REFRESH_TOKEN:
            self.store.put(REFRESH_TOKENS, refresh_token, {"id": refresh_token, "client_id": client_id})

    def revoke(self, refresh_token: str) -> bool:
        self.store.delete(REFRESH_TOKENS, refresh_token)
        return self.refresh_tokens.pop(refresh_token, None) is not None

    def issue(self, refresh_token: str, ttl: float, prefix: str) -> str:
        token = super().issue(refresh_token, ttl, prefix)
        self._put(token, refresh_token, time.time() + ttl)
        return token

    def check(self, token: str) -> Literal["valid", "expired", "unknown"]:
        verdict = super().check(token)
        if verdict != "unknown" or token not in self._expiry:
            return verdict
        return "valid" if time.time() < self._expiry[token][1] else "expired"

    def expires_at(self, token: str) -> float | None:
        found = self._expiry.get(token)
        return found[1] if found else None

    def remaining(self, token: str) -> int:
        expires_at = self.expires_at(token)
        return max(0, int(expires_at - time.time())) if expires_at else 0

    def expire_all(self) -> None:
        super().expire_all()
        past = time.time() - 1
        for token, (refresh, _) in list(self._expiry.items()):
            self._put(token, refresh, past)

    def _put(self, token: str, refresh_token: str, expires_at: float) -> None:
        self._expiry[token] = (refresh_token, expires_at)
        self.store.put(
            ACCESS_TOKENS, token, {"id": token, "refresh_token": refresh_token, "expires_at": expires_at}
        )


@dataclass(frozen=True)
class _Caller:
    kind: Literal["private", "oauth"]
    token: str


@dataclass
class _Written:
    """A record write not yet announced: webhooks go out only once the whole request succeeded."""

    kind: _Kind
    id: str
    action: Literal["created", "updated", "deleted"]
    changed: dict[str, str | None] = field(default_factory=dict)


def _expired_message(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return f"The OAuth token used to make this call expired {int(seconds // size)} {unit}(s) ago."
    return f"The OAuth token used to make this call expired {int(max(0, seconds))} second(s) ago."


_SEARCH_PATH = re.compile(r"/crm/v3/objects/[^/]+/search/?")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOKEN_SPLIT = re.compile(r"[\s,;]+")


# --- The sandbox ------------------------------------------------------------------------------------


class HubSpotSandbox(Sandbox):
    name = "hubspot"
    default_port = 8702

    webhook_batch_seconds: float = 0.1
    """How long events gather before a delivery (HubSpot batches up to 100 events per request)."""
    webhook_retries: int = 3
    """Further attempts after a failed delivery (HubSpot makes up to 10 over a day; kept short here)."""
    webhook_backoff_seconds: float = 0.2
    search_ceiling: int = SEARCH_CEILING
    """Results one search query can page through (settable so tests reach it with a few records)."""

    def __init__(self, *, store_path: Any = None, faults: Faults | None = None) -> None:
        super().__init__(store_path=store_path, faults=faults)
        self.tokens = _Tokens(self.store)
        self.tokens.load()
        self.tokens.add_refresh_token(REFRESH_TOKEN, CLIENT_ID)
        self._codes: dict[str, tuple[str, str, float]] = {}
        self._pending: list[dict[str, Any]] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._unique: dict[tuple[str, str, str], str] | None = None
        self._custom: dict[str, dict[str, dict[str, Any]]] | None = None
        self._daily_day, self._daily_used = "", 0
        if self.store.count(PIPELINES) == 0:
            self._fixtures()

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
        app.add_exception_handler(_Fail, self._on_fail)
        app.add_exception_handler(HTTPException, self._on_http_exception)
        return app

    async def _on_fail(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Fail)
        return _Json(exc.body, status_code=exc.status, headers=exc.headers)

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

    # --- fixtures ---

    def _fixtures(self) -> None:
        stages = [
            {
                "label": label,
                "displayOrder": index,
                "metadata": {"isClosed": str(stage.startswith("closed")).lower(), "probability": probability},
                "id": stage,
                "createdAt": FIXTURE_TIME,
                "updatedAt": FIXTURE_TIME,
                "archived": False,
                "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
            }
            for index, (stage, label, probability) in enumerate(DEFAULT_STAGES)
        ]
        pipeline = {
            "label": "Sales Pipeline",
            "displayOrder": 0,
            "id": "default",
            "stages": stages,
            "createdAt": FIXTURE_TIME,
            "updatedAt": FIXTURE_TIME,
            "archived": False,
        }
        self.store.put(PIPELINES, "deals:default", pipeline)

    # --- authentication ---

    def _caller(self, request: Request) -> _Caller:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token:
            if token == PRIVATE_APP_TOKEN:
                return _Caller("private", token)
            state = self.tokens.check(token)
            if state == "valid":
                return _Caller("oauth", token)
            if state == "expired":
                expires_at = self.tokens.expires_at(token) or time.time()
                raise _error(
                    401,
                    _expired_message(time.time() - expires_at),
                    "EXPIRED_AUTHENTICATION",
                    context={"expire time": [_iso(int(expires_at * 1000))]},
                )
        raise _error(
            401,
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
            "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            "INVALID_AUTHENTICATION",
        )

    def _developer(self, request: Request) -> None:
        """The webhooks API takes the developer account's API key as ``hapikey``, for the app it owns."""
        if request.query_params.get("hapikey") != DEVELOPER_API_KEY:
            raise _error(
                401,
                "The API key provided is invalid. View or manage your API key here: "
                "https://app.hubspot.com/l/api-key/",
                "INVALID_AUTHENTICATION",
            )
        if request.path_params["app_id"] != str(APP_ID):
            raise _error(
                404,
                f"App {request.path_params['app_id']} does not exist or does not belong to this "
                "developer account",
                "OBJECT_NOT_FOUND",
            )

    # --- records ---

    def _kind(self, name: str) -> _Kind:
        kind = _KIND_ALIASES.get(name)
        if kind is None:
            raise _invalid(f"Unable to infer object type from: {name}")
        return kind

    def _definitions(self, kind: _Kind) -> dict[str, dict[str, Any]]:
        if self._custom is None:
            self._custom = {name: {} for name in KINDS}
            for doc in self.store.all(PROPERTIES):
                self._custom[doc["objectType"]][doc["name"]] = doc
        return BUILTIN[kind.name] | self._custom[kind.name]

    def _unique_names(self, kind: _Kind) -> list[str]:
        return [name for name, d in self._definitions(kind).items() if d.get("hasUniqueValue")]

    def _index(self) -> dict[tuple[str, str, str], str]:
        """(object, unique property, folded value) → id of the live record holding it."""
        if self._unique is None:
            self._unique = {}
            for kind in KINDS.values():
                names = self._unique_names(kind)
                for doc in self.store.all(kind.name):
                    self._index_doc(kind, doc, names)
        return self._unique

    def _index_doc(self, kind: _Kind, doc: dict[str, Any], names: list[str]) -> None:
        assert self._unique is not None
        for name in names:
            value = doc["properties"].get(name)
            if value and not doc["archived"]:
                self._unique[(kind.name, name, value.casefold())] = doc["id"]

    def _put(self, kind: _Kind, doc: dict[str, Any]) -> None:
        previous = self.store.get(kind.name, doc["id"])
        index = self._index()
        names = self._unique_names(kind)
        if previous is not None:
            for name in names:
                value = previous["properties"].get(name)
                if value and index.get((kind.name, name, value.casefold())) == doc["id"]:
                    del index[(kind.name, name, value.casefold())]
        self.store.put(kind.name, doc["id"], doc)
        self._index_doc(kind, doc, names)

    def _drop(self, kind: _Kind, object_id: str) -> None:
        """Undo a create (batch rollback)."""
        doc = self.store.get(kind.name, object_id)
        if doc is not None:
            doc["archived"] = True
            self._put(kind, doc)
            self.store.delete(kind.name, object_id)

    def _holder(self, kind: _Kind, name: str, value: str) -> str | None:
        return self._index().get((kind.name, name, value.casefold()))

    def _find(
        self, kind: _Kind, object_id: str, id_property: str | None, *, archived: bool = False
    ) -> dict[str, Any] | None:
        if id_property and id_property != "hs_object_id":
            definition = self._definitions(kind).get(id_property)
            if definition is None:
                raise _property_failure(
                    [
                        _PropertyError(
                            id_property, "PROPERTY_DOESNT_EXIST", f'Property "{id_property}" does not exist'
                        )
                    ]
                )
            if not definition.get("hasUniqueValue"):
                raise _invalid(f"{id_property} is not a unique property and cannot be used as idProperty")
            found = self._holder(kind, id_property, object_id)
            return self.store.get(kind.name, found) if found and not archived else None
        doc = self.store.get(kind.name, object_id)
        return doc if doc is not None and doc["archived"] == archived else None

    def _public(
        self,
        kind: _Kind,
        doc: dict[str, Any],
        names: Iterable[str] | None = None,
        *,
        associations: Iterable[_Kind] = (),
    ) -> dict[str, Any]:
        stored = doc["properties"]
        known = self._definitions(kind)
        wanted = {*(names or kind.defaults), "createdate", kind.modified, "hs_object_id"}
        properties = {name: stored.get(name) for name in sorted(wanted) if name in known or name in stored}
        result: dict[str, Any] = {
            "id": doc["id"],
            "properties": properties,
            "createdAt": doc["createdAt"],
            "updatedAt": doc["updatedAt"],
            "archived": doc["archived"],
        }
        if doc["archived"]:
            result["archivedAt"] = doc.get("archivedAt")
        linked = {}
        for other in associations:
            ids = self._linked(kind, doc["id"], other)
            if ids:
                kind_name = f"{kind.singular}_to_{other.singular}"
                linked[other.name] = {"results": [{"id": to_id, "type": kind_name} for to_id, _ in ids]}
        if linked:
            result["associations"] = linked
        return result

    def _clean(self, kind: _Kind, raw: Any, current: dict[str, Any] | None) -> dict[str, str | None]:
        """Validate and normalise property values as HubSpot does; a failure names every bad property."""
        given = _object(raw if raw is not None else {}, "properties")
        definitions = self._definitions(kind)
        errors: list[_PropertyError] = []
        out: dict[str, str | None] = {}
        for name, value in given.items():
            definition = definitions.get(name)
            if definition is None:
                errors.append(
                    _PropertyError(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
                )
                continue
            if definition["modificationMetadata"]["readOnlyValue"]:
                errors.append(
                    _PropertyError(
                        name, "READ_ONLY_VALUE", f'"{name}" is a read only property; its value cannot be set.'
                    )
                )
                continue
            if isinstance(value, dict | list):
                errors.append(_PropertyError(name, "INVALID_PROPERTY_VALUE", f"{name} must be a string"))
                continue
            if value is None or value == "":
                out[name] = None
                continue
            if isinstance(value, bool):
                text = str(value).lower()
            elif isinstance(value, float):
                text = _format_number(value)
            else:
                text = str(value)
            normalised, problem = self._coerce(kind, definition, text)
            if problem is not None:
                errors.append(problem)
            else:
                out[name] = normalised
        if errors:
            raise _property_failure(errors)
        merged = {**(current["properties"] if current else {}), **out}
        if kind is DEALS:
            self._check_stage(out, merged)
        if kind is LINE_ITEMS:
            self._price_line_item(out, merged)
        for name in self._unique_names(kind):
            value = out.get(name)
            holder = self._holder(kind, name, value) if value else None
            if holder is not None and (current is None or holder != current["id"]):
                if kind is CONTACTS and name == "email":
                    raise _error(409, f"Contact already exists. Existing ID: {holder}", "CONFLICT")
                raise _error(
                    409,
                    f"A {kind.singular} with {name} {value!r} already exists. Existing ID: {holder}",
                    "CONFLICT",
                )
        return out

    def _coerce(
        self, kind: _Kind, definition: dict[str, Any], text: str
    ) -> tuple[str, _PropertyError | None]:
        name, type_ = definition["name"], definition["type"]
        if type_ == "number":
            if _number(text) is None:
                return text, _PropertyError(name, "INVALID_FLOAT", f"{text} was not a valid number.")
            return text.strip(), None
        if type_ in ("datetime", "date"):
            ms = _parse_time(text)
            if ms is None:
                return text, _PropertyError(
                    name, "INVALID_DATE", f"{text} was not a valid date or timestamp."
                )
            if type_ == "datetime":
                return _iso(ms), None
            if ms % 86_400_000:
                return text, _PropertyError(
                    name, "INVALID_DATE", f"{text} is not midnight UTC; date properties hold a day."
                )
            return _iso(ms)[:10], None
        if type_ == "bool":
            if text.lower() not in ("true", "false"):
                return text, _PropertyError(name, "INVALID_BOOLEAN", f"{text} was not a valid boolean.")
            return text.lower(), None
        if type_ == "enumeration" and definition.get("externalOptions"):
            if not text.isdigit():
                return text, _PropertyError(name, "INVALID_OPTION", f"{text} was not a valid owner id.")
            return text, None
        if type_ == "enumeration" and definition["options"]:
            allowed = [option["value"] for option in definition["options"]]
            if text not in allowed:
                return text, _PropertyError(
                    name,
                    "INVALID_OPTION",
                    f"{text} was not one of the allowed options: [{', '.join(allowed)}]",
                )
        if kind is CONTACTS and name == "email":
            if not _EMAIL.match(text.strip()):
                return text, _PropertyError(name, "INVALID_EMAIL", f"Email address {text} is invalid")
            return text.strip().lower(), None
        return text, None

    def _check_stage(self, out: dict[str, str | None], merged: dict[str, Any]) -> None:
        """A deal's stage must belong to its pipeline (HubSpot puts a deal without one in ``default``)."""
        if "dealstage" not in out and "pipeline" not in out:
            return
        if merged.get("dealstage") and not merged.get("pipeline"):
            out["pipeline"] = merged["pipeline"] = "default"
        pipeline_id = merged.get("pipeline")
        if not pipeline_id:
            return
        pipeline = self.store.get(PIPELINES, f"deals:{pipeline_id}")
        if pipeline is None:
            ids = [doc["id"] for doc in self.store.all(PIPELINES)]
            raise _property_failure(
                [
                    _PropertyError(
                        "pipeline",
                        "INVALID_OPTION",
                        f"{pipeline_id} was not one of the allowed options: [{', '.join(ids)}]",
                    )
                ]
            )
        stage = merged.get("dealstage")
        stages = [s["id"] for s in pipeline["stages"] if not s["archived"]]
        if stage and stage not in stages:
            raise _property_failure(
                [
                    _PropertyError(
                        "dealstage",
                        "INVALID_OPTION",
                        f"{stage} was not one of the allowed options for pipeline {pipeline_id}: "
                        f"[{', '.join(stages)}]",
                    )
                ]
            )

    def _price_line_item(self, out: dict[str, str | None], merged: dict[str, Any]) -> None:
        """A line item copies its catalogue product's name, price and SKU; ``amount`` is computed."""
        product_id = out.get("hs_product_id")
        if product_id:
            product = self.store.get(PRODUCTS.name, product_id)
            if product is None or product["archived"]:
                raise _property_failure(
                    [
                        _PropertyError(
                            "hs_product_id",
                            "INVALID_OBJECT_ID",
                            f"Product with id {product_id} does not exist",
                        )
                    ]
                )
            for name in ("name", "price", "hs_sku", "description"):
                if not merged.get(name) and product["properties"].get(name):
                    out[name] = merged[name] = product["properties"][name]
        price, quantity = _number(merged.get("price") or ""), _number(merged.get("quantity") or "")
        if price is not None and quantity is not None:
            discount = _number(merged.get("discount") or "") or 0.0
            amount = _format_number(round(quantity * (price - discount), 6))
            if merged.get("amount") != amount:
                out["amount"] = merged["amount"] = amount

    def _write(
        self, kind: _Kind, current: dict[str, Any] | None, raw: Any
    ) -> tuple[dict[str, Any], _Written]:
        """Validate, then store one record; the caller announces the change once its request succeeded."""
        cleaned = self._clean(kind, raw, current)
        now = _iso(_now_ms())
        if current is None:
            object_id = str(self.store.next_id("objects", start=FIRST_ID))
            properties: dict[str, str] = {name: value for name, value in cleaned.items() if value is not None}
            properties |= {
                "hs_object_id": object_id,
                "createdate": properties.get("createdate") or now,
                kind.modified: now,
            }
            doc: dict[str, Any] = {
                "id": object_id,
                "properties": properties,
                "createdAt": now,
                "updatedAt": now,
                "archived": False,
            }
            self._put(kind, doc)
            return doc, _Written(kind, object_id, "created", dict(properties))
        doc = current
        properties = dict(doc["properties"])
        changed: dict[str, str | None] = {}
        for name, value in cleaned.items():
            if properties.get(name) != value:
                changed[name] = value
                if value is None:
                    properties.pop(name, None)
                else:
                    properties[name] = value
        if changed:
            properties[kind.modified] = now
            doc = doc | {"properties": properties, "updatedAt": now}
            self._put(kind, doc)
        return doc, _Written(kind, doc["id"], "updated", changed)

    def _archive_doc(self, kind: _Kind, doc: dict[str, Any]) -> _Written:
        now = _iso(_now_ms())
        self._put(kind, doc | {"archived": True, "archivedAt": now})
        return _Written(kind, doc["id"], "deleted")

    # --- objects: basic ---

    async def _list(self, request: Request) -> Response:
        self._caller(request)
        kind = self._kind(request.path_params["object"])
        limit = _limit(request, 10, LIST_MAX)
        after_raw = request.query_params.get("after")
        if after_raw is not None and not after_raw.isdigit():
            raise _invalid(f"after must be a record id cursor, got {after_raw!r}")
        after = int(after_raw or 0)
        archived = _flag(request, "archived")
        associated = [self._kind(name) for name in _names(request, "associations")]
        names = _names(request, "properties") or None
        docs = [
            doc
            for doc in self.store.all(kind.name)
            if doc["archived"] == archived and int(doc["id"]) >= after
        ]
        docs.sort(key=lambda doc: int(doc["id"]))
        page = docs[:limit]
        body: dict[str, Any] = {
            "results": [self._public(kind, doc, names, associations=associated) for doc in page]
        }
        if len(docs) > limit:
            next_after = str(int(page[-1]["id"]) + 1)
            query = [(k, v) for k, v in request.query_params.multi_items() if k != "after"] + [
                ("after", next_after)
            ]
            body["paging"] = {
                "next": {"after": next_after, "link": f"{self.base_url}{request.url.path}?{urlencode(query)}"}
            }
        return _Json(body)

    async def _get(self, request: Request) -> Response:
        self._caller(request)
        kind = self._kind(request.path_params["object"])
        object_id = request.path_params["id"]
        doc = self._find(
            kind, object_id, request.query_params.get("idProperty"), archived=_flag(request, "archived")
        )
        if doc is None:
            raise _not_found(object_id)
        associated = [self._kind(name) for name in _names(request, "associations")]
        return _Json(self._public(kind, doc, _names(request, "properties") or None, associations=associated))

    async def _create(self, request: Request) -> Response:
        caller = self._caller(request)
        kind = self._kind(request.path_params["object"])
        body = _object(await _body(request), "the request body")
        links = self._association_inputs(kind, body.get("associations"))
        doc, written = self._write(kind, None, body.get("properties"))
        for to_kind, to_id, type_id in links:
            self._link(kind, doc["id"], to_kind, to_id, type_id)
        self._announce([written], caller)
        return _Json(self._public(kind, doc, [*kind.defaults, *written.changed]), status_code=201)

    async def _update(self, request: Request) -> Response:
        caller = self._caller(request)
        kind = self._kind(request.path_params["object"])
        object_id = request.path_params["id"]
        body = _object(await _body(request), "the request body")
        current = self._find(kind, object_id, request.query_params.get("idProperty"))
        if current is None:
            raise _not_found(object_id)
        doc, written = self._write(kind, current, body.get("properties"))
        self._announce([written], caller)
        return _Json(self._public(kind, doc, [*kind.defaults, *written.changed]))

    async def _archive(self, request: Request) -> Response:
        """Archiving is idempotent at HubSpot: an unknown or already archived id still answers 204."""
        caller = self._caller(request)
        kind = self._kind(request.path_params["object"])
        doc = self._find(kind, request.path_params["id"], None)
        if doc is not None:
            self._announce([self._archive_doc(kind, doc)], caller)
        return Response(status_code=204)

    # --- objects: batch ---

    async def _batch(self, request: Request) -> Response:
        caller = self._caller(request)
        kind = self._kind(request.path_params["object"])
        op = request.path_params["op"]
        if op not in ("create", "read", "update", "upsert", "archive"):
            raise _error(404, f"No route matches POST {request.url.path}", "OBJECT_NOT_FOUND")
        body = _object(await _body(request), "the request body")
        inputs = _inputs(body)
        started = _iso(_now_ms())
        if op == "read":
            return self._batch_read(request, kind, body, inputs, started)
        if op == "archive":
            written = []
            for item in inputs:
                doc = self._find(kind, str(item.get("id", "")), None)
                if doc is not None:
                    written.append(self._archive_doc(kind, doc))
            self._announce(written, caller)
            return Response(status_code=204)
        if op == "update":
            ids = [str(item.get("id")) for item in inputs]
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise _invalid(
                    f"Duplicate IDs found in batch input: [{', '.join(duplicates)}]. IDs must be unique"
                )
        return self._batch_write(kind, op, inputs, caller, started)

    def _batch_write(
        self, kind: _Kind, op: str, inputs: list[dict[str, Any]], caller: _Caller, started: str
    ) -> Response:
        """All or nothing, unless inputs carry ``objectWriteTraceId``: that allows per-input errors (207)."""
        partial = any("objectWriteTraceId" in item for item in inputs)
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        written: list[_Written] = []
        undo: list[tuple[str, dict[str, Any] | None]] = []
        for item in inputs:
            trace = item.get("objectWriteTraceId")
            try:
                result, change, before = self._batch_one(kind, op, item)
            except _Fail as fail:
                if not partial:
                    self._rollback(kind, undo)
                    raise
                context = {"objectWriteTraceId": [str(trace)]} if trace is not None else {}
                if item.get("id") is not None:
                    context["ids"] = [str(item["id"])]
                errors.append(
                    {
                        "status": "error",
                        "category": fail.body.get("category", "VALIDATION_ERROR"),
                        "message": fail.body.get("message", ""),
                        "context": context,
                        "errors": fail.body.get("errors", []),
                        "links": {},
                    }
                )
                continue
            undo.append((change.id, before))
            if trace is not None:
                result["objectWriteTraceId"] = str(trace)
            results.append(result)
            written.append(change)
        self._announce(written, caller)
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": _iso(_now_ms()),
        }
        if errors:
            body |= {"numErrors": len(errors), "errors": errors}
            return _Json(body, status_code=207)
        return _Json(body, status_code=201 if op == "create" else 200)

    def _batch_one(
        self, kind: _Kind, op: str, item: dict[str, Any]
    ) -> tuple[dict[str, Any], _Written, dict[str, Any] | None]:
        if op == "create":
            links = self._association_inputs(kind, item.get("associations"))
            doc, written = self._write(kind, None, item.get("properties"))
            for to_kind, to_id, type_id in links:
                self._link(kind, doc["id"], to_kind, to_id, type_id)
            return self._public(kind, doc, [*kind.defaults, *written.changed]), written, None
        object_id = str(item.get("id") or "")
        if not object_id:
            raise _invalid("Invalid input JSON: every input needs an id")
        id_property = item.get("idProperty")
        if op == "update":
            current = self._find(kind, object_id, id_property)
            if current is None:
                raise _not_found(object_id)
            doc, written = self._write(kind, current, item.get("properties"))
            return self._public(kind, doc, [*kind.defaults, *written.changed]), written, current
        if not id_property or id_property == "hs_object_id":
            raise _invalid("idProperty must name a unique property (e.g. email for contacts) to upsert")
        current = self._find(kind, object_id, id_property)
        properties = dict(_object(item.get("properties") or {}, "properties"))
        if current is None:
            properties[id_property] = object_id
        doc, written = self._write(kind, current, properties)
        public = self._public(kind, doc, [*kind.defaults, *written.changed])
        return {**public, "new": current is None}, written, current

    def _rollback(self, kind: _Kind, undo: list[tuple[str, dict[str, Any] | None]]) -> None:
        for object_id, before in reversed(undo):
            if before is None:
                self._drop(kind, object_id)
            else:
                self._put(kind, before)

    def _batch_read(
        self, request: Request, kind: _Kind, body: dict[str, Any], inputs: list[dict[str, Any]], started: str
    ) -> Response:
        names = body.get("properties") or None
        if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise _invalid("Invalid input JSON: properties must be an array of strings")
        id_property = body.get("idProperty")
        archived = _flag(request, "archived")
        results, missing, seen = [], [], set()
        for item in inputs:
            object_id = str(item.get("id", ""))
            doc = self._find(kind, object_id, id_property, archived=archived)
            if doc is None:
                missing.append(object_id)
            elif doc["id"] not in seen:
                seen.add(doc["id"])
                results.append(self._public(kind, doc, names))
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": _iso(_now_ms()),
        }
        if not missing:
            return _Json(out)
        error = {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": f"Could not get some {kind.label} objects, they may be deleted or not exist. "
            "Check that ids are valid.",
            "context": {"ids": missing},
            "errors": [],
            "links": {},
        }
        return _Json(out | {"numErrors": 1, "errors": [error]}, status_code=207)

    # --- objects: search ---

    async def _search(self, request: Request) -> Response:
        self._caller(request)
        kind = self._kind(request.path_params["object"])
        body = _object(await _body(request), "the request body")
        groups = body.get("filterGroups") or []
        if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
            raise _invalid("Invalid input JSON: filterGroups must be an array of objects")
        filters = [_object(f, "a filter") for g in groups for f in (g.get("filters") or [])]
        if (
            len(groups) > FILTER_GROUPS_MAX
            or len(filters) > FILTERS_MAX
            or any(len(g.get("filters") or []) > FILTERS_PER_GROUP_MAX for g in groups)
        ):
            raise _invalid(
                f"Too many filters: at most {FILTER_GROUPS_MAX} filterGroups of {FILTERS_PER_GROUP_MAX} "
                f"filters each, {FILTERS_MAX} filters in total"
            )
        limit = body.get("limit", 10)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= SEARCH_MAX:
            raise _invalid(f"limit must be an integer between 0 and {SEARCH_MAX}")
        after_raw = str(body.get("after") or "0")
        if not after_raw.isdigit():
            raise _invalid(f"after must be a numeric offset, got {after_raw!r}")
        after = int(after_raw)
        if after >= self.search_ceiling:
            raise _invalid(
                f"Search results are limited to the first {self.search_ceiling} results; after={after} is "
                "past them. Narrow the filters (e.g. a later lower bound on the modified date)."
            )
        definitions = self._definitions(kind)
        for f in filters:
            name = f.get("propertyName")
            if f.get("operator", "EQ") not in OPERATORS:
                raise _invalid(
                    f"Unknown filter operator {f.get('operator')!r}; use one of {', '.join(OPERATORS)}"
                )
            if name not in definitions:
                raise _invalid(
                    f"Property {name!r} does not exist on {kind.name}; it cannot be searched",
                    context={"propertyName": [str(name)]},
                )
        docs = [doc for doc in self.store.all(kind.name) if not doc["archived"]]
        if groups:
            docs = [doc for doc in docs if any(self._matches_group(definitions, doc, g) for g in groups)]
        query = body.get("query")
        if isinstance(query, str) and query.strip():
            docs = [doc for doc in docs if self._matches_query(kind, doc, query)]
        docs = self._sorted(kind, docs, body.get("sorts") or [], definitions)
        names = body.get("properties") or None
        if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise _invalid("Invalid input JSON: properties must be an array of strings")
        # Pages stop at the ceiling, but ``paging`` still points past it while more match: a client that
        # follows it blindly meets the 400 above rather than a quiet, truncated result.
        page = docs[after : min(after + limit, self.search_ceiling)]
        out: dict[str, Any] = {
            "total": len(docs),
            "results": [self._public(kind, doc, names) for doc in page],
        }
        if after + limit < len(docs):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return _Json(out)

    def _matches_group(self, definitions: dict[str, Any], doc: dict[str, Any], group: dict[str, Any]) -> bool:
        return all(self._matches(definitions, doc, f) for f in group.get("filters") or [])

    def _matches(self, definitions: dict[str, Any], doc: dict[str, Any], f: dict[str, Any]) -> bool:
        name, operator = f.get("propertyName", ""), str(f.get("operator", "EQ"))
        definition = definitions[name]
        value: str | None = doc["properties"].get(name)
        if operator == "HAS_PROPERTY":
            return value not in (None, "")
        if operator == "NOT_HAS_PROPERTY":
            return value in (None, "")
        if operator in ("IN", "NOT_IN"):
            wanted = {self._key(definition, str(v)) for v in f.get("values") or []}
            inside = value is not None and self._key(definition, value) in wanted
            return inside if operator == "IN" else not inside
        if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            pattern = str(f.get("value", "")).casefold()
            text = (value or "").casefold()
            found = bool(value) and (
                fnmatch.fnmatchcase(text, pattern)
                or any(fnmatch.fnmatchcase(t, pattern) for t in _TOKEN_SPLIT.split(text))
            )
            return found if operator == "CONTAINS_TOKEN" else not found
        if value is None:
            return operator == "NEQ"
        mine, theirs = self._key(definition, value), self._key(definition, str(f.get("value", "")))
        if operator == "BETWEEN":
            high = self._key(definition, str(f.get("highValue", "")))
            return _compare(theirs, mine) <= 0 <= _compare(high, mine)
        outcome = _compare(mine, theirs)
        return {
            "EQ": outcome == 0,
            "NEQ": outcome != 0,
            "LT": outcome < 0,
            "LTE": outcome <= 0,
            "GT": outcome > 0,
            "GTE": outcome >= 0,
        }.get(operator, False)

    @staticmethod
    def _key(definition: dict[str, Any], value: str) -> float | str:
        """How HubSpot compares a property: numbers and dates by value, text case-insensitively."""
        if definition["type"] == "number":
            number = _number(value)
            return number if number is not None else value.casefold()
        if definition["type"] in ("datetime", "date"):
            ms = _parse_time(value)
            return float(ms) if ms is not None else value.casefold()
        return value.casefold()

    def _matches_query(self, kind: _Kind, doc: dict[str, Any], query: str) -> bool:
        tokens = [
            t
            for name in kind.searchable
            for t in _TOKEN_SPLIT.split((doc["properties"].get(name) or "").casefold())
        ]
        return all(any(t.startswith(term) for t in tokens) for term in query.casefold().split())

    def _sorted(
        self, kind: _Kind, docs: list[dict[str, Any]], sorts: Any, definitions: dict[str, dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """One sort is honoured, given as ``{"propertyName", "direction"}`` or as ``"name"``/``"-name"``;
        ties and the default order go by id."""
        docs = sorted(docs, key=lambda doc: int(doc["id"]))
        if not isinstance(sorts, list) or not sorts:
            return docs
        first = sorts[0]
        if isinstance(first, str):
            name, descending = first.lstrip("-"), first.startswith("-")
        elif isinstance(first, dict):
            name, descending = str(first.get("propertyName", "")), first.get("direction") == "DESCENDING"
        else:
            raise _invalid("Invalid input JSON: sorts must be an array")
        definition = definitions.get(name)
        if definition is None:
            raise _invalid(f"Property {name!r} does not exist on {kind.name}; it cannot be sorted on")
        present = [doc for doc in docs if doc["properties"].get(name) not in (None, "")]
        absent = [doc for doc in docs if doc["properties"].get(name) in (None, "")]
        keyed = [(self._key(definition, doc["properties"][name]), doc) for doc in present]
        numeric = all(isinstance(key, float) for key, _ in keyed)
        keyed.sort(key=lambda pair: pair[0] if numeric else str(pair[0]), reverse=descending)
        return [doc for _, doc in keyed] + absent

    # --- associations ---

    def _association_inputs(self, kind: _Kind, raw: Any) -> list[tuple[_Kind, str, int]]:
        """Check the ``associations`` of a create body; every target must exist before anything is written."""
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise _invalid("Invalid input JSON: associations must be an array")
        links = []
        for item in raw:
            item = _object(item, "an association")
            to_id = str(_object(item.get("to"), "association.to").get("id", ""))
            types = item.get("types")
            if not isinstance(types, list) or not types:
                raise _invalid("Invalid input JSON: association.types must be a non-empty array")
            for spec in types:
                type_id = self._type_id(kind, _object(spec, "an association type"))
                to_kind = KINDS[ASSOCIATION_TYPES[type_id][1]]
                self._require(to_kind, to_id)
                links.append((to_kind, to_id, type_id))
        return links

    def _type_id(self, kind: _Kind, spec: dict[str, Any], to_kind: _Kind | None = None) -> int:
        category, type_id = spec.get("associationCategory"), spec.get("associationTypeId")
        pair = ASSOCIATION_TYPES.get(type_id) if isinstance(type_id, int) else None
        if (
            not isinstance(type_id, int)
            or category != "HUBSPOT_DEFINED"
            or pair is None
            or pair[0] != kind.name
            or (to_kind is not None and pair[1] != to_kind.name)
        ):
            raise _invalid(
                f"Association type {type_id} ({category}) is not valid from {kind.singular}"
                + (f" to {to_kind.singular}" if to_kind else "")
            )
        return type_id

    def _require(self, kind: _Kind, object_id: str) -> dict[str, Any]:
        doc = self.store.get(kind.name, object_id)
        if doc is None or doc["archived"]:
            raise _invalid(
                f"{kind.singular} {object_id} does not exist; it cannot be associated",
                context={"id": [object_id]},
            )
        return doc

    def _default_type(self, kind: _Kind, to_kind: _Kind) -> int:
        type_id = DEFAULT_TYPE.get((kind.name, to_kind.name))
        if type_id is None:
            raise _invalid(f"There is no default association from {kind.name} to {to_kind.name}")
        return type_id

    def _link(self, kind: _Kind, object_id: str, to_kind: _Kind, to_id: str, type_id: int) -> None:
        """Associations go both ways: the inverse type is stored with the other record."""
        for a, a_id, b, b_id, t in (
            (kind, object_id, to_kind, to_id, type_id),
            (to_kind, to_id, kind, object_id, INVERSE_TYPE[type_id]),
        ):
            key = f"{a.name}:{a_id}:{b.name}:{b_id}"
            doc = self.store.get(ASSOCIATIONS, key) or {
                "from": a.name,
                "fromId": a_id,
                "to": b.name,
                "toId": b_id,
                "types": [],
            }
            if t not in doc["types"]:
                doc["types"].append(t)
            self.store.put(ASSOCIATIONS, key, doc)

    def _unlink(self, kind: _Kind, object_id: str, to_kind: _Kind, to_id: str) -> None:
        self.store.delete(ASSOCIATIONS, f"{kind.name}:{object_id}:{to_kind.name}:{to_id}")
        self.store.delete(ASSOCIATIONS, f"{to_kind.name}:{to_id}:{kind.name}:{object_id}")

    def _linked(self, kind: _Kind, object_id: str, to_kind: _Kind) -> list[tuple[str, list[int]]]:
        """(to id, type ids) for live targets, in id order."""
        found = []
        for doc in self.store.all(ASSOCIATIONS):
            if doc["from"] == kind.name and doc["fromId"] == object_id and doc["to"] == to_kind.name:
                target = self.store.get(to_kind.name, doc["toId"])
                if target is not None and not target["archived"]:
                    found.append((doc["toId"], list(doc["types"])))
        return sorted(found, key=lambda pair: int(pair[0]))

    @staticmethod
    def _types(type_ids: list[int]) -> list[dict[str, Any]]:
        return [{"category": "HUBSPOT_DEFINED", "typeId": t, "label": None} for t in type_ids]

    @staticmethod
    def _default_result(
        kind: _Kind, object_id: str, to_kind: _Kind, to_id: str, type_id: int
    ) -> list[dict[str, Any]]:
        return [
            {
                "from": {"id": object_id},
                "to": {"id": to_id},
                "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id},
            },
            {
                "from": {"id": to_id},
                "to": {"id": object_id},
                "associationSpec": {
                    "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": INVERSE_TYPE[type_id],
                },
            },
        ]

    async def _associate_default(self, request: Request) -> Response:
        self._caller(request)
        p = request.path_params
        kind, to_kind = self._kind(p["object"]), self._kind(p["to"])
        type_id = self._default_type(kind, to_kind)
        self._require(kind, p["id"])
        self._require(to_kind, p["to_id"])
        started = _iso(_now_ms())
        self._link(kind, p["id"], to_kind, p["to_id"], type_id)
        return _Json(
            {
                "status": "COMPLETE",
                "results": self._default_result(kind, p["id"], to_kind, p["to_id"], type_id),
                "startedAt": started,
                "completedAt": _iso(_now_ms()),
            }
        )

    async def _associate_labelled(self, request: Request) -> Response:
        self._caller(request)
        p = request.path_params
        kind, to_kind = self._kind(p["object"]), self._kind(p["to"])
        specs = await _body(request)
        if not isinstance(specs, list) or not specs:
            raise _invalid("Invalid input JSON: the body must be a non-empty array of association types")
        type_ids = [self._type_id(kind, _object(spec, "an association type"), to_kind) for spec in specs]
        self._require(kind, p["id"])
        self._require(to_kind, p["to_id"])
        for type_id in type_ids:
            self._link(kind, p["id"], to_kind, p["to_id"], type_id)
        return _Json(self._labels_between(kind, p["id"], to_kind, p["to_id"]), status_code=201)

    @staticmethod
    def _labels_between(kind: _Kind, object_id: str, to_kind: _Kind, to_id: str) -> dict[str, Any]:
        """HubSpot-defined types carry no label, so ``labels`` stays empty."""
        return {
            "fromObjectTypeId": kind.type_id,
            "fromObjectId": object_id,
            "toObjectTypeId": to_kind.type_id,
            "toObjectId": to_id,
            "labels": [],
        }

    async def _dissociate(self, request: Request) -> Response:
        self._caller(request)
        p = request.path_params
        self._unlink(self._kind(p["object"]), p["id"], self._kind(p["to"]), p["to_id"])
        return Response(status_code=204)

    async def _list_associations(self, request: Request) -> Response:
        self._caller(request)
        p = request.path_params
        kind, to_kind = self._kind(p["object"]), self._kind(p["to"])
        limit = _limit(request, ASSOCIATIONS_MAX, ASSOCIATIONS_MAX)
        after = request.query_params.get("after")
        if after is not None and not after.isdigit():
            raise _invalid(f"after must be an object id cursor, got {after!r}")
        linked = [
            (to_id, types)
            for to_id, types in self._linked(kind, p["id"], to_kind)
            if after is None or int(to_id) >= int(after)
        ]
        page = linked[:limit]
        body: dict[str, Any] = {
            "results": [
                {"toObjectId": to_id, "associationTypes": self._types(types)} for to_id, types in page
            ]
        }
        if len(linked) > limit:
            body["paging"] = {
                "next": {
                    "after": linked[limit][0],
                    "link": f"{self.base_url}{request.url.path}?after={linked[limit][0]}",
                }
            }
        return _Json(body)

    async def _batch_associations(self, request: Request) -> Response:
        self._caller(request)
        p = request.path_params
        kind, to_kind = self._kind(p["object"]), self._kind(p["to"])
        op = p["op"]
        if op not in ("create", "read", "archive", "associate/default"):
            raise _error(404, f"No route matches POST {request.url.path}", "OBJECT_NOT_FOUND")
        inputs = _inputs(await _body(request), 1000 if op == "read" else 2000)
        started = _iso(_now_ms())
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in inputs:
            from_id = str(_object(item.get("from") if op != "read" else item, "from").get("id", ""))
            try:
                if op == "read":
                    self._require(kind, from_id)
                    linked = self._linked(kind, from_id, to_kind)
                    if not linked:
                        errors.append(
                            {
                                "status": "error",
                                "category": "OBJECT_NOT_FOUND",
                                "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                                "message": f"No {to_kind.singular} is associated with {kind.singular} "
                                f"{from_id}.",
                                "context": {"fromObjectId": [from_id]},
                                "errors": [],
                                "links": {},
                            }
                        )
                        continue
                    results.append(
                        {
                            "from": {"id": from_id},
                            "to": [
                                {"toObjectId": to_id, "associationTypes": self._types(types)}
                                for to_id, types in linked
                            ],
                        }
                    )
                    continue
                if op == "archive":
                    targets = item.get("to")
                    for target in targets if isinstance(targets, list) else []:
                        self._unlink(kind, from_id, to_kind, str(_object(target, "to").get("id", "")))
                    continue
                to_id = str(_object(item.get("to"), "to").get("id", ""))
                if op == "associate/default":
                    type_ids = [self._default_type(kind, to_kind)]
                else:
                    types = item.get("types")
                    if not isinstance(types, list) or not types:
                        raise _invalid("Invalid input JSON: types must be a non-empty array")
                    type_ids = [
                        self._type_id(kind, _object(t, "an association type"), to_kind) for t in types
                    ]
                self._require(kind, from_id)
                self._require(to_kind, to_id)
                for type_id in type_ids:
                    self._link(kind, from_id, to_kind, to_id, type_id)
                if op == "associate/default":
                    results.extend(self._default_result(kind, from_id, to_kind, to_id, type_ids[0]))
                else:
                    results.append(self._labels_between(kind, from_id, to_kind, to_id))
            except _Fail as fail:
                errors.append(
                    {
                        "status": "error",
                        "category": fail.body.get("category", "VALIDATION_ERROR"),
                        "message": fail.body.get("message", ""),
                        "context": {"fromObjectId": [from_id]},
                        "errors": [],
                        "links": {},
                    }
                )
        if op == "archive":
            return Response(status_code=204)
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": _iso(_now_ms()),
        }
        if errors:
            return _Json(body | {"numErrors": len(errors), "errors": errors}, status_code=207)
        return _Json(body, status_code=201 if op == "create" else 200)

    # --- pipelines and properties ---

    def _pipeline_kind(self, name: str) -> None:
        if self._kind(name) is not DEALS:
            raise _invalid(f"Object type {name} has no pipelines in this account")

    async def _pipelines(self, request: Request) -> Response:
        self._caller(request)
        self._pipeline_kind(request.path_params["object"])
        if request.method == "GET":
            pipelines = sorted(self.store.all(PIPELINES), key=lambda pipeline: pipeline["displayOrder"])
            return _Json({"results": pipelines})
        body = _object(await _body(request), "the request body")
        label, stages = body.get("label"), body.get("stages")
        if not isinstance(label, str) or not label.strip():
            raise _invalid("label is required")
        if any(p["label"] == label for p in self.store.all(PIPELINES)):
            raise _error(409, f"A pipeline with label {label!r} already exists", "CONFLICT")
        if not isinstance(stages, list) or not stages:
            raise _invalid("stages must be a non-empty array")
        now = _iso(_now_ms())
        built = []
        for index, stage in enumerate(stages):
            stage = _object(stage, "a stage")
            metadata = _object(stage.get("metadata") or {}, "stage.metadata")
            probability = _number(str(metadata.get("probability", "")))
            if probability is None or not 0 <= probability <= 1:
                raise _invalid("Deal stages need metadata.probability between 0.0 and 1.0")
            built.append(
                {
                    "label": str(stage.get("label") or f"Stage {index + 1}"),
                    "displayOrder": int(stage.get("displayOrder", index)),
                    "metadata": {
                        "isClosed": str(
                            probability in (0.0, 1.0) and bool(metadata.get("isClosed", False))
                        ).lower(),
                        "probability": str(probability),
                    },
                    "id": str(self.store.next_id("stages", start=1_000_001)),
                    "createdAt": now,
                    "updatedAt": now,
                    "archived": False,
                    "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                }
            )
        pipeline_id = str(self.store.next_id("pipelines", start=900_001))
        pipeline = {
            "label": label,
            "displayOrder": int(body.get("displayOrder", 1)),
            "id": pipeline_id,
            "stages": built,
            "createdAt": now,
            "updatedAt": now,
            "archived": False,
        }
        self.store.put(PIPELINES, f"deals:{pipeline_id}", pipeline)
        return _Json(pipeline, status_code=201)

    def _one_pipeline(self, request: Request) -> dict[str, Any]:
        self._caller(request)
        self._pipeline_kind(request.path_params["object"])
        pipeline = self.store.get(PIPELINES, f"deals:{request.path_params['pipeline']}")
        if pipeline is None:
            raise _error(
                404, f"Unable to find pipeline {request.path_params['pipeline']}", "OBJECT_NOT_FOUND"
            )
        return pipeline

    async def _pipeline(self, request: Request) -> Response:
        return _Json(self._one_pipeline(request))

    async def _stages(self, request: Request) -> Response:
        return _Json({"results": self._one_pipeline(request)["stages"]})

    async def _properties(self, request: Request) -> Response:
        self._caller(request)
        kind = self._kind(request.path_params["object"])
        if request.method == "GET":
            return _Json({"results": [self._property_out(d) for d in self._definitions(kind).values()]})
        body = _object(await _body(request), "the request body")
        missing = [key for key in ("name", "label", "type", "fieldType", "groupName") if not body.get(key)]
        if missing:
            raise _invalid(f"Missing required fields: {', '.join(missing)}")
        name = str(body["name"])
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,99}", name):
            raise _invalid(
                f"Property name {name!r} must start with a lowercase letter and contain only lowercase "
                "letters, digits and underscores"
            )
        if name in self._definitions(kind):
            raise _error(409, f"Property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
        type_ = body["type"]
        if type_ not in ("string", "number", "date", "datetime", "enumeration", "bool"):
            raise _invalid(f"{type_} is not a valid property type")
        options = body.get("options") or []
        if not isinstance(options, list):
            raise _invalid("options must be an array")
        if type_ == "enumeration" and not options:
            raise _invalid("Enumeration properties need options")
        definition = _definition(
            name,
            str(body["label"]),
            str(body["groupName"]),
            type_,
            str(body["fieldType"]),
            [(str(_object(o, "an option").get("value")), str(o.get("label"))) for o in options],
            unique=bool(body.get("hasUniqueValue")),
        )
        now = _iso(_now_ms())
        definition |= {
            "hubspotDefined": False,
            "createdAt": now,
            "updatedAt": now,
            "objectType": kind.name,
            "description": str(body.get("description") or ""),
            "formField": bool(body.get("formField")),
            "modificationMetadata": {"archivable": True, "readOnlyDefinition": False, "readOnlyValue": False},
        }
        self.store.put(PROPERTIES, f"{kind.name}:{name}", definition)
        self._unique = self._custom = None
        return _Json(self._property_out(definition), status_code=201)

    async def _property(self, request: Request) -> Response:
        self._caller(request)
        kind = self._kind(request.path_params["object"])
        definition = self._definitions(kind).get(request.path_params["name"])
        if definition is None:
            raise _error(
                404,
                f"Unable to find property {request.path_params['name']} for {kind.name}",
                "OBJECT_NOT_FOUND",
            )
        return _Json(self._property_out(definition))

    @staticmethod
    def _property_out(definition: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in definition.items() if key != "objectType"}

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

    # --- OAuth ---

    async def _token(self, request: Request) -> Response:
        """``POST /oauth/v1/token``: form fields (the spec also allows some in the query)."""
        raw = (await request.body()).decode("utf-8", "replace")
        params = dict(request.query_params) | dict(parse_qsl(raw, keep_blank_values=True))
        grant = params.get("grant_type")
        if grant not in ("refresh_token", "authorization_code"):
            return self._oauth_error("BAD_GRANT_TYPE", "missing or unknown grant type")
        client_id = params.get("client_id")
        if client_id != CLIENT_ID:
            return self._oauth_error("BAD_CLIENT_ID", "missing or unknown client id")
        if params.get("client_secret") != CLIENT_SECRET:
            return self._oauth_error("BAD_CLIENT_SECRET", "missing or unknown client secret")
        if grant == "refresh_token":
            refresh_token = params.get("refresh_token", "")
            if self.tokens.refresh_tokens.get(refresh_token) != client_id:
                return self._oauth_error("BAD_REFRESH_TOKEN", "missing or unknown refresh token")
        else:
            entry = self._codes.pop(params.get("code", ""), None)
            if entry is None or entry[0] != client_id or entry[2] < time.time():
                return self._oauth_error("BAD_AUTH_CODE", "missing or unknown auth code")
            if params.get("redirect_uri") != entry[1]:
                return self._oauth_error("BAD_REDIRECT_URI", "redirect_uri does not match the one authorized")
            refresh_token = "na1-" + str(uuid.uuid4())
            self.tokens.add_refresh_token(refresh_token, client_id)
        ttl = self.gate.token_ttl(TOKEN_TTL)
        access_token = self.tokens.issue(refresh_token, ttl, prefix="CN")
        return _Json(
            {
                "token_type": "bearer",
                "refresh_token": refresh_token,
                "access_token": access_token,
                "expires_in": ttl,
            }
        )

    @staticmethod
    def _oauth_error(status: str, message: str) -> Response:
        return _Json(
            {"status": status, "message": message, "correlationId": str(uuid.uuid4())}, status_code=400
        )

    async def _authorize(self, request: Request) -> Response:
        """The consent screen, consented at once: redirects with a code, so OAuth can be rehearsed offline."""
        params = request.query_params
        if params.get("client_id") != CLIENT_ID or not params.get("redirect_uri"):
            return self._oauth_error("BAD_CLIENT_ID", "missing or unknown client id, or no redirect_uri")
        code = secrets.token_urlsafe(24)
        self._codes[code] = (CLIENT_ID, params["redirect_uri"], time.time() + 600)
        query = {"code": code} | ({"state": params["state"]} if params.get("state") else {})
        separator = "&" if urlsplit(params["redirect_uri"]).query else "?"
        return RedirectResponse(params["redirect_uri"] + separator + urlencode(query), status_code=302)

    async def _access_token_info(self, request: Request) -> Response:
        token = request.path_params["token"]
        if self.tokens.check(token) != "valid":
            return _Json(
                {
                    "status": "error",
                    "message": "Token not found or expired",
                    "correlationId": str(uuid.uuid4()),
                    "category": "OBJECT_NOT_FOUND",
                },
                status_code=404,
            )
        return _Json(
            {
                "token": token,
                "user": "sandbox@example.com",
                "hub_domain": "sandbox.example.com",
                "scopes": SCOPES,
                "hub_id": PORTAL_ID,
                "app_id": APP_ID,
                "expires_in": self.tokens.remaining(token),
                "user_id": 1001,
                "token_type": "access",
            }
        )

    async def _refresh_token_info(self, request: Request) -> Response:
        token = request.path_params["token"]
        if token not in self.tokens.refresh_tokens:
            return _Json(
                {
                    "status": "error",
                    "message": "refresh token not found",
                    "correlationId": str(uuid.uuid4()),
                    "category": "OBJECT_NOT_FOUND",
                },
                status_code=404,
            )
        if request.method == "DELETE":
            self.tokens.revoke(token)
            return Response(status_code=204)
        return _Json(
            {
                "token": token,
                "user": "sandbox@example.com",
                "hub_domain": "sandbox.example.com",
                "scopes": SCOPES,
                "hub_id": PORTAL_ID,
                "client_id": self.tokens.refresh_tokens[token],
                "user_id": 1001,
                "token_type": "refresh",
            }
        )

    # --- the webhooks API ---

    async def _settings(self, request: Request) -> Response:
        self._developer(request)
        key = str(APP_ID)
        current = self.store.get(WEBHOOK_SETTINGS, key)
        if request.method == "DELETE":
            self.store.delete(WEBHOOK_SETTINGS, key)
            return Response(status_code=204)
        if request.method == "GET":
            if current is None:
                raise _error(404, f"No webhook settings exist for app {APP_ID}", "OBJECT_NOT_FOUND")
            return _Json(current)
        body = _object(await _body(request), "the request body")
        target = body.get("targetUrl")
        parts = urlsplit(target) if isinstance(target, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise _invalid("targetUrl must be an absolute http(s) URL")
        throttling = _object(body.get("throttling"), "throttling")
        concurrent = throttling.get("maxConcurrentRequests")
        if not isinstance(concurrent, int) or isinstance(concurrent, bool) or concurrent < 1:
            raise _invalid("throttling.maxConcurrentRequests must be a positive integer")
        now = _iso(_now_ms())
        settings = {
            "targetUrl": target,
            "throttling": {"maxConcurrentRequests": concurrent},
            "createdAt": current["createdAt"] if current else now,
            "updatedAt": now,
        }
        self.store.put(WEBHOOK_SETTINGS, key, settings)
        return _Json(settings)

    async def _subscriptions(self, request: Request) -> Response:
        self._developer(request)
        if request.method == "GET":
            return _Json({"results": sorted(self.store.all(SUBSCRIPTIONS), key=lambda s: int(s["id"]))})
        body = _object(await _body(request), "the request body")
        event_type = body.get("eventType")
        if event_type not in WEBHOOK_EVENT_TYPES:
            raise _invalid(f"eventType {event_type!r} is not a valid subscription type")
        property_name = body.get("propertyName")
        if event_type.endswith(".propertyChange"):
            kind = _KIND_ALIASES.get(event_type.partition(".")[0])
            if not isinstance(property_name, str) or not property_name:
                raise _invalid("propertyName is required for propertyChange subscriptions")
            if kind is not None and property_name not in self._definitions(kind):
                raise _invalid(f"Property {property_name!r} does not exist on {kind.name}")
        elif property_name is not None:
            raise _invalid("propertyName is only allowed on propertyChange subscriptions")
        for existing in self.store.all(SUBSCRIPTIONS):
            if existing["eventType"] == event_type and existing.get("propertyName") == property_name:
                raise _error(
                    409,
                    f"A subscription for {event_type}"
                    + (f" on {property_name}" if property_name else "")
                    + " already exists",
                    "CONFLICT",
                    context={"subscriptionId": [existing["id"]]},
                )
        now = _iso(_now_ms())
        subscription = {
            "id": str(self.store.next_id("subscriptions", start=4_000_001)),
            "eventType": event_type,
            "active": bool(body.get("active", False)),
            "createdAt": now,
            "updatedAt": now,
        }
        if property_name:
            subscription["propertyName"] = property_name
        self.store.put(SUBSCRIPTIONS, subscription["id"], subscription)
        return _Json(subscription, status_code=201)

    async def _subscription(self, request: Request) -> Response:
        self._developer(request)
        subscription_id = request.path_params["id"]
        subscription = self.store.get(SUBSCRIPTIONS, subscription_id)
        if subscription is None:
            raise _error(404, f"Subscription {subscription_id} does not exist", "OBJECT_NOT_FOUND")
        if request.method == "DELETE":
            self.store.delete(SUBSCRIPTIONS, subscription_id)
            return Response(status_code=204)
        if request.method == "PATCH":
            active = _object(await _body(request), "the request body").get("active")
            if not isinstance(active, bool):
                raise _invalid("active must be a boolean")
            subscription |= {"active": active, "updatedAt": _iso(_now_ms())}
            self.store.put(SUBSCRIPTIONS, subscription_id, subscription)
        return _Json(subscription)

    async def _subscriptions_batch(self, request: Request) -> Response:
        self._developer(request)
        started = _iso(_now_ms())
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in _inputs(await _body(request)):
            subscription = self.store.get(SUBSCRIPTIONS, str(item.get("id")))
            if subscription is None or not isinstance(item.get("active"), bool):
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND" if subscription is None else "VALIDATION_ERROR",
                        "message": f"Cannot update subscription {item.get('id')}",
                        "context": {"ids": [str(item.get("id"))]},
                        "errors": [],
                        "links": {},
                    }
                )
                continue
            subscription |= {"active": item["active"], "updatedAt": _iso(_now_ms())}
            self.store.put(SUBSCRIPTIONS, subscription["id"], subscription)
            results.append(subscription)
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": _iso(_now_ms()),
        }
        if errors:
            return _Json(body | {"numErrors": len(errors), "errors": errors}, status_code=207)
        return _Json(body)

    # --- webhook deliveries ---

    def _announce(self, written: list[_Written], caller: _Caller) -> None:
        """Turn writes into events for the active subscriptions; they leave in batches shortly after."""
        settings = self.store.get(WEBHOOK_SETTINGS, str(APP_ID))
        if settings is None or not written:
            return
        subscriptions = [s for s in self.store.all(SUBSCRIPTIONS) if s["active"]]
        occurred = _now_ms()
        events: list[dict[str, Any]] = []
        for change in written:
            for subscription in subscriptions:
                obj, _, event = subscription["eventType"].partition(".")
                if obj != change.kind.singular:
                    continue
                extra: dict[str, Any]
                if event == "creation" and change.action == "created":
                    extra = {"changeFlag": "NEW"}
                elif event == "deletion" and change.action == "deleted":
                    extra = {"changeFlag": "DELETED"}
                elif event == "propertyChange" and subscription.get("propertyName") in change.changed:
                    name = subscription["propertyName"]
                    extra = {"propertyName": name, "propertyValue": change.changed[name] or ""}
                else:
                    continue
                events.append(
                    {
                        "eventId": self.store.next_id("webhook_events", start=100_000_001),
                        "subscriptionId": int(subscription["id"]),
                        "portalId": PORTAL_ID,
                        "appId": APP_ID,
                        "occurredAt": occurred,
                        "subscriptionType": subscription["eventType"],
                        "attemptNumber": 0,
                        "objectId": int(change.id),
                        **extra,
                        # Every API write is the app's own: both token kinds belong to APP_ID here.
                        "changeSource": "INTEGRATION",
                        "sourceId": str(APP_ID),
                    }
                )
        if not events:
            return
        self._pending.extend(events)
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(
                self.webhook_batch_seconds, self._flush
            )

    def _flush(self) -> None:
        self._flush_handle = None
        events, self._pending = self._pending, []
        settings = self.store.get(WEBHOOK_SETTINGS, str(APP_ID))
        if settings is None:
            return
        for start in range(0, len(events), BATCH_MAX):
            self._deliver(settings["targetUrl"], events[start : start + BATCH_MAX], 0)

    def _deliver(self, url: str, events: list[dict[str, Any]], attempt: int) -> None:
        body = json.dumps(
            [{**event, "attemptNumber": attempt} for event in events], separators=(",", ":")
        ).encode()
        timestamp = str(_now_ms())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) - WebhooksExecutorDaemon-executor",
            "X-HubSpot-Signature": hashlib.sha256(CLIENT_SECRET.encode() + body).hexdigest(),
            "X-HubSpot-Signature-Version": "v1",
            "X-HubSpot-Signature-v3": _signature_v3(CLIENT_SECRET, url, body, timestamp),
            "X-HubSpot-Request-Timestamp": timestamp,
        }

        async def retry(delivery: Delivery) -> None:
            if delivery.ok or attempt >= self.webhook_retries:
                return
            await asyncio.sleep(self.webhook_backoff_seconds * 2**attempt)
            self._deliver(url, events, attempt + 1)

        self.outbox.send(url, body, headers, on_result=retry)


def _compare(a: float | str, b: float | str) -> int:
    if isinstance(a, float) and isinstance(b, float):
        return (a > b) - (a < b)
    x, y = str(a), str(b)
    return (x > y) - (x < y)
