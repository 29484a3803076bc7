"""HubSpot connector.

Webhooks section: signature v3 only. ``X-HubSpot-Signature-v3`` is
base64(HMAC-SHA256(app client secret, METHOD + URI + raw body + timestamp)) with the timestamp (Unix
milliseconds) from ``X-HubSpot-Request-Timestamp``; requests older than 5 minutes are refused. The
v1/v2 signatures HubSpot still sends sign no timestamp (replayable forever), so they are not accepted.
Sources: HubSpot "Validating requests" and changelog "Introducing version 3 of webhook signatures";
hubspot-api-python ``utils/signature.py``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from isao.connectors._signing import b64, header, hmac_sha256, lower_keys, parse_json, require_secret, same
from isao.errors import SignatureInvalid

# --- Webhooks -------------------------------------------------------------------------------------

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE_MS = 5 * 60 * 1000
# HubSpot decodes these escapes in the URI before signing (its documented table). Percent-escapes are
# case-insensitive (RFC 3986), so lower-case hex is decoded too.
_DECODED = {"3A": ":", "2F": "/", "3F": "?", "40": "@", "21": "!", "24": "$", "27": "'", "28": "(",
            "29": ")", "2A": "*", "2C": ",", "3B": ";"}  # fmt: skip
_ESCAPE = re.compile("%(" + "|".join(_DECODED) + ")", re.IGNORECASE)
_MAX_ID_LENGTH = 200


def signed_uri(url: str) -> str:
    """The URI as HubSpot puts it in the signed string: the full URL it called with the listed
    escapes decoded (anything else, e.g. ``%20``, stays encoded)."""
    return _ESCAPE.sub(lambda match: _DECODED[match.group(1).upper()], url)


def _signature(secret: str, method: str, url: str, body: bytes, timestamp: str) -> str:
    source = (method.upper() + signed_uri(url)).encode("utf-8") + body + timestamp.encode("ascii")
    return b64(hmac_sha256(secret, source))


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    url: str,
    method: str = "POST",
    now: float,
) -> None:
    """Raise ``SignatureInvalid`` unless the v3 signature matches and the timestamp is at most
    5 minutes old. ``url`` must be the public URL HubSpot called (scheme, host, path and query as
    configured in the app), not the one a proxy forwarded. Like HubSpot's SDKs, only the age is
    limited, so a receiver whose clock lags does not refuse real events."""
    require_secret(secret, "hubspot")
    normalised = lower_keys(headers)
    given = header(normalised, SIGNATURE_HEADER.lower())
    if given is None:
        raise SignatureInvalid(
            f"hubspot: missing {SIGNATURE_HEADER} header (v1/v2 signatures are not accepted)"
        )
    timestamp = header(normalised, TIMESTAMP_HEADER.lower())
    if timestamp is None:
        raise SignatureInvalid(f"hubspot: missing {TIMESTAMP_HEADER} header")
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise SignatureInvalid(f"hubspot: {TIMESTAMP_HEADER} is not a Unix time in milliseconds")
    if not same(_signature(secret, method, url, body, timestamp), given):
        raise SignatureInvalid(
            f"hubspot: {SIGNATURE_HEADER} does not match the method, URL, body, timestamp and secret"
        )
    if now * 1000 - int(timestamp) > MAX_AGE_MS:
        raise SignatureInvalid(f"hubspot: request timestamp {timestamp} is older than 5 minutes")


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """HubSpot has no unsigned ping."""
    return False


def _events(body: bytes) -> list[dict[str, object]] | None:
    events = parse_json(body)
    if not isinstance(events, list) or not events:
        return None
    if not all(isinstance(event, dict) and "eventId" in event for event in events):
        return None
    return events


def delivery_id(headers: Mapping[str, str], body: bytes) -> str | None:
    """A stable id for the batch: HubSpot retries resend the same events, but ``attemptNumber``
    changes, so the body hash would differ. ``eventId`` alone is not guaranteed unique, so each event
    is keyed by ``subscriptionId:eventId:occurredAt``; long batches are hashed to bound the length."""
    events = _events(body)
    if events is None:
        return None
    keys = sorted(
        ":".join(str(event.get(field, "")) for field in ("subscriptionId", "eventId", "occurredAt"))
        for event in events
    )
    joined = ",".join(keys)
    if len(joined) > _MAX_ID_LENGTH:
        return "hubspot:sha256:" + hashlib.sha256(joined.encode("utf-8")).hexdigest()
    return "hubspot:" + joined


def topic(headers: Mapping[str, str], body: bytes) -> str | None:
    """The ``subscriptionType`` of the batch's first event, e.g. ``contact.propertyChange`` (a batch
    can mix types; the events themselves carry theirs)."""
    events = _events(body)
    kind = events[0].get("subscriptionType") if events else None
    return kind if isinstance(kind, str) and kind else None


def sign(secret: str, method: str, url: str, body: bytes, timestamp_ms: int) -> dict[str, str]:
    """The v3 headers HubSpot sends for a request to ``url`` at ``timestamp_ms`` (Unix ms)."""
    timestamp = str(int(timestamp_ms))
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: _signature(secret, method, url, body, timestamp),
        TIMESTAMP_HEADER: timestamp,
    }
