"""Creating, updating and acting on Stripe objects: their shapes at the pinned API version, the state
machines of payment intents and invoices, and the events each change emits."""

from __future__ import annotations

import secrets
import time
from typing import Any

from isao.sandbox.base import Sandbox
from isao.sandbox.kit.ids import stripe_id
from isao.sandbox.stripe.wire import (
    RESOURCES,
    Json,
    boolean,
    fail,
    integer,
    metadata,
    missing,
    required,
    text,
)

DECLINED = "pm_card_chargeDeclined"
SUCCESSFUL = ("pm_card_visa", "pm_card_mastercard", "pm_card_amex")


class Objects(Sandbox):
    """Stripe's objects in the store, one collection per resource path."""

    def _emit(self, type_: str, obj: Json, previous: Json | None = None) -> None:
        raise NotImplementedError  # the events part

    def _now(self) -> int:
        return int(time.time())

    def _get(self, path: str, id_: str) -> Json:
        found = self.store.get(path, id_)
        if found is None or found.get("deleted"):
            raise missing(RESOURCES[path].object, id_)
        return found

    def _new(self, path: str, fields: Json) -> Json:
        resource = RESOURCES[path]
        obj = {
            "id": stripe_id(self.store, resource.prefix),
            "object": resource.object,
            **fields,
            "created": self._now(),
            "livemode": False,
        }
        self.store.put(path, obj["id"], obj)
        self._emit(f"{resource.object}.created", obj)
        return obj

    def _save(self, path: str, obj: Json, before: Json, event: str | None = None) -> Json:
        self.store.put(path, obj["id"], obj)
        changed = {k: before.get(k) for k in obj if obj.get(k) != before.get(k)}
        if changed:
            self._emit(event or f"{RESOURCES[path].object}.updated", obj, changed)
        return obj

    def _currency(self, params: Json, default: str | None = None) -> str:
        currency = text(params, "currency") or default
        if currency is None:
            raise required("currency")
        if len(currency) != 3 or not currency.isalpha():
            raise fail(
                400, f"Invalid currency: {currency}.", code="parameter_invalid_string", param="currency"
            )
        return currency.lower()

    # --- create ---

    def create(self, path: str, params: Json) -> Json:
        meta = metadata(None, params.get("metadata"))
        if path == "customers":
            fields = {k: text(params, k) for k in ("email", "name", "phone", "description")}
            return self._new(
                path,
                fields
                | {
                    "address": params.get("address"),
                    "balance": 0,
                    "currency": None,
                    "default_source": None,
                    "delinquent": False,
                    "discount": None,
                    "invoice_prefix": secrets.token_hex(4).upper(),
                    "invoice_settings": {
                        "custom_fields": None,
                        "default_payment_method": None,
                        "footer": None,
                    },
                    "metadata": meta,
                    "preferred_locales": [],
                    "shipping": params.get("shipping"),
                    "tax_exempt": "none",
                    "test_clock": None,
                },
            )
        if path == "products":
            name = text(params, "name") or _raise(required("name"))
            return self._new(
                path,
                {
                    "active": boolean(params, "active") is not False,
                    "default_price": None,
                    "description": text(params, "description"),
                    "images": [],
                    "metadata": meta,
                    "name": name,
                    "package_dimensions": None,
                    "shippable": None,
                    "statement_descriptor": None,
                    "tax_code": None,
                    "unit_label": text(params, "unit_label"),
                    "updated": self._now(),
                    "url": text(params, "url"),
                },
            )
        if path == "prices":
            product = text(params, "product") or _raise(required("product"))
            self._get("products", product)
            amount = integer(params, "unit_amount")
            recurring = params.get("recurring")
            return self._new(
                path,
                {
                    "active": boolean(params, "active") is not False,
                    "billing_scheme": "per_unit",
                    "currency": self._currency(params),
                    "lookup_key": text(params, "lookup_key"),
                    "metadata": meta,
                    "nickname": text(params, "nickname"),
                    "product": product,
                    "recurring": recurring if isinstance(recurring, dict) else None,
                    "tax_behavior": "unspecified",
                    "type": "recurring" if isinstance(recurring, dict) else "one_time",
                    "unit_amount": amount,
                    "unit_amount_decimal": None if amount is None else str(amount),
                },
            )
        if path == "payment_intents":
            return self._payment_intent(params, meta)
        if path == "invoices":
            return self._invoice(params, meta)
        if path == "invoiceitems":
            return self._invoice_item(params, meta)
        if path == "refunds":
            return self._refund(params, meta)
        raise fail(404, f"Unrecognized request URL (POST: /v1/{path}).")

    def _payment_intent(self, params: Json, meta: Json) -> Json:
        amount = integer(params, "amount", low=1)
        if amount is None:
            raise required("amount")
        customer = text(params, "customer")
        if customer:
            self._get("customers", customer)
        method = text(params, "payment_method")
        intent = self._new(
            "payment_intents",
            {
                "amount": amount,
                "amount_capturable": 0,
                "amount_received": 0,
                "canceled_at": None,
                "cancellation_reason": None,
                "capture_method": text(params, "capture_method") or "automatic",
                "client_secret": None,
                "confirmation_method": "automatic",
                "currency": self._currency(params),
                "customer": customer,
                "description": text(params, "description"),
                "last_payment_error": None,
                "latest_charge": None,
                "metadata": meta,
                "payment_method": method,
                "payment_method_types": ["card"],
                "receipt_email": text(params, "receipt_email"),
                "status": "requires_confirmation" if method else "requires_payment_method",
            },
        )
        intent["client_secret"] = f"{intent['id']}_secret_{secrets.token_hex(12)}"
        self.store.put("payment_intents", intent["id"], intent)
        if boolean(params, "confirm"):
            return self.act("payment_intents", intent["id"], "confirm", {})
        return intent

    def _invoice(self, params: Json, meta: Json) -> Json:
        customer_id = text(params, "customer") or _raise(required("customer"))
        customer = self._get("customers", customer_id)
        invoice = self._new(
            "invoices",
            {
                "account_country": "US",
                "amount_due": 0,
                "amount_paid": 0,
                "amount_remaining": 0,
                "auto_advance": boolean(params, "auto_advance") is True,
                "collection_method": text(params, "collection_method") or "charge_automatically",
                "currency": self._currency(params, "usd"),
                "customer": customer_id,
                "customer_email": customer.get("email"),
                "customer_name": customer.get("name"),
                "description": text(params, "description"),
                "hosted_invoice_url": None,
                "lines": {"object": "list", "data": [], "has_more": False, "total_count": 0, "url": ""},
                "metadata": meta,
                "number": None,
                "paid": False,
                "status": "draft",
                "status_transitions": {
                    "finalized_at": None,
                    "marked_uncollectible_at": None,
                    "paid_at": None,
                    "voided_at": None,
                },
                "subtotal": 0,
                "total": 0,
            },
        )
        invoice["lines"]["url"] = f"/v1/invoices/{invoice['id']}/lines"
        if params.get("pending_invoice_items_behavior") == "include":
            for item in self.store.all("invoiceitems"):
                if item["customer"] == customer_id and item["invoice"] is None:
                    self._attach(item, invoice)
            invoice = self._get("invoices", invoice["id"])
        self.store.put("invoices", invoice["id"], invoice)
        return invoice

    def _invoice_item(self, params: Json, meta: Json) -> Json:
        customer = text(params, "customer") or _raise(required("customer"))
        self._get("customers", customer)
        quantity = integer(params, "quantity", low=1) or 1
        pricing = params.get("pricing")
        price_id = text(params, "price") or (pricing.get("price") if isinstance(pricing, dict) else None)
        price = self._get("prices", price_id) if price_id else None
        unit = price["unit_amount"] if price else integer(params, "unit_amount")
        amount = integer(params, "amount")
        if amount is None and unit is None:
            raise required("amount")
        total = amount if amount is not None else (unit or 0) * quantity
        currency = price["currency"] if price else self._currency(params)
        item = self._new(
            "invoiceitems",
            {
                "amount": total,
                "currency": currency,
                "customer": customer,
                "date": self._now(),
                "description": text(params, "description")
                or (self._get("products", price["product"])["name"] if price else None),
                "discountable": True,
                "invoice": None,
                "metadata": meta,
                "price": price,
                "quantity": quantity,
                "unit_amount": total // quantity if amount is not None else unit,
                "pricing": None
                if price is None
                else {
                    "type": "price_details",
                    "price_details": {"price": price["id"], "product": price["product"]},
                    "unit_amount_decimal": str(price["unit_amount"]),
                },
            },
        )
        invoice_id = text(params, "invoice")
        if invoice_id:
            invoice = self._get("invoices", invoice_id)
            if invoice["status"] != "draft":
                raise fail(
                    400,
                    f"Invoice {invoice_id} is not a draft: items can only be added to drafts.",
                    code="invoice_not_editable",
                    param="invoice",
                )
            item = self._attach(item, invoice)
        return item

    def _attach(self, item: Json, invoice: Json) -> Json:
        item["invoice"] = invoice["id"]
        self.store.put("invoiceitems", item["id"], item)
        line = {
            "id": "il_" + item["id"][3:],
            "object": "line_item",
            "amount": item["amount"],
            "currency": item["currency"],
            "description": item["description"],
            "discountable": True,
            "invoice": invoice["id"],
            "invoice_item": item["id"],
            "livemode": False,
            "metadata": item["metadata"],
            "price": item["price"],
            "pricing": item["pricing"],
            "quantity": item["quantity"],
            "type": "invoiceitem",
        }
        before = dict(invoice)
        lines = invoice["lines"]
        invoice["lines"] = lines | {"data": [*lines["data"], line], "total_count": len(lines["data"]) + 1}
        total = sum(each["amount"] for each in invoice["lines"]["data"])
        invoice |= {"subtotal": total, "total": total, "amount_due": total, "amount_remaining": total}
        self._save("invoices", invoice, before)
        return item

    def _refund(self, params: Json, meta: Json) -> Json:
        charge_id, intent_id = text(params, "charge"), text(params, "payment_intent")
        if intent_id:
            charge_id = self._get("payment_intents", intent_id)["latest_charge"]
            if charge_id is None:
                raise fail(
                    400,
                    f"PaymentIntent {intent_id} has no successful charge to refund.",
                    code="charge_not_refundable",
                    param="payment_intent",
                )
        if not charge_id:
            raise required("charge")
        charge = self._get("charges", charge_id)
        left = charge["amount"] - charge["amount_refunded"]
        amount = integer(params, "amount", low=1)
        amount = left if amount is None else amount
        if amount > left or left == 0:
            raise fail(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                code="amount_too_large" if left else "charge_already_refunded",
                param="amount",
            )
        refund = self._new(
            "refunds",
            {
                "amount": amount,
                "charge": charge_id,
                "currency": charge["currency"],
                "metadata": meta,
                "payment_intent": charge["payment_intent"],
                "reason": text(params, "reason"),
                "status": "succeeded",
            },
        )
        before = dict(charge)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self._save("charges", charge, before, "charge.refunded")
        return refund

    # --- update ---

    def update(self, path: str, id_: str, params: Json) -> Json:
        obj = self._get(path, id_)
        before = dict(obj)
        writable = RESOURCES[path].writable - {"confirm", "customer", "currency", "product", "invoice", "id"}
        for name in writable:
            if name in params and name not in ("metadata",):
                value = params[name]
                if name in ("amount", "unit_amount", "quantity"):
                    value = integer(params, name)
                elif name == "active":
                    value = boolean(params, name)
                obj[name] = value if value != "" else None
        if "metadata" in params:
            obj["metadata"] = metadata(obj.get("metadata"), params["metadata"])
        if path == "products":
            obj["updated"] = self._now()
        return self._save(path, obj, before)

    def delete(self, path: str, id_: str) -> Json:
        obj = self._get(path, id_)
        if path == "invoices" and obj["status"] != "draft":
            raise fail(400, "You can only delete draft invoices.", code="invoice_not_editable")
        self.store.delete(path, id_)
        self._emit(f"{obj['object']}.deleted", obj)
        return {"id": id_, "object": obj["object"], "deleted": True}

    # --- actions ---

    def act(self, path: str, id_: str, action: str, params: Json) -> Json:
        obj = self._get(path, id_)
        before = dict(obj)
        if path == "payment_intents" and action == "confirm":
            method = text(params, "payment_method") or obj["payment_method"]
            if obj["status"] not in ("requires_payment_method", "requires_confirmation"):
                raise _state(obj, "confirm")
            if not method:
                raise fail(
                    400,
                    "You cannot confirm this PaymentIntent because it's missing a payment method.",
                    code="payment_intent_unexpected_state",
                    param="payment_method",
                )
            obj["payment_method"] = method
            if method == DECLINED:
                error = {
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": "Your card was declined.",
                    "type": "card_error",
                }
                obj |= {"status": "requires_payment_method", "last_payment_error": error}
                self._save(path, obj, before, "payment_intent.payment_failed")
                raise fail(
                    402,
                    "Your card was declined.",
                    kind="card_error",
                    code="card_declined",
                    decline_code="generic_decline",
                    payment_intent=obj,
                )
            if method not in SUCCESSFUL and not method.startswith("pm_"):
                raise fail(
                    400, f"No such PaymentMethod: '{method}'", code="resource_missing", param="payment_method"
                )
            if obj["capture_method"] == "manual":
                obj |= {"status": "requires_capture", "amount_capturable": obj["amount"]}
                return self._save(path, obj, before, "payment_intent.amount_capturable_updated")
            return self._succeed(obj, before)
        if path == "payment_intents" and action == "capture":
            if obj["status"] != "requires_capture":
                raise _state(obj, "capture")
            return self._succeed(obj | {"amount_capturable": 0}, before)
        if path == "payment_intents" and action == "cancel":
            if obj["status"] in ("succeeded", "canceled"):
                raise _state(obj, "cancel")
            obj |= {
                "status": "canceled",
                "canceled_at": self._now(),
                "cancellation_reason": text(params, "cancellation_reason"),
            }
            return self._save(path, obj, before, "payment_intent.canceled")
        if path == "invoices" and action in ("finalize", "pay", "void", "send"):
            return self._invoice_action(obj, before, action)
        raise fail(404, f"Unrecognized request URL (POST: /v1/{path}/{id_}/{action}).")

    def _succeed(self, intent: Json, before: Json) -> Json:
        charge = self._new(
            "charges",
            {
                "amount": intent["amount"],
                "amount_captured": intent["amount"],
                "amount_refunded": 0,
                "balance_transaction": None,
                "billing_details": {"email": intent["receipt_email"]},
                "captured": True,
                "currency": intent["currency"],
                "customer": intent["customer"],
                "description": intent["description"],
                "failure_code": None,
                "metadata": dict(intent["metadata"]),
                "paid": True,
                "payment_intent": intent["id"],
                "payment_method": intent["payment_method"],
                "receipt_email": intent["receipt_email"],
                "refunded": False,
                "status": "succeeded",
            },
        )
        self._emit("charge.succeeded", charge)
        intent |= {
            "status": "succeeded",
            "amount_received": intent["amount"],
            "latest_charge": charge["id"],
            "last_payment_error": None,
        }
        return self._save("payment_intents", intent, before, "payment_intent.succeeded")

    def _invoice_action(self, invoice: Json, before: Json, action: str) -> Json:
        status, now = invoice["status"], self._now()
        transitions = invoice["status_transitions"]
        if action == "finalize":
            if status != "draft":
                raise _state(invoice, "finalize")
            number = f"ISAO-{self.store.next_id('invoice_numbers', start=1):04d}"
            invoice |= {
                "status": "open",
                "number": number,
                "hosted_invoice_url": f"{self.base_url}/i/{invoice['id']}",
            }
            transitions["finalized_at"] = now
            if invoice["total"] == 0:
                invoice |= {"status": "paid", "paid": True}
                transitions["paid_at"] = now
            return self._save("invoices", invoice, before, "invoice.finalized")
        if action == "pay":
            if status != "open":
                raise _state(invoice, "pay")
            invoice |= {
                "status": "paid",
                "paid": True,
                "amount_paid": invoice["amount_due"],
                "amount_remaining": 0,
            }
            transitions["paid_at"] = now
            return self._save("invoices", invoice, before, "invoice.paid")
        if action == "void":
            if status != "open":
                raise _state(invoice, "void")
            invoice["status"] = "void"
            transitions["voided_at"] = now
            return self._save("invoices", invoice, before, "invoice.voided")
        if status != "open":
            raise _state(invoice, "send")
        self._emit("invoice.sent", invoice)
        return invoice


def _state(obj: Json, action: str) -> Exception:
    kind = obj["object"]
    error = fail(
        400,
        f"You cannot {action} this {kind} because it has a status of {obj['status']}.",
        code=f"{kind}_unexpected_state",
    )
    error.body["error"][kind] = obj
    return error


def _raise(error: Exception) -> Any:
    raise error
