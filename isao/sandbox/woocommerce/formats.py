"""WordPress and WooCommerce value formatting: dates, e-mail addresses, money and decimals, slugs,
HTML entities and PHP's ``rawurlencode``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

_TWO_PLACES = Decimal("0.01")


def _wp_list(items: Iterable[str]) -> str:
    """``wp_sprintf('%l')``: "a", "a and b", "a, b, and c"."""
    words = list(items)
    if len(words) <= 2:
        return " and ".join(words)
    return ", ".join(words[:-1]) + ", and " + words[-1]


def _stamp(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%S")


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|z|[+-]\d{2}(?::\d{2})?)?$"
)


def _parse_date(value: str) -> int | None:
    """Epoch seconds of a ``rest_parse_date`` date (no offset = the site's timezone, UTC here)."""
    match = _RFC3339.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError:
        return None
    offset = 0
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        hours, _, minutes = zone[1:].partition(":")
        offset = sign * (int(hours) * 3600 + int(minutes or 0) * 60)
    return int(moment.timestamp()) - offset


_EMAIL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")


def _is_email(value: str) -> bool:
    return len(value) >= 6 and _EMAIL.match(value) is not None


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _money(value: Decimal) -> str:
    return f"{value.quantize(_TWO_PLACES, rounding=ROUND_HALF_UP):f}"


def _format_decimal(value: str) -> str:
    """``wc_format_decimal`` without rounding: keep digits, one point and a sign; garbage becomes ""."""
    cleaned = re.sub(r"[^0-9.\-]", "", value)
    try:
        Decimal(cleaned)
    except InvalidOperation:
        return ""
    return cleaned


def _number(value: Decimal) -> int | float:
    """PHP arithmetic on numeric strings: an integral result stays an integer in the JSON."""
    return int(value) if value == value.to_integral_value() else float(value)


def _sanitize_title(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "product"


_ENTITY = re.compile(r"&(?:(lt|gt|quot|amp)|#0*(60|62|34|39|38)|#[xX]0*(22|27|26));")


def _specialchars_decode(text: str) -> str:
    """``wp_specialchars_decode($text, ENT_QUOTES)``: the webhook HMAC key is the decoded secret."""

    def char(match: re.Match[str]) -> str:
        named, decimal, hexadecimal = match.groups()
        if decimal:
            return chr(int(decimal))
        if hexadecimal:
            return chr(int(hexadecimal, 16))
        return {"lt": "<", "gt": ">", "quot": '"', "amp": "&"}[named]

    return _ENTITY.sub(char, text)


def _rfc3986(text: str) -> str:
    """PHP ``rawurlencode``: everything but ``A-Za-z0-9-_.~`` percent-encoded."""
    return quote(text, safe="")
