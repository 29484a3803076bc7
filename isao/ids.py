"""Prefixed, time-ordered identifiers such as ``deal_01hx…``: readable in logs, sortable, unguessable."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_lock = threading.Lock()
_last = (0, 0)


def _b32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A monotonic ULID behind ``prefix_``: 48 bits of milliseconds, then 80 random bits.

    Within one millisecond the random part is incremented, so ids made by this process sort in
    creation order (events of one transaction keep their order).
    """
    global _last
    millis = time.time_ns() // 1_000_000
    with _lock:
        last_millis, last_rand = _last
        if millis <= last_millis:
            millis, rand = last_millis, last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # headroom for increments
        _last = (millis, rand)
    return f"{prefix}_{_b32(millis, 10)}{_b32(rand, 16)}"
