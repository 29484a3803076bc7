"""Parameter validation as WordPress' ``rest_validate_value_from_schema`` does it, and the argument
schemas of every route."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from isao.sandbox.woocommerce.constants import (
    _CURRENCIES,
    _ROLES,
    ORDER_STATUSES,
    PRODUCT_STATUSES,
    WEBHOOK_STATUSES,
)
from isao.sandbox.woocommerce.formats import _is_email, _parse_date, _wp_list
from isao.sandbox.woocommerce.replies import _invalid_params

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
