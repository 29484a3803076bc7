"""WooCommerce connector.

Webhooks section: WooCommerce signs the exact body bytes it sends (``trim(wp_json_encode(payload))``,
which escapes ``/`` as ``\\/``), so verification must use the raw bytes received, never a re-encoding.
Source: woocommerce ``includes/class-wc-webhook.php`` (``generate_signature``, ``deliver_ping``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from isao.connectors._signing import b64, header, hmac_sha256, lower_keys, require_secret, same
from isao.errors import SignatureInvalid

# --- Webhooks -------------------------------------------------------------------------------------

SIGNATURE_HEADER = "X-WC-Webhook-Signature"
_PING_BODY = re.compile(rb"\s*webhook_id=\d+\s*")
# The entities wp_specialchars_decode(..., ENT_QUOTES) turns back into characters.
_ENTITY = re.compile(r"&(?:(lt|gt|quot|amp)|#0*(60|62|34|39|38)|#[xX]0*(22|27|26));")
_NAMED = {"lt": "<", "gt": ">", "quot": '"', "amp": "&"}


def _wp_specialchars_decode(secret: str) -> str:
    """WooCommerce keys the HMAC with ``wp_specialchars_decode(secret, ENT_QUOTES)``; mirror it (one pass,
    the same entities) so a secret copied in its stored, entity-encoded form (``a&amp;b``) still verifies."""
    return _ENTITY.sub(_entity_char, secret)


def _entity_char(match: re.Match[str]) -> str:
    name, decimal, hexadecimal = match.groups()
    if decimal:
        return chr(int(decimal))
    if hexadecimal:
        return chr(int(hexadecimal, 16))
    return _NAMED[name]


def _signature(secret: str, body: bytes) -> str:
    return b64(hmac_sha256(_wp_specialchars_decode(secret), body))


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    url: str,
    method: str = "POST",
    now: float,
) -> None:
    """Raise ``SignatureInvalid`` unless ``X-WC-Webhook-Signature`` is base64(HMAC-SHA256(secret, body)).
    WooCommerce sends no timestamp, so there is no replay window to check (dedupe covers replays)."""
    require_secret(secret, "woocommerce")
    given = header(lower_keys(headers), SIGNATURE_HEADER.lower())
    if given is None:
        raise SignatureInvalid(f"woocommerce: missing {SIGNATURE_HEADER} header")
    if not same(_signature(secret, body), given):
        raise SignatureInvalid(f"woocommerce: {SIGNATURE_HEADER} does not match the body and secret")


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """The unsigned form post ``webhook_id=<id>`` WooCommerce sends when a webhook is created; it
    must be answered 200 (or the admin sees an error) and must not be treated as an event."""
    normalised = lower_keys(headers)
    if any(name.startswith("x-wc-webhook-") for name in normalised):
        return False
    return _PING_BODY.fullmatch(body) is not None


def delivery_id(headers: Mapping[str, str], body: bytes) -> str | None:
    return header(lower_keys(headers), "x-wc-webhook-delivery-id")


def topic(headers: Mapping[str, str], body: bytes) -> str | None:
    """E.g. ``order.created``."""
    return header(lower_keys(headers), "x-wc-webhook-topic")


def sign(
    secret: str,
    body: bytes,
    *,
    topic: str | None = None,
    webhook_id: int | str | None = None,
    delivery_id: str | None = None,
    source: str | None = None,
) -> dict[str, str]:
    """The headers WooCommerce sends with ``body`` (for sandboxes, tests and load generators); the
    optional ones are added when given, with ``X-WC-Webhook-Resource``/``-Event`` split from ``topic``."""
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: _signature(secret, body)}
    if topic is not None:
        resource, _, event = topic.partition(".")
        headers |= {
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
        }
    if webhook_id is not None:
        headers["X-WC-Webhook-ID"] = str(webhook_id)
    if delivery_id is not None:
        headers["X-WC-Webhook-Delivery-ID"] = delivery_id
    if source is not None:
        headers["X-WC-Webhook-Source"] = source
    return headers
