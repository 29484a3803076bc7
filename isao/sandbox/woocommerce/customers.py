"""Customers: writing them with WooCommerce's e-mail and username rules, usernames and avatars."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from isao.sandbox.woocommerce.call import _event
from isao.sandbox.woocommerce.constants import _BILLING_KEYS, _SHIPPING_KEYS
from isao.sandbox.woocommerce.core import _Core, _meta
from isao.sandbox.woocommerce.formats import _is_email
from isao.sandbox.woocommerce.replies import WPError, _invalid_params, _missing_params
from isao.sandbox.woocommerce.schema import CUSTOMER_SPECS, _validate


class CustomerRecords(_Core):
    """Creating and updating customers."""

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
