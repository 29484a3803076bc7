"""WooCommerce REST API v3 (``/wp-json/wc/v3``) answering as WordPress and WooCommerce do.

Orders, customers and products with WordPress paging (``X-WP-Total``, ``X-WP-TotalPages``, ``Link``), the
``/batch`` routes, the ``/webhooks`` resource with signed deliveries, and ``WP_Error`` bodies for every
failure. Checked against the WooCommerce sources (REST controllers v1 to v3, ``class-wc-rest-authentication``,
``class-wc-webhook``); where the real behaviour is surprising the sandbox keeps it, because connectors break
on exactly those places:

- Authentication happens before routing: a wrong secret or a bad OAuth signature is a 401 on any ``wc/``
  path; a request without credentials reaches the route and gets the route's own 401
  (``woocommerce_rest_cannot_view`` …). An unknown key over Basic auth falls through to OAuth, as in
  WooCommerce, so it ends the same way.
- Real WooCommerce takes Basic auth and ``consumer_key``/``consumer_secret`` query parameters only over
  https (``is_ssl()``). The sandbox serves plain http and accepts them anyway, as a store behind a
  TLS-terminating proxy that reports https does. OAuth 1.0a one-legged (what the official SDKs send over
  http) is verified exactly: HMAC-SHA1/SHA256 keyed ``consumer_secret + "&"``, ±15 minutes, no nonce reuse.
- Customers have no date filters and cannot be ordered by ``modified`` (WordPress ignores unknown query
  parameters and rejects unknown ``orderby`` values); orders and products filter ``modified_after`` etc.
  *exclusively*, to the second, as ``WP_Date_Query`` does.
- Updating an unknown id is a 400 (``…_invalid_id``), reading or deleting one a 404; ``GET /webhooks/{id}``
  of an unknown webhook is a 400 "ID is invalid.".
- Webhooks: ``*.deleted`` fires when an order or product is *trashed*; a permanent delete (``force=true``,
  and every batch delete) fires nothing: WooCommerce hooks ``*.deleted`` to ``wp_trash_post`` and
  ``woocommerce_trash_order`` only.
  Creating an order or a customer also fires ``*.updated`` (WooCommerce saves them twice). The delivery id is
  ``wp_hash(webhook id . current second)``: two deliveries of one webhook within a second share it. A webhook
  is disabled on the failure after ``failure_count`` passed 5 (the 7th in a row), and a success resets it.
  Bodies are ``wp_json_encode`` output (``/`` as ``\\/``, non-ASCII as ``\\uXXXX``), signed as sent.
- Deviations, on purpose: deliveries go to loopback and private addresses on any port (WordPress'
  ``wp_safe_remote_request`` refuses those), payloads are built when the change happens rather than when
  the queued delivery runs, and the site's timezone is UTC (``date_x`` equals ``date_x_gmt``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import math
import re
import secrets
import string
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from isao.sandbox.base import Sandbox
from isao.sandbox.faults import Faults, Verdict
from isao.sandbox.outbox import Delivery

CONSUMER_KEY = "ck_5a1d0c2e8f3b4a6c9d7e1f0a2b3c4d5e6f708192"
CONSUMER_SECRET = "cs_9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6"  # noqa: S105 - the sandbox's fixed test key
WC_VERSION = "9.8.5"
WP_VERSION = "6.8.1"
USER_AGENT = f"WooCommerce/{WC_VERSION} Hookshot (WordPress/{WP_VERSION})"
NAMESPACE = "wc/v3"
BATCH_LIMIT = 100
OAUTH_WINDOW = 15 * 60
MAX_DELIVERY_FAILURES = 5
"""``woocommerce_max_webhook_delivery_failures``: disabled once ``failure_count`` already exceeds it."""
_WP_SALT = b"isao-sandbox-auth-salt"
"""Stands in for ``wp_salt('auth')`` in ``wp_hash`` (delivery ids)."""

ORDER_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
)
_PAID = ("processing", "completed")
_REDUCES_STOCK = ("processing", "completed", "on-hold")
_RESTORES_STOCK = ("cancelled", "pending")
PRODUCT_STATUSES = ("draft", "pending", "private", "publish", "future")
WEBHOOK_STATUSES = ("active", "paused", "disabled")
_ROLES = ("all", "administrator", "editor", "author", "contributor", "subscriber", "customer", "shop_manager")
_CURRENCIES = {
    "USD": "&#36;",
    "EUR": "&euro;",
    "GBP": "&pound;",
    "CAD": "&#36;",
    "AUD": "&#36;",
    "NZD": "&#36;",
    "CHF": "CHF",
    "JPY": "&yen;",
    "SEK": "&#107;&#114;",
    "NOK": "&#107;&#114;",
    "DKK": "kr.",
    "PLN": "&#122;&#322;",
    "BRL": "&#82;&#36;",
    "INR": "&#8377;",
    "ZAR": "&#82;",
    "MXN": "&#36;",
}
"""Some currencies, with the HTML-entity symbols ``get_woocommerce_currency_symbol`` gives for them."""

TOPIC_HOOKS: dict[str, list[str]] = {
    "coupon.created": ["woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"],
    "coupon.updated": ["woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"],
    "coupon.deleted": ["wp_trash_post"],
    "coupon.restored": ["untrashed_post"],
    "customer.created": ["user_register", "woocommerce_created_customer", "woocommerce_new_customer"],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
    "order.created": ["woocommerce_new_order"],
    "order.updated": [
        "woocommerce_update_order",
        "woocommerce_order_refunded",
        "woocommerce_delete_order_refund",
    ],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": [
        "woocommerce_process_product_meta",
        "woocommerce_new_product",
        "woocommerce_new_product_variation",
    ],
    "product.updated": [
        "woocommerce_process_product_meta",
        "woocommerce_update_product",
        "woocommerce_update_product_variation",
    ],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
    "product.published": ["woocommerce_product_published"],
}

_BILLING = ("first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode")
_BILLING_KEYS = (*_BILLING, "country", "email", "phone")
_SHIPPING_KEYS = (*_BILLING, "country", "phone")
_DEMO_PRODUCTS = (
    ("Ceramic Mug", "MUG-1", "12.00", 50),
    ("Logo T-Shirt", "TSHIRT-1", "20.00", 25),
    ("Art Poster", "POSTER-1", "8.50", 100),
    ("Zip Hoodie", "HOODIE-1", "45.00", 10),
    ("Sticker Pack", "STICKER-1", "3.00", 500),
)
_TWO_PLACES = Decimal("0.01")


# --- WordPress wire helpers -------------------------------------------------------------------------


def wp_json(value: Any) -> bytes:
    """``wp_json_encode`` with no flags: compact, ``/`` escaped as ``\\/``, non-ASCII as ``\\uXXXX``.

    Every REST answer and every webhook body goes through it, so signatures cover these exact bytes.
    """
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode("ascii")


class WPError(Exception):
    """A ``WP_Error`` as the REST server serialises it: ``{"code","message","data":{"status",…}}``."""

    def __init__(
        self, code: str, message: str, status: int, headers: Mapping[str, str] | None = None, **data: Any
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.headers = dict(headers or {})
        self.data = data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}


def _no_route() -> WPError:
    return WPError("rest_no_route", "No route was found matching the URL and request method.", 404)


def _invalid_params(errors: Mapping[str, tuple[str, str]]) -> WPError:
    return WPError(
        "rest_invalid_param",
        "Invalid parameter(s): " + ", ".join(errors),
        400,
        params={name: message for name, (_, message) in errors.items()},
        details={
            name: {"code": code, "message": message, "data": None} for name, (code, message) in errors.items()
        },
    )


def _missing_params(names: list[str]) -> WPError:
    return WPError(
        "rest_missing_callback_param", "Missing parameter(s): " + ", ".join(names), 400, params=names
    )


def _auth_error(message: str, headers: Mapping[str, str] | None = None) -> WPError:
    return WPError("woocommerce_rest_authentication_error", message, 401, headers)


def _reply(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    base = {
        "X-Robots-Tag": "noindex",
        "X-Content-Type-Options": "nosniff",
        "Access-Control-Expose-Headers": "X-WP-Total, X-WP-TotalPages, Link",
        "Access-Control-Allow-Headers": (
            "Authorization, X-WP-Nonce, Content-Disposition, Content-MD5, Content-Type"
        ),
    }
    return Response(
        wp_json(payload),
        status_code=status,
        headers=base | dict(headers or {}),
        media_type="application/json; charset=UTF-8",
    )


def _wp_list(items: Iterable[str]) -> str:
    """``wp_sprintf('%l')``: "a", "a and b", "a, b, and c"."""
    words = list(items)
    if len(words) <= 2:
        return " and ".join(words)
    return ", ".join(words[:-1]) + ", and " + words[-1]


def _stamp(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%S")


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|z|[+-]\d{2}(?::\d{2})?)?$"
)


def _parse_date(value: str) -> int | None:
    """Epoch seconds of a ``rest_parse_date`` date (no offset = the site's timezone, UTC here)."""
    match = _RFC3339.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError:
        return None
    offset = 0
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        hours, _, minutes = zone[1:].partition(":")
        offset = sign * (int(hours) * 3600 + int(minutes or 0) * 60)
    return int(moment.timestamp()) - offset


_EMAIL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")


def _is_email(value: str) -> bool:
    return len(value) >= 6 and _EMAIL.match(value) is not None


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _money(value: Decimal) -> str:
    return f"{value.quantize(_TWO_PLACES, rounding=ROUND_HALF_UP):f}"


def _format_decimal(value: str) -> str:
    """``wc_format_decimal`` without rounding: keep digits, one point and a sign; garbage becomes ""."""
    cleaned = re.sub(r"[^0-9.\-]", "", value)
    try:
        Decimal(cleaned)
    except InvalidOperation:
        return ""
    return cleaned


def _number(value: Decimal) -> int | float:
    """PHP arithmetic on numeric strings: an integral result stays an integer in the JSON."""
    return int(value) if value == value.to_integral_value() else float(value)


def _sanitize_title(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "product"


_ENTITY = re.compile(r"&(?:(lt|gt|quot|amp)|#0*(60|62|34|39|38)|#[xX]0*(22|27|26));")


def _specialchars_decode(text: str) -> str:
    """``wp_specialchars_decode($text, ENT_QUOTES)``: the webhook HMAC key is the decoded secret."""

    def char(match: re.Match[str]) -> str:
        named, decimal, hexadecimal = match.groups()
        if decimal:
            return chr(int(decimal))
        if hexadecimal:
            return chr(int(hexadecimal, 16))
        return {"lt": "<", "gt": ">", "quot": '"', "amp": "&"}[named]

    return _ENTITY.sub(char, text)


def _rfc3986(text: str) -> str:
    """PHP ``rawurlencode``: everything but ``A-Za-z0-9-_.~`` percent-encoded."""
    return quote(text, safe="")


# --- Parameter validation (WordPress ``rest_validate_value_from_schema``) ---------------------------

Spec = dict[str, Any]


def _coerce(name: str, value: Any, spec: Spec) -> tuple[Any, tuple[str, str] | None]:
    kind = spec["type"]
    not_of_type = ("rest_invalid_type", f"{name} is not of type {kind}.")
    if kind == "integer":
        if isinstance(value, bool):
            return None, not_of_type
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)
        if not isinstance(value, int):
            return None, not_of_type
        low, high = spec.get("minimum"), spec.get("maximum")
        if low is not None and high is not None and not low <= value <= high:
            return None, (
                "rest_out_of_bounds",
                f"{name} must be between {low} (inclusive) and {high} (inclusive)",
            )
        if low is not None and value < low:
            return None, ("rest_out_of_bounds", f"{name} must be greater than or equal to {low}")
        return value, None
    if kind == "boolean":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, int) and value in (0, 1):
            return bool(value), None
        if isinstance(value, str) and value.lower() in ("", "0", "false", "1", "true"):
            return value.lower() in ("1", "true"), None
        return None, not_of_type
    if kind == "string":
        if not isinstance(value, str):
            return None, not_of_type
        enum = spec.get("enum")
        if enum is not None and value not in enum:
            return None, ("rest_not_in_enum", f"{name} is not one of {_wp_list(enum)}.")
        if spec.get("format") == "email" and not _is_email(value):
            return None, ("rest_invalid_email", "Invalid email address.")
        if spec.get("format") == "date-time" and _parse_date(value) is None:
            return None, ("rest_invalid_date", "Invalid date.")
        return value, None
    if kind == "array":
        if isinstance(value, str):
            value = [part for part in re.split(r"[\s,]+", value) if part]
        if not isinstance(value, list):
            return None, not_of_type
        items: Spec | None = spec.get("items")
        if items is None:
            return value, None
        coerced = []
        for index, item in enumerate(value):
            good, error = _coerce(f"{name}[{index}]", item, items)
            if error is not None:
                return None, error
            coerced.append(good)
        return coerced, None
    if kind == "object":
        if value == "" or value == []:
            return {}, None
        return (value, None) if isinstance(value, dict) else (None, not_of_type)
    raise AssertionError(f"unknown schema type {kind}")


def _validate(params: Mapping[str, Any], specs: Mapping[str, Spec]) -> dict[str, Any]:
    """The declared parameters that are present, coerced; a ``rest_invalid_param`` naming every bad one."""
    values: dict[str, Any] = {}
    errors: dict[str, tuple[str, str]] = {}
    for name, spec in specs.items():
        if params.get(name) is None:
            continue
        value, error = _coerce(name, params[name], spec)
        if error is not None:
            errors[name] = error
        else:
            values[name] = value
    if errors:
        raise _invalid_params(errors)
    return values


def _string(enum: Iterable[str] | None = None, fmt: str | None = None) -> Spec:
    spec: Spec = {"type": "string"}
    if enum is not None:
        spec["enum"] = tuple(enum)
    if fmt is not None:
        spec["format"] = fmt
    return spec


_INT: Spec = {"type": "integer"}
_BOOL: Spec = {"type": "boolean"}
_STR: Spec = {"type": "string"}
_OBJ: Spec = {"type": "object"}
_ARR: Spec = {"type": "array"}
_IDS: Spec = {"type": "array", "items": {"type": "integer"}}
_DATE_SPEC: Spec = _string(fmt="date-time")


def _collection_specs(orderby: tuple[str, ...]) -> dict[str, Spec]:
    return {
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
        "offset": _INT,
        "search": _STR,
        "include": _IDS,
        "exclude": _IDS,
        "order": _string(("asc", "desc")),
        "orderby": _string(orderby),
    }


_POST_LIST_SPECS = {
    "after": _DATE_SPEC,
    "before": _DATE_SPEC,
    "modified_after": _DATE_SPEC,
    "modified_before": _DATE_SPEC,
    "dates_are_gmt": _BOOL,
}
_POST_ORDERBY = ("date", "id", "include", "title", "slug", "modified")
ORDER_LIST_SPECS = {
    **_collection_specs(_POST_ORDERBY),
    **_POST_LIST_SPECS,
    "status": {"type": "array", "items": _string(("any", "trash", *ORDER_STATUSES))},
    "customer": _INT,
    "product": _INT,
    "parent": _IDS,
}
PRODUCT_LIST_SPECS = {
    **_collection_specs((*_POST_ORDERBY, "price", "popularity", "rating")),
    **_POST_LIST_SPECS,
    "status": _string(("any", "future", "trash", *PRODUCT_STATUSES)),
    "sku": _STR,
    "slug": _STR,
    "type": _string(("simple", "grouped", "external", "variable")),
    "stock_status": _string(("instock", "outofstock", "onbackorder")),
}
CUSTOMER_LIST_SPECS = {
    **_collection_specs(("id", "include", "name", "registered_date")),
    "email": _string(fmt="email"),
    "role": _string(_ROLES),
}
WEBHOOK_LIST_SPECS = {
    **_collection_specs(("date", "id", "title")),
    "after": _DATE_SPEC,
    "before": _DATE_SPEC,
    "status": _string(("all", *WEBHOOK_STATUSES)),
}

ORDER_SPECS = {
    "parent_id": _INT,
    "status": _string(ORDER_STATUSES),
    "currency": _string(_CURRENCIES),
    "customer_id": _INT,
    "customer_note": _STR,
    "billing": _OBJ,
    "shipping": _OBJ,
    "payment_method": _STR,
    "payment_method_title": _STR,
    "transaction_id": _STR,
    "meta_data": _ARR,
    "line_items": _ARR,
    "shipping_lines": _ARR,
    "fee_lines": _ARR,
    "coupon_lines": _ARR,
    "set_paid": _BOOL,
}
PRODUCT_SPECS = {
    "name": _STR,
    "slug": _STR,
    "type": _string(("simple", "grouped", "external", "variable")),
    "status": _string(PRODUCT_STATUSES),
    "featured": _BOOL,
    "catalog_visibility": _string(("visible", "catalog", "search", "hidden")),
    "description": _STR,
    "short_description": _STR,
    "sku": _STR,
    "regular_price": _STR,
    "sale_price": _STR,
    "virtual": _BOOL,
    "downloadable": _BOOL,
    "tax_status": _string(("taxable", "shipping", "none")),
    "tax_class": _STR,
    "manage_stock": _BOOL,
    "stock_quantity": _INT,
    "stock_status": _string(("instock", "outofstock", "onbackorder")),
    "backorders": _string(("no", "notify", "yes")),
    "low_stock_amount": _INT,
    "sold_individually": _BOOL,
    "weight": _STR,
    "dimensions": _OBJ,
    "reviews_allowed": _BOOL,
    "parent_id": _INT,
    "purchase_note": _STR,
    "categories": _ARR,
    "tags": _ARR,
    "images": _ARR,
    "meta_data": _ARR,
    "menu_order": _INT,
}
CUSTOMER_SPECS = {
    "email": _string(fmt="email"),
    "first_name": _STR,
    "last_name": _STR,
    "username": _STR,
    "password": _STR,
    "billing": _OBJ,
    "shipping": _OBJ,
    "meta_data": _ARR,
}
WEBHOOK_SPECS = {
    "name": _STR,
    "status": _string(WEBHOOK_STATUSES),
    "topic": _STR,
    "delivery_url": _STR,
    "secret": _STR,
}
_LINE_ITEM_SPECS = {
    "id": _INT,
    "name": _STR,
    "product_id": _INT,
    "variation_id": _INT,
    "quantity": _INT,
    "sku": _STR,
    "subtotal": _STR,
    "total": _STR,
}


# --- Resources ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    collection: str
    resource: str
    """The webhook resource (``order``) and the ``…s`` of the route."""
    item_error: str
    item_message: str
    update_message: str
    delete_message: str
    exists_code: str
    exists_message: str


_KINDS = {
    "orders": _Kind(
        "orders",
        "order",
        "woocommerce_rest_shop_order_invalid_id",
        "Invalid ID.",
        "Invalid ID.",
        "Invalid ID.",
        "woocommerce_rest_shop_order_exists",
        "Cannot create existing shop_order.",
    ),
    "products": _Kind(
        "products",
        "product",
        "woocommerce_rest_product_invalid_id",
        "Invalid ID.",
        "Invalid ID.",
        "Invalid ID.",
        "woocommerce_rest_product_exists",
        "Cannot create existing product.",
    ),
    "customers": _Kind(
        "customers",
        "customer",
        "woocommerce_rest_invalid_id",
        "Invalid resource ID.",
        "Invalid resource ID.",
        "Invalid resource id.",
        "woocommerce_rest_customer_exists",
        "Cannot create existing resource.",
    ),
}

_PERMISSIONS = {
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "read": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "delete": ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."),
    "batch": (
        "woocommerce_rest_cannot_batch",
        "Sorry, you are not allowed to batch manipulate this resource.",
    ),
}


@dataclass
class _Call:
    """One REST request, after authentication and routing."""

    request: Request
    route: str
    query: dict[str, Any]
    params: dict[str, Any]
    authed: bool
    events: list[tuple[str, str, int]] = field(default_factory=list)

    def require(self, action: str) -> None:
        """The permission callback: an unauthenticated request gets the route's own 401."""
        if not self.authed:
            code, message = _PERMISSIONS[action]
            raise WPError(code, message, 401)


def _event(events: list[tuple[str, str, int]], resource: str, event: str, id_: int) -> None:
    """Queue a webhook trigger once per request (WooCommerce's ``is_already_processed``)."""
    if (resource, event, id_) not in events:
        events.append((resource, event, id_))


_ARRAY_KEY = re.compile(r"([^\[\]]+)\[([^\[\]]*)\]")


def _params_from_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """PHP's ``$_GET``: the last value of a repeated key wins; ``key[]=a&key[]=b`` is a list."""
    params: dict[str, Any] = {}
    for key, value in pairs:
        match = _ARRAY_KEY.fullmatch(key)
        if match:
            existing = params.get(match[1])
            params[match[1]] = [*existing, value] if isinstance(existing, list) else [value]
        else:
            params[key] = value
    return params


def _oauth_header(header: str) -> dict[str, str]:
    """``WC_REST_Authentication::parse_header``: ``Authorization: OAuth k="v", …``."""
    if not header.startswith("OAuth "):
        return {}
    found: dict[str, str] = {}
    for name, quoted, bare in re.findall(r'(oauth_[a-z_-]*)=(?:"([^"]*)"|([^,]*))', header):
        found[name] = unquote((quoted or bare).replace("+", " "))
    return found


def _basic(header: str | None) -> tuple[str, str]:
    if not header or not header.lower().startswith("basic "):
        return "", ""
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password


def _public(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if not key.startswith("_")}


def _meta(
    existing: list[dict[str, Any]], posted: list[Any], next_id: Callable[[], int]
) -> list[dict[str, Any]]:
    """``update_meta_data(key, value, id)``: by id, else the first with that key, else a new entry."""
    meta = [dict(entry) for entry in existing]
    for entry in posted:
        if not isinstance(entry, dict) or "key" not in entry:
            continue
        target = None
        if entry.get("id"):
            target = next((m for m in meta if m["id"] == entry["id"]), None)
        if target is None:
            target = next((m for m in meta if m["key"] == entry["key"]), None)
        if target is None:
            meta.append({"id": next_id(), "key": str(entry["key"]), "value": entry.get("value")})
        else:
            target["key"], target["value"] = str(entry["key"]), entry.get("value")
    return meta


class WooCommerceSandbox(Sandbox):
    name: ClassVar[str] = "woocommerce"
    default_port: ClassVar[int] = 8701

    def __init__(self, *, store_path: str | Path | None = None, faults: Faults | None = None) -> None:
        super().__init__(store_path=store_path, faults=faults)
        self.clock: Callable[[], float] = time.time
        """Time of record dates and delivery ids; tests may replace it (OAuth checks keep real time)."""
        self._nonces: dict[str, float] = {}
        self._fault_turn = 0
        if not list(self.store.collections()):
            self._fixtures()

    # --- what the base asks for ----------------------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        return {"base_url": self.base_url, "consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET}

    def reset(self) -> None:
        super().reset()
        self._nonces.clear()
        self._fixtures()

    def fault_response(self, request: Request, verdict: Verdict) -> Response:
        """WooCommerce core has no rate limit: a 429 comes from a host or a plugin, in WordPress' shape."""
        if verdict.kind == "rate_limited":
            headers = {"Retry-After": str(verdict.retry_after)} if self.gate.faults.retry_after else {}
            return _reply(
                {
                    "code": "woocommerce_rest_too_many_requests",
                    "message": "Too many requests. Please wait before trying again.",
                    "data": {"status": 429},
                },
                429,
                headers,
            )
        if verdict.kind == "timeout":
            return HTMLResponse(_nginx_page("504 Gateway Time-out"), 504)
        status = (500, 502, 503)[self._fault_turn % 3]
        self._fault_turn += 1
        if status == 500:
            return _reply(
                {
                    "code": "internal_server_error",
                    "message": "<p>There has been a critical error on this website.</p><p><a href="
                    '"https://wordpress.org/documentation/article/faq-troubleshooting/">Learn more about '
                    "troubleshooting WordPress.</a></p>",
                    "data": {"status": 500},
                    "additional_errors": [],
                },
                500,
            )
        if status == 502:
            return HTMLResponse(_nginx_page("502 Bad Gateway"), 502)
        return HTMLResponse(_MAINTENANCE, 503, headers={"Retry-After": "600"})

    def routes(self) -> list[BaseRoute]:
        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        return [
            Route("/wp-json", self._rest_endpoint, methods=methods),
            Route("/wp-json/{rest:path}", self._rest_endpoint, methods=methods),
            Route("/", self._home, methods=methods),
            Route("/{path:path}", self._not_found, methods=methods),
        ]

    # --- fixtures ------------------------------------------------------------------------------------

    def _fixtures(self) -> None:
        for name, sku, price, stock in _DEMO_PRODUCTS:
            self._insert_product(
                {
                    "name": name,
                    "sku": sku,
                    "regular_price": price,
                    "manage_stock": True,
                    "stock_quantity": stock,
                }
            )

    def seed_products(
        self, count: int, *, prefix: str = "DEMO", price: str = "10.00", stock: int = 100
    ) -> list[dict[str, Any]]:
        """Add ``count`` published products with fresh SKUs ``{prefix}-{n}`` and managed stock, so orders
        can reference them; fires no webhooks (as an import would not)."""
        taken = {str(p["sku"]) for p in self.store.all("products")}
        made: list[dict[str, Any]] = []
        number = 1
        while len(made) < count:
            sku = f"{prefix}-{number}"
            number += 1
            if sku in taken:
                continue
            body = {
                "name": f"Demo product {sku}",
                "sku": sku,
                "regular_price": price,
                "manage_stock": True,
                "stock_quantity": stock,
            }
            made.append(self._render("products", self._insert_product(body)))
        return made

    def _insert_product(self, body: dict[str, Any]) -> dict[str, Any]:
        product = self._write_product(None, _validate(body, PRODUCT_SPECS), [])
        return product

    # --- HTTP plumbing -------------------------------------------------------------------------------

    def rest_url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/wp-json{path}"

    async def _rest_endpoint(self, request: Request) -> Response:
        return await self._serve(request, "/" + request.path_params.get("rest", ""))

    async def _home(self, request: Request) -> Response:
        route = request.query_params.get("rest_route")
        if route is not None:
            return await self._serve(request, route)
        link = f'<{self.rest_url("/")}>; rel="https://api.w.org/"'
        return HTMLResponse(_HOME_PAGE, headers={"Link": link})

    async def _not_found(self, request: Request) -> Response:
        return HTMLResponse(_NOT_FOUND_PAGE, 404)

    async def _serve(self, request: Request, route: str) -> Response:
        route = "/" + route.strip("/")
        method = request.method.upper()
        if method == "POST":
            override = request.headers.get("x-http-method-override") or request.query_params.get("_method")
            method = (override or method).upper()
        if method == "HEAD":
            method = "GET"
        raw = await request.body()
        query = _params_from_pairs(request.query_params.multi_items())
        content_type = request.headers.get("content-type", "").lower()
        form: dict[str, Any] = {}
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = _params_from_pairs(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        try:
            authed = True
            if route.startswith("/wc/"):
                authed = self._authenticate(request, query, form)
            handler, args, allow = self._match(route, method)
            body: dict[str, Any] = {}
            if "json" in content_type and raw.strip():
                try:
                    decoded = json.loads(raw)
                except ValueError:
                    raise WPError(
                        "rest_invalid_json",
                        "Invalid JSON body passed.",
                        400,
                        json_error_code=4,
                        json_error_message="Syntax error",
                    ) from None
                body = decoded if isinstance(decoded, dict) else {}
            call = _Call(request, route, query, {**query, **form, **body}, authed)
            if request.method.upper() == "OPTIONS":
                return _reply(
                    {"namespace": NAMESPACE, "methods": allow, "endpoints": [{"methods": allow}]},
                    headers={"Allow": ", ".join(allow)},
                )
            response: Response = await handler(call, *args)
            self._emit(call.events)
            response.headers["Allow"] = ", ".join(allow)
            return response
        except WPError as error:
            return _reply(error.body(), error.status, error.headers)

    def _match(self, route: str, method: str) -> tuple[Any, tuple[Any, ...], list[str]]:
        """(handler, its arguments, the methods the route allows); ``rest_no_route`` for anything else."""
        if method == "OPTIONS":
            method = "GET"
        table: list[tuple[re.Pattern[str], dict[str, Any]]] = [
            (re.compile(r"/"), {"GET": self._index}),
            (re.compile(r"/wc/v3"), {"GET": self._namespace}),
            (
                re.compile(r"/wc/v3/(orders|customers|products)"),
                {"GET": self._list, "POST": self._create_item},
            ),
            (
                re.compile(r"/wc/v3/(orders|customers|products)/batch"),
                {"POST": self._batch, "PUT": self._batch, "PATCH": self._batch},
            ),
            (
                re.compile(r"/wc/v3/(orders|customers|products)/(\d+)"),
                {
                    "GET": self._get_item,
                    "POST": self._update_item,
                    "PUT": self._update_item,
                    "PATCH": self._update_item,
                    "DELETE": self._delete_item,
                },
            ),
            (re.compile(r"/wc/v3/webhooks"), {"GET": self._list_webhooks, "POST": self._create_webhook}),
            (
                re.compile(r"/wc/v3/webhooks/(\d+)"),
                {
                    "GET": self._get_webhook,
                    "POST": self._update_webhook,
                    "PUT": self._update_webhook,
                    "PATCH": self._update_webhook,
                    "DELETE": self._delete_webhook,
                },
            ),
        ]
        for pattern, methods in table:
            match = pattern.fullmatch(route)
            if match and method in methods:
                allow = list(methods)
                return methods[method], match.groups(), allow
        raise _no_route()

    # --- authentication (WC_REST_Authentication) ------------------------------------------------------

    def _authenticate(self, request: Request, query: dict[str, Any], form: dict[str, Any]) -> bool:
        """True when a key authenticated the request, False when none was offered; a hard failure raises."""
        key = secret = ""
        if query.get("consumer_key") and query.get("consumer_secret"):
            key, secret = str(query["consumer_key"]), str(query["consumer_secret"])
        if not key:
            key, secret = _basic(request.headers.get("authorization"))
        if key and secret and key == CONSUMER_KEY:
            if not hmac.compare_digest(secret.encode(), CONSUMER_SECRET.encode()):
                realm = (
                    'Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer '
                    'secret in the password field."'
                )
                raise _auth_error("Consumer secret is invalid.", {"WWW-Authenticate": realm})
            return True
        flat = dict(request.query_params.items()) | {k: v for k, v in form.items() if isinstance(v, str)}
        oauth = flat | _oauth_header(request.headers.get("authorization", "").strip())
        names = (
            "oauth_consumer_key",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
            "oauth_signature_method",
        )
        missing = [name for name in names if not oauth.get(name)]
        if len(missing) == len(names):
            return False
        if missing:
            label = "Missing OAuth parameter" + ("s" if len(missing) > 1 else "")
            raise WPError(
                "woocommerce_rest_authentication_missing_parameter", f"{label} {', '.join(missing)}", 401
            )
        if oauth["oauth_consumer_key"] != CONSUMER_KEY:
            raise _auth_error("Consumer key is invalid.")
        self._check_signature(request, oauth)
        self._check_timestamp_and_nonce(oauth["oauth_timestamp"], oauth["oauth_nonce"])
        return True

    def _check_signature(self, request: Request, params: dict[str, str]) -> None:
        given = unquote(params["oauth_signature"].replace(" ", "+"))
        signed = {k: v for k, v in params.items() if k != "oauth_signature"}
        pairs = "%26".join(
            _rfc3986(_rfc3986(key) + "=" + _rfc3986(value)) for key, value in sorted(signed.items())
        )
        method = signed["oauth_signature_method"]
        if method not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise _auth_error("Invalid signature - signature method is invalid.")
        digest = hashlib.sha1 if method == "HMAC-SHA1" else hashlib.sha256
        raw_path = request.scope.get("raw_path")
        path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else request.url.path
        # The store's home URL, and the address the request reached it by: a sandbox started on
        # 0.0.0.0 cannot know which of its names the client signed.
        homes = {self.base_url.rstrip("/"), f"{request.url.scheme}://{request.headers.get('host', '')}"}
        key = (CONSUMER_SECRET + "&").encode()
        for home in homes:
            text = f"{request.method.upper()}&{_rfc3986(home + path)}&{pairs}"
            expected = base64.b64encode(hmac.new(key, text.encode(), digest).digest()).decode()
            if hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
                return
        raise _auth_error("Invalid signature - provided signature does not match.")

    def _check_timestamp_and_nonce(self, timestamp: str, nonce: str) -> None:
        now = time.time()
        try:
            stamp = int(timestamp)
        except ValueError:
            stamp = 0
        if not now - OAUTH_WINDOW <= stamp <= now + OAUTH_WINDOW:
            raise _auth_error("Invalid timestamp.")
        self._nonces = {n: t for n, t in self._nonces.items() if t >= now - OAUTH_WINDOW}
        if nonce in self._nonces:
            raise _auth_error("Invalid nonce - nonce has already been used.")
        self._nonces[nonce] = stamp

    # --- index routes ---------------------------------------------------------------------------------

    _ROUTES: ClassVar[dict[str, list[str]]] = {
        "/wc/v3/orders": ["GET", "POST"],
        "/wc/v3/orders/(?P<id>[\\d]+)": ["GET", "POST", "PUT", "PATCH", "DELETE"],
        "/wc/v3/orders/batch": ["POST", "PUT", "PATCH"],
        "/wc/v3/customers": ["GET", "POST"],
        "/wc/v3/customers/(?P<id>[\\d]+)": ["GET", "POST", "PUT", "PATCH", "DELETE"],
        "/wc/v3/customers/batch": ["POST", "PUT", "PATCH"],
        "/wc/v3/products": ["GET", "POST"],
        "/wc/v3/products/(?P<id>[\\d]+)": ["GET", "POST", "PUT", "PATCH", "DELETE"],
        "/wc/v3/products/batch": ["POST", "PUT", "PATCH"],
        "/wc/v3/webhooks": ["GET", "POST"],
        "/wc/v3/webhooks/(?P<id>[\\d]+)": ["GET", "POST", "PUT", "PATCH", "DELETE"],
    }

    def _route_map(self) -> dict[str, Any]:
        return {
            route: {
                "namespace": NAMESPACE,
                "methods": methods,
                "endpoints": [{"methods": methods, "args": {}}],
            }
            for route, methods in self._ROUTES.items()
        }

    async def _index(self, call: _Call) -> Response:
        return _reply(
            {
                "name": "ISAO WooCommerce sandbox",
                "description": "Just another WordPress site",
                "url": self.base_url,
                "home": self.base_url,
                "gmt_offset": "0",
                "timezone_string": "",
                "namespaces": [NAMESPACE],
                "authentication": [],
                "routes": {f"/{NAMESPACE}": {"namespace": NAMESPACE, "methods": ["GET"]}} | self._route_map(),
            }
        )

    async def _namespace(self, call: _Call) -> Response:
        return _reply({"namespace": NAMESPACE, "routes": self._route_map()})

    # --- collections -----------------------------------------------------------------------------------

    async def _list(self, call: _Call, collection: str) -> Response:
        specs = {"orders": ORDER_LIST_SPECS, "products": PRODUCT_LIST_SPECS}.get(
            collection, CUSTOMER_LIST_SPECS
        )
        args = _validate(call.params, specs)
        call.require("list")
        if collection == "customers":
            records = self._query_customers(args)
        else:
            records = self._query_posts(collection, args)
        return self._page(call, [self._render(collection, r) for r in records], args)

    def _page(self, call: _Call, records: list[dict[str, Any]], args: dict[str, Any]) -> Response:
        page, per_page = args.get("page", 1), args.get("per_page", 10)
        start = args["offset"] if "offset" in args else (page - 1) * per_page
        total = len(records)
        pages = math.ceil(total / per_page)
        links = []
        base = dict(call.request.query_params.items())
        here = self.rest_url(call.route)
        if page > 1:
            links.append(f'<{here}?{urlencode(base | {"page": min(page - 1, max(pages, 1))})}>; rel="prev"')
        if pages > page:
            links.append(f'<{here}?{urlencode(base | {"page": page + 1})}>; rel="next"')
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        if links:
            headers["Link"] = ", ".join(links)
        shown = [self._fields(call, record) for record in records[max(start, 0) : max(start, 0) + per_page]]
        return _reply(shown, headers=headers)

    @staticmethod
    def _fields(call: _Call, record: dict[str, Any]) -> dict[str, Any]:
        wanted = call.query.get("_fields")
        if not isinstance(wanted, str) or not wanted:
            return record
        names = {name.strip().split(".")[0] for name in wanted.split(",")}
        return {key: value for key, value in record.items() if key in names}

    @staticmethod
    def _sort(
        records: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any], order: str
    ) -> list[dict[str, Any]]:
        return sorted(records, key=key, reverse=order == "desc")

    def _query_posts(self, collection: str, args: dict[str, Any]) -> list[dict[str, Any]]:
        records = self.store.all(collection)
        if collection == "orders":
            wanted: list[str] = []
            for status in args.get("status", ["any"]):
                if status == "any":  # as WC_REST_Orders_Controller: "any" ends the list
                    wanted = []
                    break
                wanted.append(status)
            if wanted:
                records = [r for r in records if r["status"] in wanted]
            else:
                records = [r for r in records if r["status"] != "trash"]
            if "customer" in args:
                records = [r for r in records if r["customer_id"] == args["customer"]]
            if "product" in args:
                records = [
                    r for r in records if any(i["product_id"] == args["product"] for i in r["line_items"])
                ]
            if args.get("parent"):
                records = [r for r in records if r["parent_id"] in args["parent"]]
        else:
            status = args.get("status", "any")
            records = [
                r for r in records if (r["status"] != "trash" if status == "any" else r["status"] == status)
            ]
            if args.get("sku"):
                skus = {sku.strip() for sku in str(args["sku"]).split(",")}
                records = [r for r in records if r["sku"] in skus]
            for name in ("slug", "type", "stock_status"):
                if name in args:
                    records = [r for r in records if r[name] == args[name]]
        if args.get("include"):
            records = [r for r in records if r["id"] in args["include"]]
        if args.get("exclude"):
            records = [r for r in records if r["id"] not in args["exclude"]]
        if args.get("search"):
            needle = str(args["search"]).lower()
            records = [r for r in records if needle in self._haystack(collection, r)]
        for name, column, after in (
            ("after", "_created", True),
            ("before", "_created", False),
            ("modified_after", "_modified", True),
            ("modified_before", "_modified", False),
        ):
            if name in args:
                limit = _parse_date(args[name]) or 0
                records = [r for r in records if (r[column] > limit if after else r[column] < limit)]
        orderby = args.get("orderby", "date")
        include = args.get("include") or []
        keys: dict[str, Callable[[dict[str, Any]], Any]] = {
            "date": lambda r: (r["_created"], r["id"]),
            "id": lambda r: r["id"],
            "modified": lambda r: (r["_modified"], r["id"]),
            "include": lambda r: include.index(r["id"]) if r["id"] in include else len(include),
            "title": lambda r: (str(r.get("name", "")).lower(), r["id"]),
            "slug": lambda r: (str(r.get("slug", "")), r["id"]),
            "price": lambda r: (_decimal(r.get("price")), r["id"]),
            "popularity": lambda r: (r.get("total_sales", 0), r["id"]),
            "rating": lambda r: (0, r["id"]),
        }
        return self._sort(records, keys[orderby], args.get("order", "desc"))

    @staticmethod
    def _haystack(collection: str, record: dict[str, Any]) -> str:
        if collection == "products":
            parts = [record["name"], record["description"], record["short_description"]]
        else:
            parts = [str(record["id"]), *record["billing"].values(), *record["shipping"].values()]
            parts += [item["name"] for item in record["line_items"]]
        return " ".join(str(part) for part in parts).lower()

    def _query_customers(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        records = self.store.all("customers")
        role = args.get("role", "customer")
        if role != "all":
            records = [r for r in records if r["role"] == role]
        if args.get("include"):
            records = [r for r in records if r["id"] in args["include"]]
        if args.get("exclude"):
            records = [r for r in records if r["id"] not in args["exclude"]]
        if args.get("email"):
            records = [r for r in records if r["email"].lower() == args["email"].lower()]
        elif args.get("search"):
            needle = str(args["search"]).lower()
            records = [
                r
                for r in records
                if any(needle in str(r[k]).lower() for k in ("email", "username", "first_name", "last_name"))
            ]
        include = args.get("include") or []
        keys: dict[str, Callable[[dict[str, Any]], Any]] = {
            "id": lambda r: r["id"],
            "include": lambda r: include.index(r["id"]) if r["id"] in include else len(include),
            "name": lambda r: (self._display_name(r).lower(), r["id"]),
            "registered_date": lambda r: (r["_created"], r["id"]),
        }
        return self._sort(records, keys[args.get("orderby", "name")], args.get("order", "asc"))

    @staticmethod
    def _display_name(customer: Mapping[str, Any]) -> str:
        return f"{customer['first_name']} {customer['last_name']}".strip() or str(customer["username"])

    # --- single items ---------------------------------------------------------------------------------

    def _render(self, collection: str, record: Mapping[str, Any]) -> dict[str, Any]:
        data = _public(record)
        links: dict[str, Any] = {
            "self": [{"href": self.rest_url(f"/{NAMESPACE}/{collection}/{record['id']}")}],
            "collection": [{"href": self.rest_url(f"/{NAMESPACE}/{collection}")}],
        }
        if collection == "orders" and record.get("customer_id"):
            links["customer"] = [{"href": self.rest_url(f"/{NAMESPACE}/customers/{record['customer_id']}")}]
        if collection == "products":
            data["permalink"] = f"{self.base_url.rstrip('/')}/product/{record['slug']}/"
        if collection == "orders":
            data["payment_url"] = (
                f"{self.base_url.rstrip('/')}/checkout/order-pay/{record['id']}/?pay_for_order=true"
                f"&key={record['order_key']}"
            )
        data["_links"] = links
        return data

    def _find(self, collection: str, id_: int, code: str, message: str, status: int) -> dict[str, Any]:
        found = self.store.get(collection, id_)
        if found is None:
            raise WPError(code, message, status)
        return found

    async def _get_item(self, call: _Call, collection: str, id_: str) -> Response:
        call.require("read")
        kind = _KINDS[collection]
        record = self._find(collection, int(id_), kind.item_error, kind.item_message, 404)
        return _reply(self._fields(call, self._render(collection, record)))

    async def _create_item(self, call: _Call, collection: str) -> Response:
        call.require("create")
        record = self._create(collection, call.params, call.events)
        location = self.rest_url(f"/{NAMESPACE}/{collection}/{record['id']}")
        return _reply(self._render(collection, record), 201, {"Location": location})

    async def _update_item(self, call: _Call, collection: str, id_: str) -> Response:
        call.require("edit")
        record = self._update(collection, int(id_), call.params, call.events)
        return _reply(self._render(collection, record))

    async def _delete_item(self, call: _Call, collection: str, id_: str) -> Response:
        call.require("delete")
        force = _validate(call.params, {"force": _BOOL}).get("force", False)
        return _reply(self._delete(collection, int(id_), bool(force), call.events))

    async def _batch(self, call: _Call, collection: str) -> Response:
        call.require("batch")
        work: dict[str, list[Any]] = {}
        for name in ("create", "update", "delete"):
            items = call.params.get(name)
            if isinstance(items, list) and items:
                work[name] = items
        if sum(len(items) for items in work.values()) > BATCH_LIMIT:
            raise WPError(
                "woocommerce_rest_request_entity_too_large",
                f"Unable to accept more than {BATCH_LIMIT} items for this request.",
                413,
            )
        answer: dict[str, list[dict[str, Any]]] = {}
        for item in work.get("create", []):
            try:
                record = self._create(collection, item if isinstance(item, dict) else {}, call.events)
                answer.setdefault("create", []).append(self._render(collection, record))
            except WPError as error:
                answer.setdefault("create", []).append({"id": 0, "error": error.body()})
        for item in work.get("update", []):
            given = item if isinstance(item, dict) else {}
            try:
                id_, _ = _coerce("id", given.get("id", 0), _INT)
                record = self._update(collection, int(id_ or 0), given, call.events)
                answer.setdefault("update", []).append(self._render(collection, record))
            except WPError as error:
                answer.setdefault("update", []).append({"id": given.get("id"), "error": error.body()})
        for value in work.get("delete", []):
            id_, _ = _coerce("id", value, _INT)
            if not id_:
                continue
            try:
                answer.setdefault("delete", []).append(self._delete(collection, int(id_), True, call.events))
            except WPError as error:
                answer.setdefault("delete", []).append({"id": id_, "error": error.body()})
        return _reply(answer)

    def _create(
        self, collection: str, params: dict[str, Any], events: list[tuple[str, str, int]]
    ) -> dict[str, Any]:
        kind = _KINDS[collection]
        if params.get("id"):
            raise WPError(kind.exists_code, kind.exists_message, 400)
        if collection == "orders":
            return self._write_order(None, params, events)
        if collection == "products":
            return self._write_product(None, _validate(params, PRODUCT_SPECS), events)
        return self._write_customer(None, params, events)

    def _update(
        self, collection: str, id_: int, params: dict[str, Any], events: list[tuple[str, str, int]]
    ) -> dict[str, Any]:
        kind = _KINDS[collection]
        record = self._find(collection, id_, kind.item_error, kind.update_message, 400)
        if collection == "orders":
            return self._write_order(record, params, events)
        if collection == "products":
            return self._write_product(record, _validate(params, PRODUCT_SPECS), events)
        return self._write_customer(record, params, events)

    def _delete(
        self, collection: str, id_: int, force: bool, events: list[tuple[str, str, int]]
    ) -> dict[str, Any]:
        kind = _KINDS[collection]
        if collection == "customers":
            if not force:
                raise WPError(
                    "woocommerce_rest_trash_not_supported", "Customers do not support trashing.", 501
                )
            record = self._find(collection, id_, kind.item_error, kind.delete_message, 400)
            shown = self._render(collection, record)
            self.store.delete(collection, id_)
            _event(events, "customer", "deleted", id_)
            return shown
        record = self._find(collection, id_, kind.item_error, kind.delete_message, 404)
        shown = self._render(collection, record)
        if force:
            # No webhook: WooCommerce hooks *.deleted to trashing only.
            self.store.delete(collection, id_)
            return shown
        if record["status"] == "trash":
            post_type = "shop_order" if collection == "orders" else "product"
            raise WPError(
                "woocommerce_rest_already_trashed", f"The {post_type} has already been deleted.", 410
            )
        record["status"] = "trash"
        self._touch(record)
        if collection == "orders":
            record.update(self._order_flags(record))
        self.store.put(collection, id_, record)
        _event(events, kind.resource, "deleted", id_)
        return shown

    def _touch(self, record: dict[str, Any]) -> None:
        now = int(self.clock())
        record["_modified"] = now
        record["date_modified"] = record["date_modified_gmt"] = _stamp(now)

    def _dates(self, now: int) -> dict[str, Any]:
        stamp = _stamp(now)
        return {
            "date_created": stamp,
            "date_created_gmt": stamp,
            "date_modified": stamp,
            "date_modified_gmt": stamp,
        }

    # --- products ---------------------------------------------------------------------------------------

    def _write_product(
        self, existing: dict[str, Any] | None, values: dict[str, Any], events: list[tuple[str, str, int]]
    ) -> dict[str, Any]:
        creating = existing is None
        product = existing if existing is not None else self._new_product()
        if "sku" in values:
            sku = values["sku"].strip()
            if sku:
                owner = self._product_by_sku(sku, exclude=product["id"])
                if owner is not None:
                    raise WPError(
                        "product_invalid_sku",
                        "Invalid or duplicated SKU.",
                        400,
                        resource_id=owner["id"],
                        unique_sku=self._unique_sku(sku, product["id"]),
                    )
            product["sku"] = sku
        for name in (
            "name",
            "type",
            "status",
            "featured",
            "catalog_visibility",
            "description",
            "short_description",
            "virtual",
            "downloadable",
            "tax_status",
            "tax_class",
            "backorders",
            "low_stock_amount",
            "sold_individually",
            "weight",
            "reviews_allowed",
            "parent_id",
            "purchase_note",
            "menu_order",
        ):
            if name in values:
                product[name] = values[name]
        if creating and not product["name"]:
            product["name"] = "Product"
        if "slug" in values or creating:
            product["slug"] = self._unique_slug(values.get("slug") or product["name"], product["id"])
        for name in ("regular_price", "sale_price"):
            if name in values:
                product[name] = _format_decimal(values[name])
        if "dimensions" in values:
            product["dimensions"] = {
                k: str(values["dimensions"].get(k, product["dimensions"][k]))
                for k in ("length", "width", "height")
            }
        for name in ("categories", "tags"):
            if name in values:
                product[name] = [
                    {
                        "id": int(term.get("id", 0)),
                        "name": str(term.get("name", "")),
                        "slug": str(term.get("slug", "")),
                    }
                    for term in values[name]
                    if isinstance(term, dict)
                ]
        if "images" in values:
            product["images"] = [
                {
                    "id": int(image.get("id") or self.store.next_id("attachments", 1000)),
                    "src": str(image.get("src", "")),
                    "name": str(image.get("name", "")),
                    "alt": str(image.get("alt", "")),
                }
                for image in values["images"]
                if isinstance(image, dict)
            ]
        if "meta_data" in values:
            product["meta_data"] = _meta(product["meta_data"], values["meta_data"], self._meta_id)
        if "manage_stock" in values:
            product["manage_stock"] = values["manage_stock"]
        if "stock_quantity" in values and product["manage_stock"]:
            product["stock_quantity"] = values["stock_quantity"]
        if "stock_status" in values:
            product["stock_status"] = values["stock_status"]
        self._product_derived(product)
        if not creating:
            self._touch(product)
        self.store.put("products", product["id"], product)
        _event(events, "product", "created" if creating else "updated", product["id"])
        return product

    def _new_product(self) -> dict[str, Any]:
        now = int(self.clock())
        id_ = self.store.next_id("posts", 10)
        return {
            "id": id_,
            "name": "",
            "slug": "",
            "permalink": "",
            **self._dates(now),
            "type": "simple",
            "status": "publish",
            "featured": False,
            "catalog_visibility": "visible",
            "description": "",
            "short_description": "",
            "sku": "",
            "price": "",
            "regular_price": "",
            "sale_price": "",
            "date_on_sale_from": None,
            "date_on_sale_from_gmt": None,
            "date_on_sale_to": None,
            "date_on_sale_to_gmt": None,
            "on_sale": False,
            "purchasable": False,
            "total_sales": 0,
            "virtual": False,
            "downloadable": False,
            "downloads": [],
            "download_limit": -1,
            "download_expiry": -1,
            "external_url": "",
            "button_text": "",
            "tax_status": "taxable",
            "tax_class": "",
            "manage_stock": False,
            "stock_quantity": None,
            "backorders": "no",
            "backorders_allowed": False,
            "backordered": False,
            "low_stock_amount": None,
            "sold_individually": False,
            "weight": "",
            "dimensions": {"length": "", "width": "", "height": ""},
            "shipping_required": True,
            "shipping_taxable": True,
            "shipping_class": "",
            "shipping_class_id": 0,
            "reviews_allowed": True,
            "average_rating": "0.00",
            "rating_count": 0,
            "upsell_ids": [],
            "cross_sell_ids": [],
            "parent_id": 0,
            "purchase_note": "",
            "categories": [{"id": 15, "name": "Uncategorized", "slug": "uncategorized"}],
            "tags": [],
            "images": [],
            "attributes": [],
            "default_attributes": [],
            "variations": [],
            "grouped_products": [],
            "menu_order": 0,
            "price_html": "",
            "related_ids": [],
            "meta_data": [],
            "stock_status": "instock",
            "has_options": False,
            "post_password": "",
            "global_unique_id": "",
            "_created": now,
            "_modified": now,
        }

    def _product_derived(self, product: dict[str, Any]) -> None:
        regular, sale = product["regular_price"], product["sale_price"]
        on_sale = bool(sale) and (not regular or _decimal(sale) < _decimal(regular))
        product["price"] = sale if on_sale else regular
        product["on_sale"] = on_sale
        product["purchasable"] = product["price"] != "" and product["status"] == "publish"
        product["shipping_required"] = not product["virtual"]
        product["backorders_allowed"] = product["backorders"] != "no"
        if product["manage_stock"]:
            quantity = product["stock_quantity"] if product["stock_quantity"] is not None else 0
            product["stock_quantity"] = quantity
            if quantity > 0:
                product["stock_status"] = "instock"
            else:
                product["stock_status"] = "onbackorder" if product["backorders_allowed"] else "outofstock"
            product["backordered"] = quantity < 0 and product["backorders_allowed"]
        else:
            product["stock_quantity"] = None
            product["backordered"] = False
        symbol = _CURRENCIES["USD"]
        product["price_html"] = (
            '<span class="woocommerce-Price-amount amount"><bdi>'
            f'<span class="woocommerce-Price-currencySymbol">'
            f"{symbol}</span>{_money(_decimal(product['price']))}</bdi></span>"
            if product["price"]
            else ""
        )

    def _product_by_sku(self, sku: str, exclude: int | None = None) -> dict[str, Any] | None:
        for product in self.store.all("products"):
            if product["sku"] == sku and product["status"] != "trash" and product["id"] != exclude:
                return product
        return None

    def _unique_sku(self, sku: str, exclude: int) -> str:
        number = 1
        while self._product_by_sku(f"{sku}-{number}", exclude) is not None:
            number += 1
        return f"{sku}-{number}"

    def _unique_slug(self, text: str, exclude: int) -> str:
        base = _sanitize_title(text)
        taken = {p["slug"] for p in self.store.all("products") if p["id"] != exclude}
        slug, number = base, 2
        while slug in taken:
            slug, number = f"{base}-{number}", number + 1
        return slug

    def _meta_id(self) -> int:
        return self.store.next_id("meta", 100)

    # --- customers ----------------------------------------------------------------------------------------

    def _write_customer(
        self, existing: dict[str, Any] | None, params: dict[str, Any], events: list[tuple[str, str, int]]
    ) -> dict[str, Any]:
        if existing is None and params.get("email") in (None, ""):
            raise _missing_params(["email"])
        values = _validate(params, CUSTOMER_SPECS)
        for name in ("billing", "shipping"):
            email = values.get(name, {}).get("email")
            if name == "billing" and isinstance(email, str) and email and not _is_email(email):
                raise _invalid_params({name: ("rest_invalid_email", "Invalid email address.")})
        everyone = self.store.all("customers")
        email = values.get("email", "")
        if existing is None:
            if any(c["email"].lower() == email.lower() for c in everyone):
                raise WPError(
                    "registration-error-email-exists",
                    'An account is already registered with your email address. <a href="#" class="showlogin">'
                    "Please log in.</a>",
                    400,
                )
            username = values.get("username", "").strip()
            if username and any(c["username"] == username for c in everyone):
                raise WPError(
                    "registration-error-username-exists",
                    "An account is already registered with that username. Please choose another.",
                    400,
                )
            customer = self._new_customer(email, username or self._new_username(email, everyone))
        else:
            customer = existing
            if email and email.lower() != customer["email"].lower():
                if any(c["email"].lower() == email.lower() and c["id"] != customer["id"] for c in everyone):
                    raise WPError("woocommerce_rest_customer_invalid_email", "Email address is invalid.", 400)
            if values.get("username") and values["username"] != customer["username"]:
                raise WPError("woocommerce_rest_customer_invalid_argument", "Username isn't editable.", 400)
            if email:
                customer["email"] = email
        for name in ("first_name", "last_name"):
            if name in values:
                customer[name] = values[name]
        for name, keys in (("billing", _BILLING_KEYS), ("shipping", _SHIPPING_KEYS)):
            if name in values:
                customer[name] |= {k: str(v) for k, v in values[name].items() if k in keys and v is not None}
        if "meta_data" in values:
            customer["meta_data"] = _meta(customer["meta_data"], values["meta_data"], self._meta_id)
        customer["avatar_url"] = self._avatar(customer["email"])
        if existing is not None:
            self._touch(customer)
        self.store.put("customers", customer["id"], customer)
        if existing is None:
            # WC_Customer_Data_Store::create calls wp_update_user, so profile_update fires as well.
            _event(events, "customer", "created", customer["id"])
        _event(events, "customer", "updated", customer["id"])
        return customer

    def _new_customer(self, email: str, username: str) -> dict[str, Any]:
        now = int(self.clock())
        return {
            "id": self.store.next_id("users", 2),
            **self._dates(now),
            "email": email,
            "first_name": "",
            "last_name": "",
            "role": "customer",
            "username": username,
            "billing": dict.fromkeys(_BILLING_KEYS, ""),
            "shipping": dict.fromkeys(_SHIPPING_KEYS, ""),
            "is_paying_customer": False,
            "avatar_url": "",
            "meta_data": [],
            "_created": now,
            "_modified": now,
        }

    @staticmethod
    def _new_username(email: str, everyone: list[dict[str, Any]]) -> str:
        base = re.sub(r"[^a-z0-9_.\-@]", "", email.split("@")[0].lower()) or "customer"
        taken = {c["username"] for c in everyone}
        name, number = base, 1
        while name in taken:
            name, number = f"{base}-{number}", number + 1
        return name

    @staticmethod
    def _avatar(email: str) -> str:
        digest = hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()
        return f"https://secure.gravatar.com/avatar/{digest}?s=96&d=mm&r=g"

    # --- orders -------------------------------------------------------------------------------------------

    def _new_order(self) -> dict[str, Any]:
        now = int(self.clock())
        id_ = self.store.next_id("posts", 10)
        key = "wc_order_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(13))
        stamp = _stamp(now)
        return {
            "id": id_,
            "parent_id": 0,
            "status": "pending",
            "currency": "USD",
            "version": WC_VERSION,
            "prices_include_tax": False,
            "date_created": stamp,
            "date_modified": stamp,
            "discount_total": "0.00",
            "discount_tax": "0.00",
            "shipping_total": "0.00",
            "shipping_tax": "0.00",
            "cart_tax": "0.00",
            "total": "0.00",
            "total_tax": "0.00",
            "customer_id": 0,
            "order_key": key,
            "billing": dict.fromkeys(_BILLING_KEYS, ""),
            "shipping": dict.fromkeys(_SHIPPING_KEYS, ""),
            "payment_method": "",
            "payment_method_title": "",
            "transaction_id": "",
            "customer_ip_address": "",
            "customer_user_agent": "",
            "created_via": "rest-api",
            "customer_note": "",
            "date_completed": None,
            "date_paid": None,
            "cart_hash": "",
            "number": str(id_),
            "meta_data": [],
            "line_items": [],
            "tax_lines": [],
            "shipping_lines": [],
            "fee_lines": [],
            "coupon_lines": [],
            "refunds": [],
            "payment_url": "",
            "is_editable": True,
            "needs_payment": False,
            "needs_processing": False,
            "date_created_gmt": stamp,
            "date_modified_gmt": stamp,
            "date_completed_gmt": None,
            "date_paid_gmt": None,
            "currency_symbol": _CURRENCIES["USD"],
            "_created": now,
            "_modified": now,
            "_stock_reduced": False,
        }

    def _write_order(
        self, existing: dict[str, Any] | None, params: dict[str, Any], events: list[tuple[str, str, int]]
    ) -> dict[str, Any]:
        values = _validate(params, ORDER_SPECS)
        creating = existing is None
        if values.get("customer_id") and self.store.get("customers", values["customer_id"]) is None:
            raise WPError("woocommerce_rest_invalid_customer_id", "Customer ID is invalid.", 400)
        order = existing if existing is not None else self._new_order()
        before = order["status"]
        for name in (
            "parent_id",
            "customer_id",
            "customer_note",
            "payment_method",
            "payment_method_title",
            "transaction_id",
        ):
            if name in values:
                order[name] = values[name]
        if "currency" in values:
            order["currency"] = values["currency"]
            order["currency_symbol"] = _CURRENCIES[values["currency"]]
        for name, keys in (("billing", _BILLING_KEYS), ("shipping", _SHIPPING_KEYS)):
            if name in values:
                order[name] |= {k: str(v) for k, v in values[name].items() if k in keys and v is not None}
        if "line_items" in values:
            self._line_items(order, values["line_items"])
        if "shipping_lines" in values:
            self._other_lines(order, "shipping_lines", values["shipping_lines"])
        if "fee_lines" in values:
            self._other_lines(order, "fee_lines", values["fee_lines"])
        for coupon in values.get("coupon_lines", []):
            code = str(coupon.get("code", "")) if isinstance(coupon, dict) else ""
            if not code.strip():
                raise WPError("woocommerce_rest_invalid_coupon", "Coupon code is required.", 400)
            raise WPError("woocommerce_rest_invalid_coupon", f'Coupon "{code}" does not exist!', 400)
        if "meta_data" in values:
            order["meta_data"] = _meta(order["meta_data"], values["meta_data"], self._meta_id)
        if order["customer_id"] and not order["billing"]["email"]:
            customer = self.store.get("customers", order["customer_id"])
            if customer is not None:
                order["billing"]["email"] = customer["email"]
        recalc = ("billing", "shipping", "line_items", "shipping_lines", "fee_lines", "coupon_lines")
        if creating or any(name in values for name in recalc):
            self._totals(order)
        if "status" in values:
            order["status"] = values["status"]
        if values.get("set_paid") and (creating or self._order_flags(order)["needs_payment"]):
            if values.get("transaction_id"):
                order["transaction_id"] = values["transaction_id"]
            order["status"] = "processing" if self._order_flags(order)["needs_processing"] else "completed"
            order["date_paid"] = order["date_paid_gmt"] = _stamp(self.clock())
        side: list[tuple[str, str, int]] = []
        self._transition(order, before, side)
        order.update(self._order_flags(order))
        if not creating:
            self._touch(order)
        self.store.put("orders", order["id"], order)
        if creating:
            _event(events, "order", "created", order["id"])
            if order["status"] != "pending":
                # The second save (status, payment) of a REST-created order fires woocommerce_update_order.
                _event(events, "order", "updated", order["id"])
        else:
            _event(events, "order", "updated", order["id"])
        for resource, event, id_ in side:
            _event(events, resource, event, id_)
        return order

    def _line_items(self, order: dict[str, Any], posted: list[Any]) -> None:
        items: list[dict[str, Any]] = order["line_items"]
        for index, raw in enumerate(posted):
            if not isinstance(raw, dict):
                continue
            entry: dict[str, Any] = {}
            for name, spec in _LINE_ITEM_SPECS.items():
                if raw.get(name) is not None:
                    value, error = _coerce(f"line_items[{index}][{name}]", raw[name], spec)
                    if error is not None:
                        raise _invalid_params({"line_items": error})
                    entry[name] = value
            current = _line(items, entry.get("id"))
            if _is_null_item(raw) or entry.get("quantity") == 0:
                if current is not None:
                    items.remove(current)
                continue
            product = None
            if entry.get("sku"):
                product = self._product_by_sku(entry["sku"])
            elif entry.get("product_id") or entry.get("variation_id"):
                found = self.store.get("products", entry.get("variation_id") or entry["product_id"])
                product = found if found is not None and found["status"] != "trash" else None
            elif current is None:
                raise WPError(
                    "woocommerce_rest_required_product_reference", "Product ID or SKU is required.", 400
                )
            item = (
                current
                if current is not None
                else {
                    "id": self.store.next_id("order_items", 1),
                    "name": "",
                    "product_id": 0,
                    "variation_id": 0,
                    "quantity": 1,
                    "tax_class": "",
                    "subtotal": "0.00",
                    "subtotal_tax": "0.00",
                    "total": "0.00",
                    "total_tax": "0.00",
                    "taxes": [],
                    "meta_data": [],
                    "sku": "",
                    "price": 0,
                    "image": {"id": "", "src": ""},
                    "parent_name": None,
                }
            )
            quantity = entry.get("quantity", item["quantity"] if current is not None else 1)
            if product is not None and product["id"] != item["product_id"]:
                item.update(product_id=product["id"], name=product["name"], sku=product["sku"])
                image = product["images"][0] if product["images"] else None
                item["image"] = {"id": image["id"], "src": image["src"]} if image else {"id": "", "src": ""}
            if product is not None and (current is None or quantity != item["quantity"]):
                line = _decimal(product["price"]) * quantity
                item["subtotal"] = item["total"] = _money(line)
            item["quantity"] = quantity
            if "name" in entry:
                item["name"] = entry["name"]
            for name in ("subtotal", "total"):
                if name in entry:
                    item[name] = _money(_decimal(_format_decimal(entry[name])))
            if "total" in entry and "subtotal" not in entry and current is None:
                item["subtotal"] = max(item["subtotal"], item["total"], key=_decimal)
            item["price"] = _number(_decimal(item["total"]) / quantity) if quantity else 0
            if current is None:
                items.append(item)

    def _other_lines(self, order: dict[str, Any], kind: str, posted: list[Any]) -> None:
        lines: list[dict[str, Any]] = order[kind]
        for raw in posted:
            if not isinstance(raw, dict):
                continue
            current = _line(lines, raw.get("id"))
            if _is_null_item(raw):
                if current is not None:
                    lines.remove(current)
                continue
            line: dict[str, Any] = (
                current if current is not None else {"id": self.store.next_id("order_items", 1)}
            )
            if kind == "shipping_lines":
                line.setdefault("method_title", "")
                line.setdefault("method_id", "")
                line.setdefault("instance_id", "")
                for name in ("method_title", "method_id", "instance_id"):
                    if name in raw:
                        line[name] = str(raw[name])
            else:
                line.setdefault("name", "")
                line.setdefault("tax_class", "")
                line.setdefault("tax_status", "taxable")
                if "name" in raw:
                    line["name"] = str(raw["name"])
            line["total"] = _money(_decimal(_format_decimal(str(raw.get("total", line.get("total", "0"))))))
            line.update(total_tax="0.00", taxes=[], meta_data=line.get("meta_data", []))
            if current is None:
                lines.append(line)

    @staticmethod
    def _totals(order: dict[str, Any]) -> None:
        items = order["line_items"]
        subtotal = sum((_decimal(i["subtotal"]) for i in items), Decimal(0))
        lines = sum((_decimal(i["total"]) for i in items), Decimal(0))
        shipping = sum((_decimal(s["total"]) for s in order["shipping_lines"]), Decimal(0))
        fees = sum((_decimal(f["total"]) for f in order["fee_lines"]), Decimal(0))
        order["discount_total"] = _money(max(subtotal - lines, Decimal(0)))
        order["shipping_total"] = _money(shipping)
        order["total"] = _money(lines + shipping + fees)

    @staticmethod
    def _order_flags(order: dict[str, Any]) -> dict[str, Any]:
        status = order["status"]
        return {
            "needs_payment": status in ("pending", "failed") and _decimal(order["total"]) > 0,
            "needs_processing": any(item["product_id"] for item in order["line_items"]),
            "is_editable": status in ("pending", "on-hold", "auto-draft", "checkout-draft"),
        }

    def _transition(self, order: dict[str, Any], before: str, events: list[tuple[str, str, int]]) -> None:
        """What WooCommerce hooks to status changes: paid and completed dates, stock, paying customer."""
        status = order["status"]
        now = _stamp(self.clock())
        if status in _PAID and not order["date_paid"]:
            order["date_paid"] = order["date_paid_gmt"] = now
        if status == "completed" and not order["date_completed"]:
            order["date_completed"] = order["date_completed_gmt"] = now
        if status == before:
            return
        if status in _REDUCES_STOCK and not order["_stock_reduced"]:
            self._adjust_stock(order, -1, events)
            order["_stock_reduced"] = True
        elif status in _RESTORES_STOCK and order["_stock_reduced"]:
            self._adjust_stock(order, 1, events)
            order["_stock_reduced"] = False
        if status in _PAID and order["customer_id"]:
            customer = self.store.get("customers", order["customer_id"])
            if customer is not None and not customer["is_paying_customer"]:
                customer["is_paying_customer"] = True
                self._touch(customer)
                self.store.put("customers", customer["id"], customer)
                _event(events, "customer", "updated", customer["id"])

    def _adjust_stock(self, order: dict[str, Any], sign: int, events: list[tuple[str, str, int]]) -> None:
        for item in order["line_items"]:
            product = self.store.get("products", item["product_id"]) if item["product_id"] else None
            if product is None:
                continue
            if product["manage_stock"]:
                product["stock_quantity"] = int(product["stock_quantity"] or 0) + sign * int(item["quantity"])
            if sign < 0:
                product["total_sales"] = int(product["total_sales"]) + int(item["quantity"])
            self._product_derived(product)
            self._touch(product)
            self.store.put("products", product["id"], product)
            _event(events, "product", "updated", product["id"])

    # --- webhooks resource ---------------------------------------------------------------------------------

    def _render_webhook(self, hook: Mapping[str, Any]) -> dict[str, Any]:
        data = _public(hook)
        data["_links"] = {
            "self": [{"href": self.rest_url(f"/{NAMESPACE}/webhooks/{hook['id']}")}],
            "collection": [{"href": self.rest_url(f"/{NAMESPACE}/webhooks")}],
        }
        return data

    async def _list_webhooks(self, call: _Call) -> Response:
        args = _validate(call.params, WEBHOOK_LIST_SPECS)
        call.require("list")
        hooks = self.store.all("webhooks")
        if args.get("status", "all") != "all":
            hooks = [h for h in hooks if h["status"] == args["status"]]
        if args.get("include"):
            hooks = [h for h in hooks if h["id"] in args["include"]]
        if args.get("exclude"):
            hooks = [h for h in hooks if h["id"] not in args["exclude"]]
        if args.get("search"):
            hooks = [h for h in hooks if str(args["search"]).lower() in h["name"].lower()]
        if "after" in args:
            hooks = [h for h in hooks if h["_created"] > (_parse_date(args["after"]) or 0)]
        if "before" in args:
            hooks = [h for h in hooks if h["_created"] < (_parse_date(args["before"]) or 0)]
        keys: dict[str, Callable[[dict[str, Any]], Any]] = {
            "date": lambda h: (h["_created"], h["id"]),
            "id": lambda h: h["id"],
            "title": lambda h: (h["name"].lower(), h["id"]),
        }
        hooks = self._sort(hooks, keys[args.get("orderby", "date")], args.get("order", "desc"))
        return self._page(call, [self._render_webhook(h) for h in hooks], args)

    async def _get_webhook(self, call: _Call, id_: str) -> Response:
        call.require("read")
        hook = self._find(
            "webhooks", int(id_), "woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.", 400
        )
        return _reply(self._render_webhook(hook))

    async def _create_webhook(self, call: _Call) -> Response:
        call.require("create")
        missing = [name for name in ("topic", "delivery_url") if call.params.get(name) in (None, "")]
        if missing:
            raise _missing_params(missing)
        values = _validate(call.params, WEBHOOK_SPECS)
        if call.params.get("id"):
            raise WPError("woocommerce_rest_shop_webhook_exists", "Cannot create existing shop_webhook.", 400)
        topic = values["topic"].strip().lower()
        if not _valid_topic(topic):
            raise WPError(
                "woocommerce_rest_shop_webhook_invalid_topic",
                "Webhook topic is required and must be valid.",
                400,
            )
        if not _valid_url(values["delivery_url"]):
            raise WPError(
                "woocommerce_rest_shop_webhook_invalid_delivery_url",
                "Webhook delivery URL must be a valid URL starting with http:// or https://.",
                400,
            )
        now = int(self.clock())
        id_ = self.store.next_id("webhooks", 1)
        moment = datetime.fromtimestamp(now, UTC)
        resource, _, event = topic.partition(".")
        hook = {
            "id": id_,
            "name": values.get("name") or moment.strftime("Webhook created on %b %d, %Y @ %I:%M %p"),
            "status": values.get("status", "active"),
            "topic": topic,
            "resource": resource,
            "event": event,
            "hooks": TOPIC_HOOKS.get(topic, [event] if resource == "action" else []),
            "delivery_url": values["delivery_url"],
            **self._dates(now),
            "_secret": values.get("secret") or secrets.token_urlsafe(37)[:50],
            "_failure_count": 0,
            "_api_version": "wp_api_v3",
            "_user_id": 1,
            "_created": now,
            "_modified": now,
        }
        self.store.put("webhooks", id_, hook)
        location = self.rest_url(f"/{NAMESPACE}/webhooks/{id_}")
        response = _reply(self._render_webhook(hook), 201, {"Location": location})
        await self._ping(hook)
        return response

    async def _update_webhook(self, call: _Call, id_: str) -> Response:
        call.require("edit")
        hook = self._find(
            "webhooks", int(id_), "woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.", 400
        )
        params = call.params
        if params.get("topic"):
            topic = str(params["topic"]).strip().lower()
            if not _valid_topic(topic):
                raise WPError(
                    "woocommerce_rest_shop_webhook_invalid_topic", "Webhook topic must be valid.", 400
                )
            resource, _, event = topic.partition(".")
            hook.update(topic=topic, resource=resource, event=event, hooks=TOPIC_HOOKS.get(topic, [event]))
        if params.get("delivery_url"):
            if not _valid_url(str(params["delivery_url"])):
                raise WPError(
                    "woocommerce_rest_shop_webhook_invalid_delivery_url",
                    "Webhook delivery URL must be a valid URL starting with http:// or https://.",
                    400,
                )
            hook["delivery_url"] = str(params["delivery_url"])
        if params.get("secret"):
            hook["_secret"] = str(params["secret"])
        if params.get("status"):
            status = str(params["status"]).lower()
            if status not in WEBHOOK_STATUSES:
                raise WPError(
                    "woocommerce_rest_shop_webhook_invalid_status", "Webhook status must be valid.", 400
                )
            if status == "active" and hook["status"] != "active":
                hook["_failure_count"] = 0
            hook["status"] = status
        if params.get("name"):
            hook["name"] = str(params["name"])
        self._touch(hook)
        self.store.put("webhooks", hook["id"], hook)
        return _reply(self._render_webhook(hook))

    async def _delete_webhook(self, call: _Call, id_: str) -> Response:
        call.require("delete")
        force = _validate(call.params, {"force": _BOOL}).get("force", False)
        if not force:
            raise WPError("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
        hook = self._find(
            "webhooks", int(id_), "woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.", 404
        )
        self.store.delete("webhooks", hook["id"])
        return _reply(self._render_webhook(hook))

    async def _ping(self, hook: Mapping[str, Any]) -> None:
        """``deliver_ping``: the form post ``webhook_id=<id>``, sent before the create request answers.
        Its outcome does not count as a delivery failure, and the REST API ignores it."""
        done = asyncio.Event()
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
        self.outbox.send(
            hook["delivery_url"], f"webhook_id={hook['id']}".encode(), headers, lambda _: done.set()
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), self.outbox.timeout + 1)

    # --- webhook deliveries ---------------------------------------------------------------------------------

    def _emit(self, events: list[tuple[str, str, int]]) -> None:
        if not events:
            return
        hooks = [h for h in self.store.all("webhooks") if h["status"] == "active"]
        for resource, event, id_ in events:
            topic = f"{resource}.{event}"
            targets = [h for h in hooks if h["topic"] == topic]
            if not targets:
                continue
            payload: dict[str, Any] | None = {"id": id_}
            if event != "deleted":
                record = self.store.get(resource + "s", id_)
                payload = self._render(resource + "s", record) if record is not None else None
            if payload is None:
                continue
            body = wp_json(payload).strip()
            for hook in targets:
                self._deliver(hook, topic, body)

    def _deliver(self, hook: Mapping[str, Any], topic: str, body: bytes) -> None:
        resource, _, event = topic.partition(".")
        key = _specialchars_decode(str(hook["_secret"])).encode()
        signature = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
        moment = f"{hook['id']}{int(self.clock())}".encode()
        headers = {
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json",
            "X-WC-Webhook-Source": self.base_url.rstrip("/") + "/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": signature,
            "X-WC-Webhook-ID": str(hook["id"]),
            "X-WC-Webhook-Delivery-ID": hmac.new(_WP_SALT, moment, hashlib.md5).hexdigest(),
        }
        hook_id = int(hook["id"])
        self.outbox.send(
            str(hook["delivery_url"]), body, headers, lambda done: self._delivered(hook_id, done)
        )

    def _delivered(self, hook_id: int, delivery: Delivery) -> None:
        """``log_delivery``/``failed_delivery``: 200 to 302 resets the count; otherwise count up, and disable
        once the count already exceeds the maximum."""
        hook = self.store.get("webhooks", hook_id)
        if hook is None:
            return
        if delivery.status is not None and 200 <= delivery.status < 303:
            hook["_failure_count"] = 0
        elif hook["_failure_count"] > MAX_DELIVERY_FAILURES:
            hook["status"] = "disabled"
        else:
            hook["_failure_count"] += 1
        self.store.put("webhooks", hook_id, hook)

    def failure_count(self, webhook_id: int) -> int:
        """WooCommerce keeps it on the webhook but the REST API does not show it; tests read it here."""
        hook = self.store.get("webhooks", webhook_id)
        return int(hook["_failure_count"]) if hook else 0


def _line(lines: list[dict[str, Any]], id_: Any) -> dict[str, Any] | None:
    """The order item ``id_`` refers to (None for a new one); an id of another order's item is a 400."""
    if not id_:
        return None
    found = next((line for line in lines if line["id"] == id_), None)
    if found is None:
        raise WPError(
            "woocommerce_rest_invalid_item_id", "Order item ID provided is not associated with order.", 400
        )
    return found


def _is_null_item(raw: Mapping[str, Any]) -> bool:
    """``item_is_null``: an explicit null product, method, name or code removes the item."""
    return any(
        key in raw and raw[key] is None for key in ("product_id", "method_id", "method_title", "name", "code")
    )


def _valid_topic(topic: str) -> bool:
    """``wc_is_webhook_valid_topic``: ``action.<hook>`` or a known resource and event."""
    resource, _, event = topic.partition(".")
    if resource == "action" and event:
        return True
    return topic in TOPIC_HOOKS


def _valid_url(url: str) -> bool:
    return re.fullmatch(r"https?://[^\s/?#]+[^\s]*", url) is not None


def _nginx_page(title: str) -> str:
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )


_MAINTENANCE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Maintenance</title></head>'
    "<body><h1>Briefly unavailable for scheduled maintenance. Check back in a minute.</h1></body></html>"
)
_HOME_PAGE = (
    '<!DOCTYPE html><html lang="en-US"><head><meta charset="UTF-8"><title>ISAO WooCommerce sandbox</title>'
    "</head><body><h1>ISAO WooCommerce sandbox</h1><p>The REST API is under /wp-json/wc/v3.</p></body></html>"
)
_NOT_FOUND_PAGE = (
    '<!DOCTYPE html><html lang="en-US"><head><meta charset="UTF-8"><title>Page not found</title></head>'
    "<body><h1>Oops! That page can&rsquo;t be found.</h1></body></html>"
)
