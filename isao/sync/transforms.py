"""Named transforms a recipe mapping may call (``e164(billing.phone, billing.country)``).

Adding one is a function here and a line in ``REGISTRY``; recipes refer to it by that name.
Every transform accepts ``None`` where a value may be missing and gives ``None`` (or "") back, so a
mapping does not fail on a shop that leaves a field out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import phonenumbers


def first_name(full: str | None) -> str | None:
    """``"Ada King Lovelace"`` → ``"Ada"``."""
    return full.split()[0] if full and full.split() else None


def last_name(full: str | None) -> str | None:
    """``"Ada King Lovelace"`` → ``"King Lovelace"``; a single word is the last name (CRMs require one)."""
    words = (full or "").split()
    if not words:
        return None
    return " ".join(words[1:]) if len(words) > 1 else words[0]


def join(*parts: Any, sep: str = " ") -> str:
    """The non-empty parts joined: ``join(first_name, last_name)``."""
    return sep.join(str(part).strip() for part in parts if part not in (None, "") and str(part).strip())


def e164(phone: str | None, region: str | None = None, default_region: str = "FR") -> str | None:
    """The number in E.164 (``+33123456789``), read in ``region`` (a country code) when it has no ``+``;
    the raw text when it is not a valid number, so nothing the customer typed is lost."""
    if not phone or not str(phone).strip():
        return None
    try:
        parsed = phonenumbers.parse(str(phone), (region or default_region).upper())
    except phonenumbers.NumberParseException:
        return str(phone).strip()
    if not phonenumbers.is_valid_number(parsed):
        return str(phone).strip()
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def money(value: Any, places: int = 2) -> Decimal | None:
    """Exact, rounded half up: ``money("12.345")`` → ``Decimal("12.35")``."""
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount") from None


def number(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None


def _datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float):
        parsed = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    else:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def date_(value: Any, fmt: str = "%Y-%m-%d") -> str | None:
    """A date or timestamp (ISO 8601 or epoch) formatted: ``date(date_created_gmt)`` → ``2026-11-23``."""
    parsed = _datetime(value)
    return parsed.strftime(fmt) if parsed else None


def iso(value: Any) -> str | None:
    """ISO 8601 in UTC with milliseconds and ``Z``, as ISAO's API writes dates."""
    parsed = _datetime(value)
    if parsed is None:
        return None
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_ms(value: Any) -> int | None:
    """Milliseconds since the epoch (HubSpot date properties)."""
    parsed = _datetime(value)
    return int(parsed.timestamp() * 1000) if parsed else None


def days_after(value: Any, days: int, fmt: str = "%Y-%m-%d") -> str | None:
    """``days_after(date_created_gmt, 30)``: an expected closing date."""
    parsed = _datetime(value)
    return (parsed + timedelta(days=int(days))).strftime(fmt) if parsed else None


def today(days: int = 0, fmt: str = "%Y-%m-%d") -> str:
    return (datetime.now(UTC) + timedelta(days=int(days))).strftime(fmt)


def items_summary(items: Iterable[dict[str, Any]] | None, sep: str = "\n") -> str:
    """``2 x Blue Shirt (SKU BS-1) = 40.00`` per line item, as the seeds' deal descriptions list them."""
    lines = []
    for item in items or []:
        line = f"{item.get('quantity', 1)} x {item.get('name') or item.get('product_id') or 'item'}"
        if item.get("sku"):
            line += f" (SKU {item['sku']})"
        if item.get("total") not in (None, ""):
            line += f" = {item['total']}"
        lines.append(line)
    return sep.join(lines)


def items_list(items: Iterable[dict[str, Any]] | None) -> str:
    """``Product A (x1), Product B (x2)``: the one-line form of seed 002's deal description."""
    return ", ".join(
        f"{item.get('name') or item.get('product_id')} (x{item.get('quantity', 1)})" for item in items or []
    )


def pluck(items: Iterable[dict[str, Any]] | None, key: str) -> list[Any]:
    """``pluck(line_items, "sku")`` → the SKUs."""
    return [item.get(key) for item in items or [] if isinstance(item, dict)]


def total(values: Iterable[Any] | None) -> Decimal:
    return sum((number(value) or Decimal(0) for value in values or []), Decimal(0))


def count(values: Iterable[Any] | None) -> int:
    return len(list(values or []))


def lower(value: Any) -> str | None:
    return str(value).lower() if value is not None else None


def upper(value: Any) -> str | None:
    return str(value).upper() if value is not None else None


def text(value: Any) -> str:
    if value is None:
        return ""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def integer(value: Any) -> int | None:
    found = number(value)
    return int(found) if found is not None else None


REGISTRY: dict[str, Callable[..., Any]] = {
    "first_name": first_name,
    "last_name": last_name,
    "join": join,
    "e164": e164,
    "money": money,
    "number": number,
    "int": integer,
    "str": text,
    "date": date_,
    "iso": iso,
    "epoch_ms": epoch_ms,
    "days_after": days_after,
    "today": today,
    "items_summary": items_summary,
    "items_list": items_list,
    "pluck": pluck,
    "sum": total,
    "count": count,
    "lower": lower,
    "upper": upper,
}
