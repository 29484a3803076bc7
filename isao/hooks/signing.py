"""How ISAO signs its outgoing webhooks, and how a receiver checks them.

    X-Isao-Timestamp: 1731080000
    X-Isao-Signature: sha256=<hex HMAC-SHA256(secret, "1731080000." + raw body)>

The timestamp is inside the signed bytes, so a captured delivery cannot be replayed later with a
fresh timestamp; receivers refuse timestamps older than a few minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

TIMESTAMP = "X-Isao-Timestamp"
SIGNATURE = "X-Isao-Signature"
TOLERANCE = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def headers(secret: str, body: bytes, now: float) -> dict[str, str]:
    timestamp = int(now)
    return {TIMESTAMP: str(timestamp), SIGNATURE: signature(secret, timestamp, body)}


def verify(
    secret: str,
    received: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE,
) -> bool:
    """True when the delivery is authentic and recent. ``received`` may be any header mapping."""
    lowered = {key.lower(): value for key, value in received.items()}
    timestamp, sent = lowered.get(TIMESTAMP.lower(), ""), lowered.get(SIGNATURE.lower(), "")
    if not timestamp.isdigit() or not sent:
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), sent)
