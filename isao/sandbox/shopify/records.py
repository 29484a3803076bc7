"""The shop's records, kept in the REST Admin API's shape (what webhooks and ``*.json`` answer), created and
updated here for both APIs, and Shopify's search syntax (``email:ada@example.com updated_at:>'…'``)."""

from __future__ import annotations

import re
import shlex
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from isao.sandbox.base import Sandbox
from isao.sandbox.kit.ids import gid

Json = dict[str, Any]
FIRST = {
    "orders": 450789469,
    "customers": 207119551,
    "products": 632910392,
    "variants": 808950810,
    "line_items": 466157049,
    "webhooks": 4759306,
}
KINDS = {
    "orders": "Order",
    "customers": "Customer",
    "products": "Product",
    "variants": "ProductVariant",
    "line_items": "LineItem",
    "webhooks": "WebhookSubscription",
}
FINANCIAL = ("pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided")
_TERM = re.compile(r"^(?:(?P<field>[a-z_]+):(?P<op>>=|<=|>|<)?)?(?P<value>.+)$")


def stamp(moment: float) -> str:
    return datetime.fromtimestamp(int(moment), UTC).isoformat()


def money(value: Any) -> str:
    return f"{Decimal(str(value or 0)):.2f}"


class InvalidRecord(ValueError):
    """A REST 422 / a GraphQL ``userErrors`` entry: ``{field: [messages]}``."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(str(errors))
        self.errors = errors


class Records(Sandbox):
    def _now(self) -> str:
        return stamp(time.time())

    def _id(self, kind: str) -> int:
        return self.store.next_id(f"shopify:{kind}", start=FIRST[kind])

    def _changed(self, kind: str, record: Json, topic: str) -> None:
        raise NotImplementedError  # the webhooks part

    # --- customers ---

    def customer_by_email(self, email: str) -> Json | None:
        folded = email.strip().casefold()
        return next(
            (dict(c) for c in self.store.scan("customers") if (c.get("email") or "").casefold() == folded),
            None,
        )

    def create_customer(self, values: Json) -> Json:
        email = (values.get("email") or "").strip() or None
        errors: dict[str, list[str]] = {}
        if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            errors["email"] = ["is invalid"]
        elif email and self.customer_by_email(email) is not None:
            errors["email"] = ["has already been taken"]
        if (
            not email
            and not values.get("phone")
            and not (values.get("first_name") or values.get("last_name"))
        ):
            errors["base"] = ["Customer must have a name, phone number or email address"]
        if errors:
            raise InvalidRecord(errors)
        now, id_ = self._now(), self._id("customers")
        customer = {
            "id": id_,
            "email": email,
            "created_at": now,
            "updated_at": now,
            "first_name": values.get("first_name"),
            "last_name": values.get("last_name"),
            "orders_count": 0,
            "state": "disabled",
            "total_spent": "0.00",
            "last_order_id": None,
            "note": values.get("note"),
            "verified_email": True,
            "tax_exempt": False,
            "tags": values.get("tags") or "",
            "currency": "USD",
            "phone": values.get("phone"),
            "addresses": list(values.get("addresses") or []),
            "admin_graphql_api_id": gid("Customer", id_),
        }
        addresses = list(values.get("addresses") or [])
        customer["default_address"] = addresses[0] if addresses else None
        self.store.put("customers", id_, customer)
        self._changed("customers", customer, "customers/create")
        return customer

    def update_customer(self, id_: int | str, values: Json) -> Json | None:
        customer = self.store.get("customers", id_)
        if customer is None:
            return None
        email = values.get("email")
        if email and email.casefold() != (customer.get("email") or "").casefold():
            other = self.customer_by_email(email)
            if other is not None and other["id"] != customer["id"]:
                raise InvalidRecord({"email": ["has already been taken"]})
        writable = ("email", "first_name", "last_name", "phone", "note", "tags", "addresses")
        changed = {k: values[k] for k in writable if k in values and values[k] != customer.get(k)}
        if not changed:
            return customer
        customer |= changed | {"updated_at": self._now()}
        customer["default_address"] = customer["addresses"][0] if customer.get("addresses") else None
        self.store.put("customers", customer["id"], customer)
        self._changed("customers", customer, "customers/update")
        return customer

    # --- products ---

    def create_product(self, values: Json) -> Json:
        if not values.get("title"):
            raise InvalidRecord({"title": ["can't be blank"]})
        now, id_ = self._now(), self._id("products")
        handle = re.sub(r"[^a-z0-9]+", "-", str(values["title"]).lower()).strip("-")
        variants: list[Json] = []
        for given in values.get("variants") or [{}]:
            variant_id = self._id("variants")
            variants.append(
                {
                    "id": variant_id,
                    "product_id": id_,
                    "title": given.get("title") or "Default Title",
                    "price": money(given.get("price")),
                    "sku": given.get("sku") or "",
                    "position": len(variants) + 1,
                    "inventory_quantity": int(given.get("inventory_quantity") or 0),
                    "created_at": now,
                    "updated_at": now,
                    "admin_graphql_api_id": gid("ProductVariant", variant_id),
                }
            )
        product = {
            "id": id_,
            "title": values["title"],
            "body_html": values.get("body_html") or "",
            "vendor": values.get("vendor") or "ISAO sandbox",
            "product_type": values.get("product_type") or "",
            "handle": handle,
            "status": values.get("status") or "active",
            "tags": values.get("tags") or "",
            "created_at": now,
            "updated_at": now,
            "variants": variants,
            "admin_graphql_api_id": gid("Product", id_),
        }
        self.store.put("products", id_, product)
        self._changed("products", product, "products/create")
        return product

    def variant(self, variant_id: Any) -> tuple[Json, Json] | None:
        for product in self.store.scan("products"):
            for variant in product["variants"]:
                if str(variant["id"]) == str(variant_id):
                    return dict(product), dict(variant)
        return None

    # --- orders ---

    def create_order(self, values: Json) -> Json:
        lines, errors = [], {}
        for index, given in enumerate(values.get("line_items") or []):
            found = self.variant(given.get("variant_id")) if given.get("variant_id") else None
            if given.get("variant_id") and found is None:
                errors[f"line_items[{index}].variant_id"] = ["is invalid"]
                continue
            product, variant = found or ({}, {})
            title = given.get("title") or product.get("title")
            if not title:
                errors[f"line_items[{index}].title"] = ["can't be blank"]
                continue
            line_id = self._id("line_items")
            lines.append(
                {
                    "id": line_id,
                    "admin_graphql_api_id": gid("LineItem", line_id),
                    "product_id": product.get("id"),
                    "variant_id": variant.get("id"),
                    "sku": given.get("sku") or variant.get("sku") or None,
                    "title": title,
                    "name": title
                    if not variant or variant["title"] == "Default Title"
                    else f"{title} - {variant['title']}",
                    "quantity": int(given.get("quantity") or 1),
                    "price": money(
                        given.get("price") if given.get("price") is not None else variant.get("price")
                    ),
                    "variant_title": variant.get("title"),
                    "vendor": product.get("vendor"),
                }
            )
        if not lines and not errors:
            errors["line_items"] = ["must have at least one line item"]
        status = values.get("financial_status") or "paid"
        if status not in FINANCIAL:
            errors["financial_status"] = ["is not included in the list"]
        if errors:
            raise InvalidRecord(errors)
        email = (values.get("email") or (values.get("customer") or {}).get("email") or "").strip() or None
        customer = self.customer_by_email(email) if email else None
        given_customer = values.get("customer") or {}
        if email and customer is None:
            customer = self.create_customer(
                {
                    "email": email,
                    "first_name": given_customer.get("first_name"),
                    "last_name": given_customer.get("last_name"),
                }
            )
        subtotal = sum(Decimal(line["price"]) * line["quantity"] for line in lines)
        tax = Decimal(str(values.get("total_tax") or 0))
        now, id_ = self._now(), self._id("orders")
        number = self.store.next_id("shopify:order_number", start=1001)
        order = {
            "id": id_,
            "admin_graphql_api_id": gid("Order", id_),
            "name": f"#{number}",
            "order_number": number,
            "number": number - 1000,
            "email": email,
            "phone": values.get("phone"),
            "created_at": now,
            "updated_at": now,
            "processed_at": now,
            "cancelled_at": None,
            "closed_at": None,
            "currency": values.get("currency") or "USD",
            "presentment_currency": values.get("currency") or "USD",
            "subtotal_price": money(subtotal),
            "total_tax": money(tax),
            "total_price": money(subtotal + tax),
            "total_discounts": "0.00",
            "financial_status": status,
            "fulfillment_status": None,
            "note": values.get("note"),
            "tags": values.get("tags") or "",
            "test": True,
            "billing_address": values.get("billing_address"),
            "shipping_address": values.get("shipping_address"),
            "customer": _customer_summary(customer),
            "line_items": lines,
        }
        self.store.put("orders", id_, order)
        if customer is not None:
            customer = dict(customer) | {
                "orders_count": int(customer["orders_count"]) + 1,
                "last_order_id": id_,
            }
            self.store.put("customers", customer["id"], customer)
        self._changed("orders", order, "orders/create")
        if status == "paid":
            self._changed("orders", order, "orders/paid")
        return order

    def update_order(self, id_: int | str, values: Json) -> Json | None:
        order = self.store.get("orders", id_)
        if order is None:
            return None
        if "financial_status" in values and values["financial_status"] not in FINANCIAL:
            raise InvalidRecord({"financial_status": ["is not included in the list"]})
        writable = (
            "email",
            "note",
            "tags",
            "financial_status",
            "fulfillment_status",
            "phone",
            "cancelled_at",
        )
        changed = {k: values[k] for k in writable if k in values and values[k] != order.get(k)}
        if changed:
            order |= changed | {"updated_at": self._now()}
            self.store.put("orders", order["id"], order)
            self._changed("orders", order, "orders/updated")
            if changed.get("financial_status") == "paid":
                self._changed("orders", order, "orders/paid")
        return order

    # --- search syntax ---

    def matching(self, kind: str, query: str | None) -> list[Json]:
        """Records of ``kind`` matching Shopify's search syntax: ``field:value`` terms (``>``, ``>=``, ``<``,
        ``<=`` for dates and numbers, quotes for spaces), all required; a bare word searches names and
        email."""
        records = self.store.all(kind)
        for term in shlex.split(query or ""):
            if term.upper() == "AND":
                continue
            parsed = _TERM.match(term)
            if parsed is None:
                continue
            field, op, value = parsed["field"], parsed["op"], parsed["value"].strip("'\"")
            records = [r for r in records if _holds(kind, r, field, op, value)]
        return records


def _customer_summary(customer: Json | None) -> Json | None:
    if customer is None:
        return None
    keys = (
        "id",
        "email",
        "first_name",
        "last_name",
        "phone",
        "created_at",
        "updated_at",
        "state",
        "note",
        "tags",
        "currency",
        "admin_graphql_api_id",
        "default_address",
    )
    return {k: customer.get(k) for k in keys}


def _holds(kind: str, record: Json, field: str | None, op: str | None, value: str) -> bool:
    if field is None:
        names = [
            record.get("email"),
            record.get("first_name"),
            record.get("last_name"),
            record.get("name"),
            record.get("title"),
        ]
        return any(value.casefold() in str(n or "").casefold() for n in names)
    if field == "sku" and kind == "products":
        return any(v["sku"] == value for v in record["variants"])
    if field in ("status", "financial_status") and kind == "orders":
        return value in ("any", record["financial_status"]) if field == "financial_status" else True
    if field == "customer_id":
        return str((record.get("customer") or {}).get("id")) == value
    if field == "tag":
        return value in [t.strip() for t in str(record.get("tags") or "").split(",")]
    have = record.get(field)
    if have is None:
        return False
    if field.endswith("_at"):
        left, right = moment(str(have)), moment(value)
        if left is None or right is None:
            return False
        return {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}.get(
            op or "", left == right
        )
    if op:
        try:
            number = Decimal(str(have))
            limit = Decimal(value)
        except ArithmeticError:
            return False
        return {">": number > limit, ">=": number >= limit, "<": number < limit, "<=": number <= limit}[op]
    return str(have).casefold() == value.casefold()


def moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
