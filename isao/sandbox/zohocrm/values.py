"""Zoho's timestamps and dates, and how stored values compare."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any


def _stamp(epoch: float) -> str:
    """Zoho's ``yyyy-MM-ddTHH:mm:ss±HH:MM`` (the sandbox's org runs on UTC)."""
    return datetime.fromtimestamp(math.floor(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _parse_stamp(value: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _valid_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _same_value(stored: Any, given: Any) -> bool:
    """Zoho's duplicate checks and searches ignore case in text."""
    if isinstance(stored, str) and isinstance(given, str):
        return stored.strip().lower() == given.strip().lower()
    return bool(stored == given)
