"""Stripe's error envelope, parameter coercion and the resources' table (prefix, object name, what each
accepts), shared by the sandbox's parts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from isao.sandbox.kit.answers import Fail

Json = dict[str, Any]
DOCS = "https://stripe.com/docs/error-codes"


def fail(
    status: int,
    message: str,
    *,
    kind: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    **extra: Any,
) -> Fail:
    error: Json = {"message": message, "type": kind}
    if code:
        error |= {"code": code, "doc_url": f"{DOCS}/{code.replace('_', '-')}"}
    if param:
        error["param"] = param
    error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/req_{secrets.token_hex(7)}"
    return Fail(status, {"error": error | extra})


def missing(kind: str, id_: str) -> Fail:
    return fail(404, f"No such {kind}: '{id_}'", code="resource_missing", param="id")


def required(param: str) -> Fail:
    return fail(400, f"Missing required param: {param}.", code="parameter_missing", param=param)


def integer(params: Json, name: str, *, low: int = 0, high: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not raw.lstrip("-").isdigit():
        raise fail(400, f"Invalid integer: {raw}", code="parameter_invalid_integer", param=name)
    value = int(raw)
    if value < low or (high is not None and value > high):
        raise fail(
            400,
            f"Invalid {name}: must be between {low} and {high}",
            code="parameter_invalid_integer",
            param=name,
        )
    return value


def boolean(params: Json, name: str) -> bool | None:
    raw = params.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise fail(400, f"Invalid boolean: {raw}", code="parameter_invalid_boolean", param=name)
    return bool(raw == "true")


def text(params: Json, name: str) -> str | None:
    raw = params.get(name)
    if raw is not None and not isinstance(raw, str):
        raise fail(400, f"Invalid string: {name}", code="parameter_invalid_string", param=name)
    return raw or None


def metadata(current: Json | None, given: Any) -> Json:
    """Keys are merged; an empty value removes a key; ``metadata=`` (empty) clears all."""
    merged = dict(current or {})
    if given == "":
        return {}
    if given is None:
        return merged
    if not isinstance(given, dict):
        raise fail(400, "Invalid hash", code="parameter_invalid_hash", param="metadata")
    for key, value in given.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    return merged


@dataclass(frozen=True)
class Resource:
    path: str
    prefix: str
    object: str
    writable: frozenset[str]
    filters: frozenset[str] = frozenset()
    searchable: bool = False


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


COMMON = _set("expand metadata")
RESOURCES = {
    r.path: r
    for r in (
        Resource(
            "customers",
            "cus",
            "customer",
            _set("email name phone description address shipping"),
            _set("email created"),
            searchable=True,
        ),
        Resource(
            "products",
            "prod",
            "product",
            _set("name description active images url unit_label id"),
            _set("active created ids"),
        ),
        Resource(
            "prices",
            "price",
            "price",
            _set("product currency unit_amount active nickname lookup_key recurring"),
            _set("product active currency created type"),
        ),
        Resource(
            "payment_intents",
            "pi",
            "payment_intent",
            _set(
                "amount currency customer description payment_method confirm receipt_email "
                "capture_method payment_method_types"
            ),
            _set("customer created"),
            searchable=True,
        ),
        Resource(
            "charges",
            "ch",
            "charge",
            _set("description receipt_email"),
            _set("customer payment_intent created"),
            searchable=True,
        ),
        Resource(
            "invoices",
            "in",
            "invoice",
            _set(
                "customer description auto_advance collection_method days_until_due "
                "pending_invoice_items_behavior currency"
            ),
            _set("customer status created"),
            searchable=True,
        ),
        Resource(
            "invoiceitems",
            "ii",
            "invoiceitem",
            _set("customer invoice price pricing amount currency quantity description unit_amount"),
            _set("customer invoice created"),
        ),
        Resource(
            "refunds",
            "re",
            "refund",
            _set("payment_intent charge amount reason"),
            _set("charge payment_intent created"),
        ),
        Resource("events", "evt", "event", frozenset(), _set("type types created delivery_success")),
        Resource(
            "webhook_endpoints",
            "we",
            "webhook_endpoint",
            _set("url enabled_events description disabled api_version"),
            frozenset(),
        ),
    )
}
BY_PREFIX = {r.prefix: r for r in RESOURCES.values()}
