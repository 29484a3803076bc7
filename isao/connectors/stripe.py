"""Stripe connector.

Webhooks section: ``Stripe-Signature: t=<unix s>,v1=<hex>[,v1=<hex>...]`` where each ``v1`` is
hex(HMAC-SHA256(endpoint secret, f"{t}.{raw body}")). Several ``v1`` values appear while a secret is
being rolled; any match passes. Other schemes (``v0``) are ignored. Source: stripe-python
``stripe/_webhook.py`` (``WebhookSignature``, ``DEFAULT_TOLERANCE``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from isao.connectors._signing import header, hmac_sha256, lower_keys, parse_json, require_secret, same
from isao.errors import SignatureInvalid

# --- Webhooks -------------------------------------------------------------------------------------

SIGNATURE_HEADER = "Stripe-Signature"
TOLERANCE_SECONDS = 300


def _signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac_sha256(secret, timestamp.encode("ascii") + b"." + body).hex()


def _parse(value: str) -> tuple[str, list[str]]:
    """The first ``t`` and every ``v1`` of the header."""
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in value.split(","):
        key, _, item_value = item.strip().partition("=")
        if key == "t":
            timestamps.append(item_value)
        elif key == "v1":
            signatures.append(item_value)
    if not timestamps or not timestamps[0].isascii() or not timestamps[0].isdigit():
        raise SignatureInvalid(f"stripe: {SIGNATURE_HEADER} has no valid t= timestamp")
    if not signatures:
        raise SignatureInvalid(f"stripe: {SIGNATURE_HEADER} has no v1 signature")
    return timestamps[0], signatures


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    url: str,
    method: str = "POST",
    now: float,
) -> None:
    """Raise ``SignatureInvalid`` unless some ``v1`` matches and ``t`` is at most 300 s old. Like
    Stripe's SDK, only the age is limited: a receiver whose clock lags must not refuse real events."""
    require_secret(secret, "stripe")
    value = header(lower_keys(headers), SIGNATURE_HEADER.lower())
    if value is None:
        raise SignatureInvalid(f"stripe: missing {SIGNATURE_HEADER} header")
    timestamp, signatures = _parse(value)
    expected = _signature(secret, timestamp, body)
    # Check every candidate (no early exit) so timing does not reveal which one matched.
    if not any([same(expected, candidate) for candidate in signatures]):  # noqa: C419
        raise SignatureInvalid(f"stripe: no v1 signature in {SIGNATURE_HEADER} matches the body and secret")
    if int(timestamp) < now - TOLERANCE_SECONDS:
        raise SignatureInvalid(
            f"stripe: timestamp {timestamp} is outside the {TOLERANCE_SECONDS} s tolerance window"
        )


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """Stripe has no unsigned ping."""
    return False


def _event_field(body: bytes, name: str) -> str | None:
    event = parse_json(body)
    value = event.get(name) if isinstance(event, dict) else None
    return value if isinstance(value, str) and value else None


def delivery_id(headers: Mapping[str, str], body: bytes) -> str | None:
    """The event's ``id`` (``evt_...``), the same on every retry."""
    return _event_field(body, "id")


def topic(headers: Mapping[str, str], body: bytes) -> str | None:
    """The event's ``type``, e.g. ``payment_intent.succeeded``."""
    return _event_field(body, "type")


def sign(secret: str, body: bytes, timestamp: int, *, previous_secrets: Sequence[str] = ()) -> dict[str, str]:
    """The headers Stripe sends with ``body`` at ``timestamp`` (Unix seconds); during a secret roll
    Stripe adds a ``v1`` for each still-valid older secret, which ``previous_secrets`` reproduces."""
    t = str(int(timestamp))
    v1 = ",".join(f"v1={_signature(s, t, body)}" for s in (secret, *previous_secrets))
    return {"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: f"t={t},{v1}"}
