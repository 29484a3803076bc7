"""Orders: writing them with their line items, totals and status transitions (dates, stock, paying
customer)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from isao.sandbox.woocommerce.call import _event
from isao.sandbox.woocommerce.constants import (
    _BILLING_KEYS,
    _CURRENCIES,
    _PAID,
    _REDUCES_STOCK,
    _RESTORES_STOCK,
    _SHIPPING_KEYS,
    WC_VERSION,
)
from isao.sandbox.woocommerce.core import _meta
from isao.sandbox.woocommerce.formats import _decimal, _format_decimal, _money, _number, _stamp
from isao.sandbox.woocommerce.products import ProductRecords
from isao.sandbox.woocommerce.replies import WPError, _invalid_params
from isao.sandbox.woocommerce.schema import _LINE_ITEM_SPECS, ORDER_SPECS, _coerce, _validate


class OrderRecords(ProductRecords):
    """Creating and updating orders; they read and adjust products."""

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
