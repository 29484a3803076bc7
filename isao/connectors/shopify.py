"""Shopify connector.

Webhooks section: Shopify signs the raw body with the app's client secret (base64 HMAC-SHA256) and
sends no timestamp. Header names are case-insensitive; the newer "Events" deliveries use the same
names without the ``X-`` prefix, so both spellings are read. Source: shopify.dev "Verify webhook
deliveries", "Webhooks delivery structure".
"""

from __future__ import annotations

from collections.abc import Mapping

from isao.connectors._signing import b64, header, hmac_sha256, lower_keys, require_secret, same
from isao.errors import SignatureInvalid

# --- Webhooks -------------------------------------------------------------------------------------

SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"


def _get(headers: Mapping[str, str], name: str) -> str | None:
    """``name`` without its ``x-`` prefix: read ``X-Shopify-<name>``, then ``Shopify-<name>``."""
    return header(lower_keys(headers), f"x-shopify-{name}", f"shopify-{name}")


def _signature(secret: str, body: bytes) -> str:
    return b64(hmac_sha256(secret, body))


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    url: str,
    method: str = "POST",
    now: float,
) -> None:
    """Raise ``SignatureInvalid`` unless ``X-Shopify-Hmac-Sha256`` is base64(HMAC-SHA256(secret, body)).
    No timestamp is signed, so replays are caught by dedupe on the webhook id, not here."""
    require_secret(secret, "shopify")
    given = _get(headers, "hmac-sha256")
    if given is None:
        raise SignatureInvalid(f"shopify: missing {SIGNATURE_HEADER} header")
    if not same(_signature(secret, body), given):
        raise SignatureInvalid(f"shopify: {SIGNATURE_HEADER} does not match the body and secret")


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """Shopify has no unsigned ping."""
    return False


def delivery_id(headers: Mapping[str, str], body: bytes) -> str | None:
    """``X-Shopify-Webhook-Id`` (the same on every retry of one delivery), else ``X-Shopify-Event-Id``."""
    return _get(headers, "webhook-id") or _get(headers, "event-id")


def topic(headers: Mapping[str, str], body: bytes) -> str | None:
    """E.g. ``orders/create``."""
    return _get(headers, "topic")


def sign(
    secret: str,
    body: bytes,
    *,
    topic: str | None = None,
    webhook_id: str | None = None,
    shop_domain: str | None = None,
) -> dict[str, str]:
    """The headers Shopify sends with ``body``; the optional ones are added when given."""
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: _signature(secret, body)}
    if topic is not None:
        headers["X-Shopify-Topic"] = topic
    if webhook_id is not None:
        headers["X-Shopify-Webhook-Id"] = webhook_id
    if shop_domain is not None:
        headers["X-Shopify-Shop-Domain"] = shop_domain
    return headers
