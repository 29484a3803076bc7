"""Timestamps and numbers the way HubSpot writes and reads them."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _iso(ms: int) -> str:
    """HubSpot's timestamps: UTC, millisecond precision, ``Z``."""
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _parse_time(value: str) -> int | None:
    """Epoch milliseconds from either epoch milliseconds or ISO 8601 (what HubSpot accepts for dates)."""
    text = value.strip()
    if re.fullmatch(r"-?\d{1,15}", text):
        return int(text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _format_number(number: float) -> str:
    return str(int(number)) if number == int(number) else repr(round(number, 10))
