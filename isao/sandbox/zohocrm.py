"""Zoho CRM sandbox: the records API under ``/crm/{version}/{module}`` for v2 … v8, the accounts server's
``/oauth/v2/token`` in the same app, field and module metadata (which the official SDK reads before any
record call), and instant notifications (``/actions/watch``) delivered to subscribers.

Rules kept from the real service, because connectors break on them:

- ``Authorization: Zoho-oauthtoken <token>`` only; a missing header is ``AUTHENTICATION_FAILURE``, an
  unknown or expired token ``INVALID_TOKEN`` (both 401).
- A refresh token mints at most 10 access tokens in any 10 minutes; the 11th is refused with
  ``Access Denied`` (Zoho "Token Validity" page), so a refresh storm shows up in tests.
- Writes answer per record: all succeed → 201 (insert) or 200, all fail → 400, a mix → 207.
- Empty list or search → 204 with no body; ``If-Modified-Since`` with nothing newer → 304.
- ``If-Modified-Since`` keeps records modified strictly after the given second (HTTP's meaning);
  timestamps are whole seconds, so a poller must overlap its windows.
- Page numbers reach only the first 2,000 records from v2.1 on; ``info.next_page_token`` goes further.
- ``fields`` is mandatory when listing from v5 on (v2.1 … v4 documentation lists it as optional).

Modelling choices where Zoho documents nothing: ``Access Denied`` comes with HTTP 400; Leads need
``Company`` up to v3 only; unknown field names in a record are ignored, unknown names in ``fields`` are
refused; a notification is posted once, without retries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from isao.sandbox.base import Sandbox
from isao.sandbox.faults import Verdict
from isao.sandbox.tokens import Tokens

VERSIONS = ("v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8")
ACCESS_TOKEN_TTL = 3600
REFRESH_LIMIT, REFRESH_WINDOW = 10, 600.0
MAX_WRITE, MAX_PAGE, PAGE_NUMBER_REACH, MAX_FIELDS = 100, 200, 2000, 50
TOKEN_PAGE_TTL = 86400
ID_PREFIX = "5843210000000"  # 13 digits + a 6-digit sequence: Zoho's 19-digit ids
USER = {"name": "Sandbox Admin", "id": "5843210000000000101", "email": "crm.admin@example.com"}
ORG_ID = "5843210000000000011"
DEFAULT_CHANNEL_TTL = 3600
SCOPES = "ZohoCRM.modules.ALL ZohoCRM.settings.ALL ZohoCRM.notifications.ALL ZohoCRM.org.READ"
_DIGITS = re.compile(r"\d{1,19}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})")
_EVENT = re.compile(r"([A-Za-z_]+)\.(create|edit|delete|all)")
_STAGES = (
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Identify Decision Makers",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
    "Closed Lost to Competition",
)

Json = dict[str, Any]


# --- Modules and fields -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    api_name: str
    data_type: str
    """Zoho's ``data_type``: text, textarea, email, phone, website, picklist, currency, double, integer,
    boolean, date, datetime, lookup or ownerlookup."""
    mandatory: bool = False
    unique: bool = False
    lookup: str | None = None
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    """Only the listed picklist values are accepted (Deals.Stage, checked against the pipeline)."""
    length: int = 255
    read_only: bool = False

    @property
    def label(self) -> str:
        return self.api_name.replace("_", " ")


@dataclass(frozen=True)
class Module:
    api_name: str
    singular: str
    id: str
    fields: tuple[Field, ...]
    display: str
    """The field whose value names a record of this module in lookups (``{"name", "id"}``)."""
    duplicate_check: tuple[str, ...]
    """Upsert's default ``duplicate_check_fields``: system-defined first, then unique fields."""

    def field(self, api_name: str) -> Field | None:
        return next((f for f in self.fields if f.api_name == api_name), None)


def _text(name: str, length: int = 255, **kw: Any) -> Field:
    return Field(name, "text", length=length, **kw)


_OWNER = Field("Owner", "ownerlookup")
_SOURCES = (
    "Advertisement",
    "Cold Call",
    "Employee Referral",
    "External Referral",
    "Online Store",
    "Partner",
    "Public Relations",
    "Seminar Partner",
    "Trade Show",
    "Web Download",
    "Web Research",
    "Chat",
)
_DESCRIPTION = Field("Description", "textarea", length=32000)

MODULES: dict[str, Module] = {
    m.api_name: m
    for m in (
        Module(
            "Contacts",
            "Contact",
            "5843210000000000201",
            (
                _OWNER,
                _text("First_Name", 40),
                _text("Last_Name", 80, mandatory=True),
                _text("Full_Name", read_only=True),
                Field("Email", "email", unique=True, length=100),
                Field("Secondary_Email", "email", length=100),
                Field("Phone", "phone", length=30),
                Field("Mobile", "phone", length=30),
                _text("Title", 100),
                _text("Department", 100),
                Field("Account_Name", "lookup", lookup="Accounts"),
                Field("Lead_Source", "picklist", picklist=_SOURCES),
                _text("Mailing_Street", 250),
                _text("Mailing_City", 100),
                _text("Mailing_State", 100),
                _text("Mailing_Zip", 30),
                _text("Mailing_Country", 100),
                Field("Date_of_Birth", "date"),
                Field("Email_Opt_Out", "boolean"),
                _DESCRIPTION,
            ),
            "Full_Name",
            ("Email",),
        ),
        Module(
            "Leads",
            "Lead",
            "5843210000000000202",
            (
                _OWNER,
                _text("First_Name", 40),
                _text("Last_Name", 80, mandatory=True),
                _text("Full_Name", read_only=True),
                _text("Company", 200),
                Field("Email", "email", unique=True, length=100),
                Field("Phone", "phone", length=30),
                Field("Mobile", "phone", length=30),
                Field("Lead_Source", "picklist", picklist=_SOURCES),
                Field(
                    "Lead_Status",
                    "picklist",
                    picklist=(
                        "Not Contacted",
                        "Attempted to Contact",
                        "Contacted",
                        "Junk Lead",
                        "Lost Lead",
                        "Pre-Qualified",
                    ),
                ),
                _text("Industry", 120),
                Field("Annual_Revenue", "currency"),
                Field("No_of_Employees", "integer"),
                _text("Street", 250),
                _text("City", 100),
                _text("State", 100),
                _text("Zip_Code", 30),
                _text("Country", 100),
                Field("Website", "website"),
                Field("Email_Opt_Out", "boolean"),
                _DESCRIPTION,
            ),
            "Full_Name",
            ("Email",),
        ),
        Module(
            "Accounts",
            "Account",
            "5843210000000000203",
            (
                _OWNER,
                _text("Account_Name", 200, mandatory=True, unique=True),
                Field("Phone", "phone", length=30),
                Field("Website", "website"),
                Field(
                    "Account_Type",
                    "picklist",
                    picklist=(
                        "Analyst",
                        "Competitor",
                        "Customer",
                        "Distributor",
                        "Integrator",
                        "Investor",
                        "Partner",
                        "Press",
                        "Prospect",
                        "Reseller",
                        "Supplier",
                        "Vendor",
                        "Other",
                    ),
                ),
                _text("Industry", 120),
                Field("Annual_Revenue", "currency"),
                Field("Employees", "integer"),
                _text("Billing_Street", 250),
                _text("Billing_City", 100),
                _text("Billing_State", 100),
                _text("Billing_Code", 30),
                _text("Billing_Country", 100),
                _DESCRIPTION,
            ),
            "Account_Name",
            ("Account_Name",),
        ),
        Module(
            "Deals",
            "Deal",
            "5843210000000000204",
            (
                _OWNER,
                _text("Deal_Name", 120, mandatory=True),
                Field("Stage", "picklist", mandatory=True, picklist=_STAGES, restricted=True),
                Field("Amount", "currency"),
                Field("Closing_Date", "date"),
                Field("Probability", "integer"),
                Field("Account_Name", "lookup", lookup="Accounts"),
                Field("Contact_Name", "lookup", lookup="Contacts"),
                Field("Lead_Source", "picklist", picklist=_SOURCES),
                Field("Type", "picklist", picklist=("New Business", "Existing Business")),
                _text("Next_Step", 100),
                _DESCRIPTION,
            ),
            "Deal_Name",
            ("Deal_Name",),
        ),
        Module(
            "Products",
            "Product",
            "5843210000000000205",
            (
                _OWNER,
                _text("Product_Name", 120, mandatory=True),
                _text("Product_Code", 40, unique=True),
                Field("Product_Active", "boolean"),
                Field("Product_Category", "picklist", picklist=("Hardware", "Software", "CRM Applications")),
                _text("Manufacturer", 120),
                Field("Unit_Price", "currency"),
                Field("Qty_in_Stock", "double"),
                Field("Taxable", "boolean"),
                _DESCRIPTION,
            ),
            "Product_Name",
            ("Product_Name", "Product_Code"),
        ),
    )
}
_MODULES_BY_LOWER = {name.lower(): module for name, module in MODULES.items()}
_SYSTEM = ("id", "Created_Time", "Modified_Time", "Created_By", "Modified_By")


def _mandatory(module: Module, version: str) -> list[str]:
    names = [f.api_name for f in module.fields if f.mandatory]
    if module.api_name == "Leads" and VERSIONS.index(version) <= VERSIONS.index("v3"):
        names.append("Company")
    return names


def _stamp(epoch: float) -> str:
    """Zoho's ``yyyy-MM-ddTHH:mm:ss±HH:MM`` (the sandbox's org runs on UTC)."""
    return datetime.fromtimestamp(math.floor(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _parse_stamp(value: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


# --- Wire helpers -----------------------------------------------------------------------------------


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json;charset=UTF-8")


def _err(code: str, message: str, details: Json | None = None) -> Json:
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


def _error(code: str, message: str, details: Json | None = None, status: int = 400) -> Response:
    return _json(_err(code, message, details), status)


def _invalid_url() -> Response:
    return _error(
        "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", status=404
    )


def _bad_method() -> Response:
    return _error("INVALID_REQUEST_METHOD", "The http request method type is not a valid one")


def _missing_param(*names: str) -> Response:
    return _error(
        "REQUIRED_PARAM_MISSING",
        "One of the expected parameter is missing",
        {"param_name": names[0] if len(names) == 1 else list(names)},
    )


def _invalid_param(name: str, value: str) -> Response:
    return _error("INVALID_DATA", "invalid data", {"param_name": name, "param": value})


def _path_invalid(index: int) -> Response:
    """An id or module in the URL that does not exist, as Zoho names it (``resource_path_index``)."""
    if index == 0:
        return _error(
            "INVALID_MODULE", "The module name given seems to be invalid", {"resource_path_index": 0}
        )
    return _error("INVALID_DATA", "the related id given seems to be invalid", {"resource_path_index": index})


def _per_record(results: list[Json], all_ok: int) -> Response:
    """Zoho's per-record envelope: every record fine → ``all_ok``, all failed → 400, a mix → 207."""
    failed = sum(1 for result in results if result["status"] == "error")
    status = all_ok if failed == 0 else 400 if failed == len(results) else 207
    return _json({"data": results}, status)


class _Reject(Exception):
    """A record that Zoho refuses; ``item`` is its per-record error."""

    def __init__(self, item: Json) -> None:
        super().__init__(item["code"])
        self.item = item


def _reject(code: str, message: str, details: Json) -> _Reject:
    return _Reject(_err(code, message, details))


@dataclass(frozen=True)
class _Listing:
    sort_by: str
    sort_order: str
    since: float | None
    offset: int


# --- The sandbox ------------------------------------------------------------------------------------


class ZohoCrmSandbox(Sandbox):
    name: ClassVar[str] = "zohocrm"
    default_port: ClassVar[int] = 8703

    CLIENT_ID: ClassVar[str] = "1000.SANDBOXZOHOCRMISAO0000000000000"
    CLIENT_SECRET: ClassVar[str] = hashlib.sha256(b"isao-sandbox-zohocrm-client-secret").hexdigest()[:42]
    REFRESH_TOKEN: ClassVar[str] = (
        "1000."
        + hashlib.md5(b"isao-sandbox-zohocrm-refresh").hexdigest()  # noqa: S324 - a fixed fixture
        + "."
        + hashlib.md5(b"isao-sandbox-zohocrm-refresh-2").hexdigest()  # noqa: S324
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock: Callable[[], float] = time.time
        """Wall clock for timestamps, token expiry and throttles (tests may replace it)."""
        self.tokens = Tokens(clock=lambda: self.clock())
        self.clients = {self.CLIENT_ID: self.CLIENT_SECRET}
        self._minted: dict[str, deque[float]] = {}
        """Per refresh token, when it minted access tokens in the last 10 minutes."""
        self.tokens.add_refresh_token(self.REFRESH_TOKEN, self.CLIENT_ID)

    # --- what the base asks for ---

    def reset(self) -> None:
        """Forget records and channels and the refresh throttle; issued access tokens stay valid."""
        super().reset()
        self._minted.clear()

    def credentials(self) -> dict[str, str]:
        return {
            "base_url": self.base_url,
            "accounts_url": self.base_url,
            "api_version": "v4",
            "client_id": self.CLIENT_ID,
            "client_secret": self.CLIENT_SECRET,
            "refresh_token": self.REFRESH_TOKEN,
        }

    def exempt(self, request: Request) -> bool:
        return super().exempt(request) or request.url.path.startswith("/oauth/")

    def is_search(self, request: Request) -> bool:
        return request.url.path.startswith("/crm/") and request.url.path.rstrip("/").endswith("/search")

    def fault_response(self, request: Request, verdict: Verdict) -> Response:
        if verdict.kind == "rate_limited":
            headers = {"Retry-After": str(verdict.retry_after)} if self.gate.faults.retry_after else None
            message = (
                "You have reached the API rate or concurrency limit of your org. Please try again later."
            )
            return _json(_err("TOO_MANY_REQUESTS", message), 429, headers)
        if verdict.kind == "error":
            return _error("INTERNAL_ERROR", "Internal server error occurred.", status=500)
        html = b"<html><head><title>504 Gateway Time-out</title></head><body><h1>504</h1></body></html>"
        return Response(html, 504, media_type="text/html")

    def routes(self) -> list[BaseRoute]:
        every = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return [
            Route("/oauth/v2/token", self._token, methods=["POST"]),
            Route("/crm/{version}/users", self._users, methods=every),
            Route("/crm/{version}/org", self._org, methods=every),
            Route("/crm/{version}/settings/fields", self._fields, methods=every),
            Route("/crm/{version}/settings/modules", self._modules, methods=every),
            Route("/crm/{version}/actions/watch", self._watch, methods=every),
            Route("/crm/{version}/{module}/search", self._search, methods=every),
            Route("/crm/{version}/{module}/upsert", self._upsert, methods=every),
            Route("/crm/{version}/{module}", self._collection, methods=every),
            Route("/crm/{version}/{module}/{id}", self._single, methods=every),
            Route("/{path:path}", self._unknown, methods=[*every, "HEAD", "OPTIONS"]),
        ]

    # --- OAuth (the accounts server) ---

    async def _token(self, request: Request) -> Response:
        """``POST /oauth/v2/token``: parameters in the query string or a form body, as Zoho accepts both.
        Failures are HTTP 200 with ``{"error": …}``: Zoho's SDK detects them by the missing token."""
        params = dict(request.query_params)
        if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
            params.update(parse_qsl((await request.body()).decode("utf-8", "replace")))
        grant = params.get("grant_type")
        if grant not in ("refresh_token", "authorization_code"):
            return _json({"error": "unsupported_grant_type"})
        client_id = params.get("client_id", "")
        if self.clients.get(client_id) is None or self.clients[client_id] != params.get("client_secret"):
            return _json({"error": "invalid_client"})
        refresh = params.get("refresh_token", "")
        if grant == "authorization_code" or self.tokens.refresh_tokens.get(refresh) != client_id:
            return _json({"error": "invalid_code"})
        now = self.clock()
        minted = self._minted.setdefault(refresh, deque())
        while minted and now - minted[0] >= REFRESH_WINDOW:
            minted.popleft()
        if len(minted) >= REFRESH_LIMIT:
            return _json(
                {
                    "error_description": "You have made too many requests continuously. "
                    "Please try again after some time.",
                    "error": "Access Denied",
                    "status": "failure",
                },
                400,
            )
        minted.append(now)
        ttl = self.gate.token_ttl(ACCESS_TOKEN_TTL)
        return _json(
            {
                "access_token": self.tokens.issue(refresh, ttl, "1000."),
                "scope": SCOPES,
                "api_domain": self.base_url,
                "token_type": "Bearer",
                "expires_in": ttl,
            }
        )

    def _auth(self, request: Request) -> Response | None:
        given = request.headers.get("authorization")
        if not given or not given.startswith("Zoho-oauthtoken "):
            return _error("AUTHENTICATION_FAILURE", "Authentication failed", status=401)
        if self.tokens.check(given.removeprefix("Zoho-oauthtoken ").strip()) != "valid":
            return _error("INVALID_TOKEN", "invalid oauth token", status=401)
        return None

    def _enter(self, request: Request, methods: Iterable[str]) -> tuple[str, Response | None]:
        """The version, or the answer that ends the request: unknown path, bad auth, bad method."""
        version = request.path_params["version"]
        if version not in VERSIONS:
            return version, _invalid_url()
        refused = self._auth(request)
        if refused is not None:
            return version, refused
        if request.method not in methods:
            return version, _bad_method()
        return version, None

    async def _unknown(self, request: Request) -> Response:
        return _invalid_url()

    # --- Users, org and metadata (the SDK reads fields before any record call) ---

    async def _users(self, request: Request) -> Response:
        _, refused = self._enter(request, ["GET"])
        if refused is not None:
            return refused
        user = {
            **USER,
            "full_name": USER["name"],
            "first_name": "Sandbox",
            "last_name": "Admin",
            "status": "active",
            "confirm": True,
            "role": {"name": "CEO", "id": "5843210000000000121"},
            "profile": {"name": "Administrator", "id": "5843210000000000131"},
        }
        return _json(
            {"users": [user], "info": {"per_page": 200, "count": 1, "page": 1, "more_records": False}}
        )

    async def _org(self, request: Request) -> Response:
        _, refused = self._enter(request, ["GET"])
        if refused is not None:
            return refused
        org = {
            "id": ORG_ID,
            "company_name": "ISAO Sandbox",
            "primary_email": USER["email"],
            "currency": "USD",
            "country_code": "US",
            "domain_name": f"org{ORG_ID}",
        }
        return _json({"org": [org]})

    async def _fields(self, request: Request) -> Response:
        version, refused = self._enter(request, ["GET"])
        if refused is not None:
            return refused
        name = request.query_params.get("module")
        if not name:
            return _missing_param("module")
        module = _MODULES_BY_LOWER.get(name.lower())
        if module is None:
            return _error(
                "INVALID_MODULE", "The module name given seems to be invalid", {"param_name": "module"}
            )
        mandatory = set(_mandatory(module, version))
        return _json(
            {"fields": [self._field_meta(module, f, f.api_name in mandatory) for f in module.fields]}
        )

    def _field_meta(self, module: Module, field: Field, mandatory: bool) -> Json:
        number = module.fields.index(field) + 1
        meta: Json = {
            "api_name": field.api_name,
            "field_label": field.label,
            "display_label": field.label,
            "data_type": field.data_type,
            "json_type": _JSON_TYPES[field.data_type],
            "id": f"584321000000{module.id[-3:]}{number:04d}",
            "system_mandatory": mandatory,
            "custom_field": False,
            "read_only": field.read_only,
            "field_read_only": field.read_only,
            "visible": True,
            "length": field.length,
            "unique": {"casesensitive": "false"} if field.unique else {},
        }
        if field.lookup is not None:
            target = MODULES[field.lookup]
            meta["lookup"] = {
                "display_label": field.label,
                "api_name": field.api_name,
                "module": {"api_name": target.api_name, "id": target.id},
            }
        if field.picklist:
            meta["pick_list_values"] = [
                {
                    "display_value": v,
                    "actual_value": v,
                    "sequence_number": i + 1,
                    "id": f"584321000001{module.id[-3:]}{number:02d}{i:02d}",
                }
                for i, v in enumerate(field.picklist)
            ]
        return meta

    async def _modules(self, request: Request) -> Response:
        _, refused = self._enter(request, ["GET"])
        if refused is not None:
            return refused
        modules = [
            {
                "api_name": m.api_name,
                "module_name": m.api_name,
                "singular_label": m.singular,
                "plural_label": m.api_name,
                "id": m.id,
                "api_supported": True,
                "generated_type": "default",
                "creatable": True,
                "editable": True,
                "deletable": True,
                "viewable": True,
            }
            for m in MODULES.values()
        ]
        return _json({"modules": modules})

    # --- Records ---

    def _module(self, request: Request) -> Module | None:
        return _MODULES_BY_LOWER.get(request.path_params["module"].lower())

    async def _collection(self, request: Request) -> Response:
        version, refused = self._enter(request, ["GET", "POST", "PUT", "DELETE"])
        if refused is not None:
            return refused
        module = self._module(request)
        if module is None:
            return _path_invalid(0)
        if request.method == "GET":
            return self._list(request, version, module)
        if request.method == "DELETE":
            return self._delete_many(request, version, module)
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        return self._write(version, module, body, "create" if request.method == "POST" else "update")

    async def _single(self, request: Request) -> Response:
        version, refused = self._enter(request, ["GET", "PUT", "DELETE"])
        if refused is not None:
            return refused
        module = self._module(request)
        if module is None:
            return _path_invalid(0)
        record_id = request.path_params["id"]
        stored = self.store.get(module.api_name, record_id) if _DIGITS.fullmatch(record_id) else None
        if stored is None:
            return _path_invalid(1)
        if request.method == "GET":
            return _json({"data": [self._render(module, stored)]})
        if request.method == "DELETE":
            return _per_record([self._delete_one(version, module, record_id)], 200)
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        return self._write(version, module, body, "update", path_id=record_id)

    async def _upsert(self, request: Request) -> Response:
        version, refused = self._enter(request, ["POST"])
        if refused is not None:
            return refused
        module = self._module(request)
        if module is None:
            return _path_invalid(0)
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        return self._write(version, module, body, "upsert")

    async def _body(self, request: Request) -> Json | Response:
        raw = await request.body()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _error("INVALID_DATA", "body")
        if not isinstance(body, dict):
            return _error("INVALID_DATA", "body")
        return body

    # --- Reading ---

    def _list(self, request: Request, version: str, module: Module) -> Response:
        query = request.query_params
        fields = self._fields_param(module, query.get("fields"))
        if isinstance(fields, Response):
            return fields
        if fields is None and VERSIONS.index(version) >= VERSIONS.index("v5"):
            return _missing_param("fields")
        per_page = self._int_param(query, "per_page", MAX_PAGE, 1, MAX_PAGE)
        if isinstance(per_page, Response):
            return per_page
        tokens = VERSIONS.index(version) >= VERSIONS.index("v2.1")
        listing = self._listing(request, module, per_page, tokens)
        if isinstance(listing, Response):
            return listing
        records = self.store.all(module.api_name)
        if "ids" in query:
            wanted = {i.strip() for i in query["ids"].split(",") if i.strip()}
            records = [r for r in records if r["id"] in wanted]
        if listing.since is not None:
            since = listing.since
            records = [r for r in records if (_parse_stamp(r["Modified_Time"]) or 0) > since]
            if not records:
                return Response(status_code=304)
        records.sort(
            key=lambda r: (r[listing.sort_by] if listing.sort_by != "id" else "", int(r["id"])),
            reverse=listing.sort_order == "desc",
        )
        window = records[listing.offset : listing.offset + per_page]
        if not window:
            return Response(status_code=204)
        more = listing.offset + per_page < len(records)
        info: Json = {
            "per_page": per_page,
            "count": len(window),
            "page": listing.offset // per_page + 1,
            "sort_by": listing.sort_by,
            "sort_order": listing.sort_order,
            "more_records": more,
        }
        if tokens:
            info["next_page_token"] = (
                self._page_token(module, listing, listing.offset + per_page) if more else None
            )
            previous = max(0, listing.offset - per_page)
            info["previous_page_token"] = (
                self._page_token(module, listing, previous) if listing.offset else None
            )
            info["page_token_expiry"] = _stamp(self.clock() + TOKEN_PAGE_TTL)
        return _json({"data": [self._render(module, r, fields) for r in window], "info": info})

    def _listing(self, request: Request, module: Module, per_page: int, tokens: bool) -> _Listing | Response:
        query = request.query_params
        token = query.get("page_token")
        if token:
            return self._read_page_token(module, token) if tokens else _invalid_param("page_token", token)
        sort_by, sort_order = query.get("sort_by", "id"), query.get("sort_order", "desc")
        if sort_by not in ("id", "Created_Time", "Modified_Time"):
            return _invalid_param("sort_by", sort_by)
        if sort_order not in ("asc", "desc"):
            return _invalid_param("sort_order", sort_order)
        page = self._int_param(query, "page", 1, 1, None)
        if isinstance(page, Response):
            return page
        offset = (page - 1) * per_page
        if tokens and offset >= PAGE_NUMBER_REACH:
            return _error(
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                "You cannot fetch more than 2000 records with the page param; use page_token instead",
                {"limit": PAGE_NUMBER_REACH},
            )
        since: float | None = None
        header = request.headers.get("if-modified-since")
        if header:
            since = _parse_stamp(header)
            if since is None:
                return _error("INVALID_DATA", "invalid data", {"header_name": "If-Modified-Since"})
        return _Listing(sort_by, sort_order, since, offset)

    def _page_token(self, module: Module, listing: _Listing, offset: int) -> str:
        state = {
            "m": module.api_name,
            "b": listing.sort_by,
            "d": listing.sort_order,
            "s": listing.since,
            "o": offset,
            "e": int(self.clock() + TOKEN_PAGE_TTL),
        }
        return base64.urlsafe_b64encode(orjson.dumps(state)).decode().rstrip("=")

    def _read_page_token(self, module: Module, token: str) -> _Listing | Response:
        try:
            state = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            listing = _Listing(str(state["b"]), str(state["d"]), state["s"], int(state["o"]))
            valid = state["m"] == module.api_name and float(state["e"]) > self.clock()
        except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            valid = False
        return listing if valid else _invalid_param("page_token", token)

    @staticmethod
    def _int_param(query: Any, name: str, default: int, low: int, high: int | None) -> int | Response:
        raw = query.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
            return _invalid_param(name, raw)
        return int(raw)

    @staticmethod
    def _fields_param(module: Module, raw: str | None) -> list[str] | Response | None:
        if raw is None:
            return None
        names = [n.strip() for n in raw.split(",") if n.strip()]
        if len(names) > MAX_FIELDS:
            return _error(
                "LIMIT_EXCEEDED", "Max field limit exceeded", {"limit": MAX_FIELDS, "param_name": "fields"}
            )
        for name in names:
            if name not in _SYSTEM and module.field(name) is None:
                return _error("INVALID_DATA", "invalid data", {"api_name": name, "param_name": "fields"})
        return names or None

    def _render(self, module: Module, stored: Json, fields: list[str] | None = None) -> Json:
        """A stored record in Zoho's shape: every field present (null when empty), lookups named."""
        record: Json = {}
        for f in module.fields:
            value = stored.get(f.api_name)
            if f.data_type == "ownerlookup" and value is not None:
                value = dict(USER)
            elif f.data_type == "lookup" and value is not None:
                target = self.store.get(MODULES[f.lookup or ""].api_name, value["id"])
                value = (
                    {"name": self._display(MODULES[f.lookup or ""], target), "id": value["id"]}
                    if target
                    else None
                )
            record[f.api_name] = value
        if module.field("Full_Name") is not None:
            record["Full_Name"] = self._display(module, stored)
        record.update({k: stored[k] for k in _SYSTEM})
        if fields is not None:
            return {"id": stored["id"], **{name: record.get(name) for name in fields}}
        return record

    @staticmethod
    def _display(module: Module, stored: Json | None) -> str | None:
        if stored is None:
            return None
        if module.display == "Full_Name":
            return " ".join(p for p in (stored.get("First_Name"), stored.get("Last_Name")) if p) or None
        value = stored.get(module.display)
        return value if isinstance(value, str) else None

    # --- Search ---

    async def _search(self, request: Request) -> Response:
        _, refused = self._enter(request, ["GET"])
        if refused is not None:
            return refused
        module = self._module(request)
        if module is None:
            return _path_invalid(0)
        query = request.query_params
        fields = self._fields_param(module, query.get("fields"))
        if isinstance(fields, Response):
            return fields
        per_page = self._int_param(query, "per_page", MAX_PAGE, 1, MAX_PAGE)
        page = self._int_param(query, "page", 1, 1, None)
        if isinstance(per_page, Response):
            return per_page
        if isinstance(page, Response):
            return page
        match = self._matcher(module, query)
        if isinstance(match, Response):
            return match
        records = sorted((r for r in self.store.all(module.api_name) if match(r)), key=lambda r: int(r["id"]))
        window = records[(page - 1) * per_page : page * per_page]
        if not window:
            return Response(status_code=204)
        info = {
            "per_page": per_page,
            "count": len(window),
            "page": page,
            "more_records": page * per_page < len(records),
        }
        return _json({"data": [self._render(module, r, fields) for r in window], "info": info})

    def _matcher(self, module: Module, query: Any) -> Callable[[Json], bool] | Response:
        if query.get("criteria"):
            parsed = _parse_criteria(query["criteria"], module)
            if isinstance(parsed, str):
                return _error("INVALID_QUERY", "invalid query formed", {"reason": parsed})
            return lambda record: _evaluate(parsed, self._render(module, record))
        for param, kinds in (("email", ("email",)), ("phone", ("phone",))):
            if query.get(param):
                wanted = query[param].strip().lower()
                names = [f.api_name for f in module.fields if f.data_type in kinds]

                def matches(record: Json, names: list[str] = names, wanted: str = wanted) -> bool:
                    return any(str(record.get(n) or "").lower() == wanted for n in names)

                return matches
        if query.get("word"):
            word = query["word"].strip().lower()
            texts = [f.api_name for f in module.fields if f.data_type in _TEXTUAL]
            return lambda r: any(word in str(r.get(n) or "").lower() for n in texts)
        return _missing_param("criteria", "email", "phone", "word")

    # --- Writing ---

    def _write(
        self,
        version: str,
        module: Module,
        body: Json,
        mode: Literal["create", "update", "upsert"],
        path_id: str | None = None,
    ) -> Response:
        data = body.get("data")
        if data is None:
            return _error(
                "MANDATORY_NOT_FOUND", "required field not found", {"api_name": "data", "json_path": "$.data"}
            )
        if not isinstance(data, list) or not data:
            return _error(
                "INVALID_DATA",
                "invalid data",
                {"expected_data_type": "jsonarray", "api_name": "data", "json_path": "$.data"},
            )
        if len(data) > MAX_WRITE or (path_id is not None and len(data) > 1):
            return _error("LIMIT_EXCEEDED", "Record count exceeded", {"limit": 1 if path_id else MAX_WRITE})
        check = body.get("duplicate_check_fields")
        if mode == "upsert" and check is not None:
            allowed = {*module.duplicate_check, *(f.api_name for f in module.fields if f.unique)}
            if not isinstance(check, list) or not check or any(name not in allowed for name in check):
                return _error(
                    "INVALID_DATA",
                    "invalid data",
                    {"api_name": "duplicate_check_fields", "json_path": "$.duplicate_check_fields"},
                )
        order = list(check) if isinstance(check, list) else list(module.duplicate_check)
        results: list[Json] = []
        changes: dict[str, list[tuple[str, list[str], Json]]] = {"insert": [], "update": []}
        for index, item in enumerate(data):
            try:
                if not isinstance(item, dict):
                    raise _reject(
                        "INVALID_DATA",
                        "invalid data",
                        {"expected_data_type": "jsonobject", "json_path": f"$.data[{index}]"},
                    )
                result, operation, affected, stored = self._apply(
                    version, module, item, index, mode, path_id, order
                )
            except _Reject as rejected:
                results.append(rejected.item)
                continue
            results.append(result)
            changes[operation].append((stored["id"], affected, stored))
        for kind, changed in changes.items():
            if changed:
                self._notify(version, module, kind, changed)
        return _per_record(results, 201 if mode == "create" else 200)

    def _apply(
        self,
        version: str,
        module: Module,
        item: Json,
        index: int,
        mode: str,
        path_id: str | None,
        order: list[str],
    ) -> tuple[Json, Literal["insert", "update"], list[str], Json]:
        existing: Json | None = None
        duplicate_field: str | None = None
        if mode == "update":
            record_id = path_id or item.get("id")
            if record_id is None:
                raise _reject(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    {"api_name": "id", "json_path": f"$.data[{index}].id"},
                )
            existing = (
                self.store.get(module.api_name, str(record_id)) if _DIGITS.fullmatch(str(record_id)) else None
            )
            if existing is None:
                raise _reject("INVALID_DATA", "the id given seems to be invalid", {"id": str(record_id)})
        elif mode == "upsert":
            existing, duplicate_field = self._find_duplicate(module, item, order)
        values = self._clean(version, module, item, index, existing)
        now = _stamp(self.clock())
        if existing is None:
            record_id = f"{ID_PREFIX}{self.store.next_id('record_ids', start=100001):06d}"
            stored = {
                "Owner": {"id": USER["id"]},
                **values,
                "id": record_id,
                "Created_Time": now,
                "Modified_Time": now,
                "Created_By": dict(USER),
                "Modified_By": dict(USER),
            }
            affected: list[str] = []
            operation: Literal["insert", "update"] = "insert"
            message = "record added"
        else:
            affected = [k for k, v in values.items() if existing.get(k) != v]
            stored = {**existing, **values, "Modified_Time": now, "Modified_By": dict(USER)}
            operation, message = "update", "record updated"
        self.store.put(module.api_name, stored["id"], stored)
        details = {
            "Modified_Time": now,
            "Modified_By": {"name": USER["name"], "id": USER["id"]},
            "Created_Time": stored["Created_Time"],
            "id": stored["id"],
            "Created_By": {"name": USER["name"], "id": USER["id"]},
            "$approval_state": "approved",
        }
        result: Json = {"code": "SUCCESS", "details": details, "message": message, "status": "success"}
        if mode == "upsert":
            result = {
                "code": "SUCCESS",
                "duplicate_field": duplicate_field,
                "action": operation,
                "details": details,
                "message": message,
                "status": "success",
            }
        return result, operation, affected, stored

    def _find_duplicate(self, module: Module, item: Json, order: list[str]) -> tuple[Json | None, str | None]:
        for name in order:
            value = item.get(name)
            if value in (None, ""):
                continue
            for record in self.store.all(module.api_name):
                if _same_value(record.get(name), value):
                    return record, name
        return None, None

    def _clean(self, version: str, module: Module, item: Json, index: int, existing: Json | None) -> Json:
        """The record's writable values in stored form, or ``_Reject`` with Zoho's first complaint:
        mandatory fields, then types and lookups, then unique fields."""
        path = f"$.data[{index}]"
        for name in _mandatory(module, version):
            present = item.get(name) if name in item or existing is None else existing.get(name)
            if present is None or (isinstance(present, str) and not present.strip()):
                raise _reject(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    {"api_name": name, "json_path": f"{path}.{name}"},
                )
        values: Json = {}
        for name, value in item.items():
            field = module.field(name)
            if field is None or field.read_only:
                continue  # Zoho ignores names it does not know and fields it computes
            values[name] = self._coerce(field, value, f"{path}.{name}")
        for field in module.fields:
            value = values.get(field.api_name)
            if not field.unique or value in (None, ""):
                continue
            for record in self.store.all(module.api_name):
                if (existing is None or record["id"] != existing["id"]) and _same_value(
                    record.get(field.api_name), value
                ):
                    raise _reject(
                        "DUPLICATE_DATA",
                        "duplicate data",
                        {
                            "api_name": field.api_name,
                            "json_path": f"{path}.{field.api_name}",
                            "id": record["id"],
                            "duplicate_record": {
                                "id": record["id"],
                                "module": {"api_name": module.api_name, "id": module.id},
                                "Owner": {"name": USER["name"], "id": USER["id"]},
                            },
                        },
                    )
        return values

    def _coerce(self, field: Field, value: Any, path: str) -> Any:
        def bad(expected: str, **extra: Any) -> _Reject:
            return _reject(
                "INVALID_DATA",
                "invalid data",
                {"expected_data_type": expected, "api_name": field.api_name, "json_path": path, **extra},
            )

        if value is None:
            return None
        kind = field.data_type
        if kind in _TEXTUAL or kind == "picklist":
            if not isinstance(value, str):
                raise bad(kind)
            if len(value) > field.length:
                raise _reject(
                    "INVALID_DATA",
                    "invalid data",
                    {"maximum_length": field.length, "api_name": field.api_name, "json_path": path},
                )
            if kind == "email" and value and not _EMAIL.fullmatch(value):
                raise bad("email")
            if field.restricted and value not in field.picklist:
                raise _reject(
                    "INVALID_DATA",
                    "Pipeline doesn't contain the Stage",
                    {"api_name": field.api_name, "json_path": path},
                )
            return value
        if kind in ("currency", "double"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad("double")
            return value
        if kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad("integer")
            return value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise bad("boolean")
            return value
        if kind == "date":
            if not isinstance(value, str) or not _DATE.fullmatch(value) or _valid_date(value) is None:
                raise bad("date")
            return value
        if kind == "datetime":
            if not isinstance(value, str) or not _DATETIME.fullmatch(value) or _parse_stamp(value) is None:
                raise bad("datetime")
            return value
        if kind == "ownerlookup":
            owner = value.get("id") if isinstance(value, dict) else value
            if str(owner) != USER["id"]:
                raise bad("ownerlookup")
            return {"id": USER["id"]}
        return self._lookup(field, value, bad)

    def _lookup(self, field: Field, value: Any, bad: Callable[[str], _Reject]) -> Json:
        target = MODULES[field.lookup or ""]
        if isinstance(value, dict) and value.get("id") is not None:
            record_id = str(value["id"])
        elif isinstance(value, str | int) and not isinstance(value, bool) and _DIGITS.fullmatch(str(value)):
            record_id = str(value)
        elif isinstance(value, dict) and isinstance(value.get("name"), str):
            named = [r for r in self.store.all(target.api_name) if self._display(target, r) == value["name"]]
            if not named:
                raise bad("lookup")
            record_id = named[0]["id"]
        else:
            raise bad("lookup")
        if not _DIGITS.fullmatch(record_id) or self.store.get(target.api_name, record_id) is None:
            raise bad("lookup")
        return {"id": record_id}

    # --- Deleting ---

    def _delete_many(self, request: Request, version: str, module: Module) -> Response:
        raw = request.query_params.get("ids")
        if not raw:
            return _missing_param("ids")
        ids = [i.strip() for i in raw.split(",") if i.strip()]
        if len(ids) > MAX_WRITE:
            return _error("LIMIT_EXCEEDED", "Record count exceeded", {"limit": MAX_WRITE})
        return _per_record([self._delete_one(version, module, record_id) for record_id in ids], 200)

    def _delete_one(self, version: str, module: Module, record_id: str) -> Json:
        removed = self.store.delete(module.api_name, record_id) if _DIGITS.fullmatch(record_id) else None
        if removed is None:
            return _err("INVALID_DATA", "the id given seems to be invalid", {"id": record_id})
        self._notify(version, module, "delete", [(record_id, [], removed)])
        return {
            "code": "SUCCESS",
            "details": {"id": record_id},
            "message": "record deleted",
            "status": "success",
        }

    # --- Notifications ---

    async def _watch(self, request: Request) -> Response:
        version, refused = self._enter(request, ["GET", "POST", "PUT", "PATCH", "DELETE"])
        if refused is not None:
            return refused
        if request.method == "GET":
            return self._list_channels(request)
        if request.method == "DELETE":
            return self._disable_channels(request)
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        items = body.get("watch")
        if not isinstance(items, list) or not items:
            return _error(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": "watch", "json_path": "$.watch"},
            )
        results: list[Json] = []
        for index, item in enumerate(items):
            try:
                results.append(self._subscribe(version, request.method, item, index))
            except _Reject as rejected:
                results.append(rejected.item)
        ok = all(r["status"] == "success" for r in results)
        return _json({"watch": results}, (201 if request.method == "POST" else 200) if ok else 202)

    def _subscribe(self, version: str, method: str, item: Any, index: int) -> Json:
        path = f"$.watch[{index}]"
        if not isinstance(item, dict):
            raise _reject(
                "INVALID_DATA", "invalid data", {"expected_data_type": "jsonobject", "json_path": path}
            )
        channel = item.get("channel_id")
        if channel is None:
            raise _reject(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": "channel_id", "json_path": f"{path}.channel_id"},
            )
        if isinstance(channel, bool) or not _DIGITS.fullmatch(str(channel)):
            raise _reject(
                "INVALID_DATA",
                "invalid data",
                {"expected_data_type": "long", "api_name": "channel_id", "json_path": f"{path}.channel_id"},
            )
        key = str(channel)
        current = self.store.get("watch", key)
        if current is not None and self._expired(current):
            current = None
        if method in ("PUT", "PATCH") and current is None:
            raise _reject(
                "INVALID_DATA", "invalid data", {"api_name": "channel_id", "json_path": f"{path}.channel_id"}
            )
        if method == "PATCH" and item.get("_delete_events") is True:
            assert current is not None  # PATCH of an unknown channel was refused above
            return self._drop_events(key, current, self._events(item, path))
        base = current if current is not None and method in ("POST", "PATCH") else {}
        merged = {**base, **{k: v for k, v in item.items() if k != "_delete_events"}}
        events = self._events(merged, path)
        if current is not None and method in ("POST", "PATCH"):  # events are added, not replaced
            events = list(dict.fromkeys([*current["events"], *self._events(item, path, required=False)]))
        url = merged.get("notify_url")
        if not url:
            raise _reject(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": "notify_url", "json_path": f"{path}.notify_url"},
            )
        if (
            not isinstance(url, str)
            or urlsplit(url).scheme not in ("http", "https")
            or not urlsplit(url).netloc
        ):
            raise _reject(
                "INVALID_DATA", "invalid data", {"api_name": "notify_url", "json_path": f"{path}.notify_url"}
            )
        token = merged.get("token")
        if token is not None and (not isinstance(token, str) or len(token) > 50):
            raise _reject(
                "INVALID_DATA",
                "invalid data",
                {"api_name": "token", "json_path": f"{path}.token", "maximum_length": 50},
            )
        expiry = self._channel_expiry(version, merged.get("channel_expiry"), f"{path}.channel_expiry")
        channel_doc = {
            "channel_id": channel,
            "events": events,
            "notify_url": url,
            "token": token,
            "channel_expiry": expiry,
            "version": version,
            "return_affected_field_values": merged.get("return_affected_field_values") is True,
        }
        self.store.put("watch", key, channel_doc)
        message = {
            "POST": "Successfully subscribed for actions-watch of the given module",
            "PUT": "Successfully updated the subscribe details",
            "PATCH": "Successfully updated the subscribe details",
        }[method]
        return self._watch_ok(channel_doc, message)

    def _drop_events(self, key: str, current: Json, dropped: list[str]) -> Json:
        remaining = [e for e in current["events"] if e not in dropped]
        if remaining:
            self.store.put("watch", key, {**current, "events": remaining})
        else:
            self.store.delete("watch", key)
        shown = {**current, "events": remaining or dropped}
        return self._watch_ok(shown, "Successfully removed the subscribe details")

    @staticmethod
    def _events(item: Json, path: str, *, required: bool = True) -> list[str]:
        events = item.get("events")
        if events is None and not required:
            return []
        if not isinstance(events, list) or not events:
            raise _reject(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": "events", "json_path": f"{path}.events"},
            )
        for event in events:
            matched = _EVENT.fullmatch(event) if isinstance(event, str) else None
            if matched is None or matched.group(1) not in MODULES:
                raise _reject(
                    "INVALID_DATA", "invalid data", {"api_name": "events", "json_path": f"{path}.events"}
                )
        return list(dict.fromkeys(events))

    def _channel_expiry(self, version: str, raw: Any, path: str) -> str:
        """At most a week ahead from v6 on, a day before; beyond that (or absent) Zoho uses one hour."""
        now = self.clock()
        default = _stamp(now + DEFAULT_CHANNEL_TTL)
        if raw is None:
            return default
        parsed = _parse_stamp(raw) if isinstance(raw, str) and _DATETIME.fullmatch(raw) else None
        if parsed is None or parsed <= now:
            raise _reject(
                "INVALID_DATA",
                "invalid data",
                {"expected_data_type": "datetime", "api_name": "channel_expiry", "json_path": path},
            )
        longest = 7 * 86400 if VERSIONS.index(version) >= VERSIONS.index("v6") else 86400
        return _stamp(parsed) if parsed - now <= longest else default

    def _watch_ok(self, channel: Json, message: str) -> Json:
        return {
            "code": "SUCCESS",
            "details": {"events": self._resources(channel)},
            "message": message,
            "status": "success",
        }

    def _resources(self, channel: Json) -> list[Json]:
        names = dict.fromkeys(e.split(".")[0] for e in channel["events"])
        conditions = VERSIONS.index(channel.get("version", "v8")) >= VERSIONS.index("v6")  # field conditions
        return [
            {
                "channel_expiry": channel["channel_expiry"],
                "resource_uri": self._resource_uri(channel, name),
                "resource_id": MODULES[name].id,
                "resource_name": name,
                "channel_id": str(channel["channel_id"]),
                **({"notification_condition": []} if conditions else {}),
            }
            for name in names
        ]

    def _resource_uri(self, channel: Json, module: str) -> str:
        return f"{self.base_url}/crm/{channel.get('version', 'v8')}/{module}"

    def _expired(self, channel: Json) -> bool:
        return (_parse_stamp(channel["channel_expiry"]) or 0) <= self.clock()

    def _live_channels(self) -> list[Json]:
        return [c for c in self.store.all("watch") if not self._expired(c)]

    def _list_channels(self, request: Request) -> Response:
        channels = self._live_channels()
        wanted, module = request.query_params.get("channel_id"), request.query_params.get("module")
        if wanted:
            channels = [c for c in channels if str(c["channel_id"]) == wanted]
        if module:
            channels = [
                c for c in channels if any(e.split(".")[0].lower() == module.lower() for e in c["events"])
            ]
        if not channels:
            return Response(status_code=204)
        shown = [
            {
                **resource,
                "events": channel["events"],
                "notify_url": channel["notify_url"],
                "token": channel["token"],
                "notify_on_related_action": False,
                "fields": None,
                "return_affected_field_values": channel["return_affected_field_values"],
            }
            for channel in channels
            for resource in self._resources(channel)
        ]
        info = {"per_page": 200, "page": 1, "count": len(shown), "more_records": False}
        return _json({"watch": shown, "info": info})

    def _disable_channels(self, request: Request) -> Response:
        raw = request.query_params.get("channel_ids")
        if not raw:
            return _missing_param("channel_ids")
        results: list[Json] = []
        for channel_id in (c.strip() for c in raw.split(",") if c.strip()):
            removed = self.store.delete("watch", channel_id)
            if removed is None:
                results.append(_err("INVALID_DATA", "invalid data", {"channel_id": channel_id}))
            else:
                results.append(self._watch_ok(removed, "Successfully un-subscribed from actions-watch"))
        ok = all(r["status"] == "success" for r in results)
        return _json({"watch": results}, 200 if ok else 202)

    def _notify(
        self, version: str, module: Module, operation: str, changed: list[tuple[str, list[str], Json]]
    ) -> None:
        """One POST per live channel watching ``{module}.{event}``; Zoho signs nothing and echoes the
        channel's ``token`` in the body."""
        event = {"insert": "create", "update": "edit", "delete": "delete"}[operation]
        wanted = {f"{module.api_name}.{event}", f"{module.api_name}.all"}
        for channel in self._live_channels():
            if not wanted.intersection(channel["events"]):
                continue
            body: Json = {
                "server_time": int(self.clock() * 1000),
                "query_params": dict(parse_qsl(urlsplit(channel["notify_url"]).query)),
                "module": module.api_name,
                "resource_uri": self._resource_uri(channel, module.api_name),
                "ids": [record_id for record_id, _, _ in changed],
                "affected_fields": [
                    {record_id: fields} for record_id, fields, _ in changed if operation == "update"
                ],
                "operation": operation,
                "channel_id": channel["channel_id"],
                "token": channel["token"],
            }
            if channel["return_affected_field_values"] and operation == "update":
                body["affected_values"] = [
                    {
                        "record_id": record_id,
                        "values": {f: self._render(module, stored).get(f) for f in fields},
                    }
                    for record_id, fields, stored in changed
                ]
            self.outbox.send(channel["notify_url"], orjson.dumps(body), {"Content-Type": "application/json"})


_TEXTUAL = ("text", "textarea", "email", "phone", "website")
_JSON_TYPES = {
    "text": "string",
    "textarea": "string",
    "email": "string",
    "phone": "string",
    "website": "string",
    "picklist": "string",
    "currency": "double",
    "double": "double",
    "integer": "integer",
    "boolean": "boolean",
    "date": "string",
    "datetime": "string",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
}


def _valid_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _same_value(stored: Any, given: Any) -> bool:
    """Zoho's duplicate checks and searches ignore case in text."""
    if isinstance(stored, str) and isinstance(given, str):
        return stored.strip().lower() == given.strip().lower()
    return bool(stored == given)


# --- Search criteria: ``(Field:op:value)`` joined by ``and`` / ``or``, values escaped with ``\`` ---------

_OPERATORS = ("equals", "not_equal", "starts_with", "in", "greater_than", "less_than")
Criteria = tuple[str, str, str] | tuple[str, list["Criteria"]]


def _parse_criteria(text: str, module: Module) -> Criteria | str:
    """The parsed criteria, or the reason it is not one."""
    position = 0

    def group() -> Criteria:
        nonlocal position
        if position >= len(text) or text[position] != "(":
            raise ValueError(f"expected '(' at {position}")
        position += 1
        if position < len(text) and text[position] == "(":
            parts = [group()]
            joins: set[str] = set()
            while position < len(text) and text[position] != ")":
                match = re.match(r"\s*(and|or)\s*", text[position:], re.IGNORECASE)
                if match is None:
                    raise ValueError(f"expected 'and' or 'or' at {position}")
                joins.add(match.group(1).lower())
                position += match.end()
                parts.append(group())
            if len(joins) > 1:
                raise ValueError("mix of 'and' and 'or' in one group")
            position += 1
            return (joins.pop() if joins else "and", parts)
        chars: list[str] = []
        while position < len(text) and text[position] != ")":
            if text[position] == "\\" and position + 1 < len(text):
                chars.append("\0" + text[position + 1])
                position += 2
                continue
            chars.append(text[position])
            position += 1
        if position >= len(text):
            raise ValueError("unbalanced parentheses")
        position += 1
        pieces = "".join(chars).split(":", 2)
        if len(pieces) != 3:
            raise ValueError("a condition is (Field:operator:value)")
        field, operator, value = (p.replace("\0", "") for p in pieces)
        if field not in _SYSTEM and module.field(field) is None:
            raise ValueError(f"unknown field {field}")
        if operator not in _OPERATORS:
            raise ValueError(f"unsupported operator {operator}")
        return (field, operator, value)

    try:
        parsed = group()
        if position != len(text):
            raise ValueError(f"unexpected text at {position}")
    except ValueError as exc:
        return str(exc)
    return parsed


def _evaluate(criteria: Criteria, record: Json) -> bool:
    if len(criteria) == 2:
        join, parts = criteria
        results = (_evaluate(part, record) for part in parts)
        return all(results) if join == "and" else any(results)
    field, operator, value = criteria
    stored = record.get(field)
    if isinstance(stored, dict):
        stored = stored.get("id")
    text = "" if stored is None else str(stored).lower()
    wanted = value.lower()
    if operator == "equals":
        return text == wanted
    if operator == "not_equal":
        return text != wanted
    if operator == "starts_with":
        return text.startswith(wanted)
    if operator == "in":
        return text in [v.strip().lower() for v in value.split(",")]
    try:
        number, limit = float(text), float(wanted)
    except ValueError:
        return text > wanted if operator == "greater_than" else text < wanted
    return number > limit if operator == "greater_than" else number < limit
