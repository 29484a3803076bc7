"""Webhook signatures as providers compute them: HMAC-SHA256 over bytes, as base64 or hex. Each provider
composes the message its own way (WooCommerce and Shopify the body, Stripe ``"{t}.{body}"``, HubSpot v3
method + URI + body + timestamp) and calls one of these."""

from __future__ import annotations

import base64
import hashlib
import hmac


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def hmac_b64(secret: str | bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(_key(secret), message, hashlib.sha256).digest()).decode()


def hmac_hex(secret: str | bytes, message: bytes) -> str:
    return hmac.new(_key(secret), message, hashlib.sha256).hexdigest()
