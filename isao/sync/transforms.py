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
    """The non-empty parts joined: ``join(first_name, last_name)``; a list joins its items
    (``join(pluck(items, "sku"), sep=",")``)."""
    flat = [item for part in parts for item in (part if isinstance(part, list | tuple) else [part])]
    return sep.join(str(part).strip() for part in flat if part not in (None, "") and str(part).strip())


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


def timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text (with ``Z`` or an offset), epoch seconds or milliseconds."""
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
    parsed = timestamp(value)
    return parsed.strftime(fmt) if parsed else None


def iso(value: Any) -> str | None:
    """ISO 8601 in UTC with milliseconds and ``Z``, as ISAO's API writes dates."""
    parsed = timestamp(value)
    if parsed is None:
        return None
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_ms(value: Any) -> int | None:
    """Milliseconds since the epoch (HubSpot date properties)."""
    parsed = timestamp(value)
    return int(parsed.timestamp() * 1000) if parsed else None


def days_after(value: Any, days: int, fmt: str = "%Y-%m-%d") -> str | None:
    """``days_after(date_created_gmt, 30)``: an expected closing date."""
    parsed = timestamp(value)
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


def _path(item: Any, key: str) -> Any:
    for part in key.split("."):
        item = item.get(part) if isinstance(item, dict) else None
    return item


def pluck(items: Iterable[dict[str, Any]] | None, key: str) -> list[Any]:
    """``pluck(line_items, "sku")`` → the SKUs; the key may be a path (``properties.hs_sku``)."""
    return [_path(item, key) for item in items or [] if isinstance(item, dict)]


def where(items: Iterable[dict[str, Any]] | None, key: str, *values: Any) -> list[dict[str, Any]]:
    """The items whose ``key`` is one of ``values``: ``where(lookups.orders, "status", "completed")``."""
    wanted = {str(v) for v in values}
    return [item for item in items or [] if isinstance(item, dict) and str(_path(item, key)) in wanted]


def pick(items: Iterable[dict[str, Any]] | None, *keys: str) -> list[dict[str, Any]]:
    """Each item cut down to ``keys``: ``pick(lines, "product_id", "quantity")`` for a shop's line items."""
    return [{k: item.get(k) for k in keys} for item in items or [] if isinstance(item, dict)]


def hours_ago(hours: Any, fmt: str = "%Y-%m-%dT%H:%M:%S") -> str:
    """The UTC time ``hours`` ago: ``before: "{hours_ago(abandoned_after_hours)}"``."""
    return (datetime.now(UTC) - timedelta(hours=float(hours))).strftime(fmt)


def order_lines(
    items: Iterable[dict[str, Any]] | None, products: Iterable[dict[str, Any]] | None,
    sku: str = "properties.hs_sku", quantity: str = "properties.quantity", price: str = "properties.price",
) -> list[dict[str, Any]]:  # fmt: skip
    """A CRM's line items matched by SKU to a shop's products: ``{sku, quantity, price, product_id,
    product_price, stock}`` each (``product_id`` None when no product has the SKU; ``stock`` None when the
    shop does not count it). The checks ``unavailable`` and ``repriced`` read these."""
    by_sku = {str(p.get("sku")): p for p in products or [] if isinstance(p, dict) and p.get("sku")}
    lines = []
    for item in items or []:
        code = str(_path(item, sku) or "")
        product = by_sku.get(code) or {}
        counted = product.get("manage_stock") and product.get("stock_quantity") is not None
        lines.append({
            "sku": code, "quantity": integer(_path(item, quantity)) or 1, "price": number(_path(item, price)),
            "product_id": product.get("id"), "product_price": number(product.get("price")),
            "stock": integer(product.get("stock_quantity")) if counted else None,
            "in_stock": product.get("stock_status", "instock") != "outofstock",
        })  # fmt: skip
    return lines


def unavailable(lines: Iterable[dict[str, Any]] | None) -> list[str]:
    """``["MUG-9 (no such product)", "MUG-1 (3 wanted, 1 in stock)"]``: lines a shop cannot fill."""
    problems = []
    for line in lines or []:
        if line.get("product_id") is None:
            problems.append(f"{line.get('sku') or '(no SKU)'} (no such product)")
        elif not line.get("in_stock") or (line.get("stock") is not None and line["stock"] < line["quantity"]):
            problems.append(f"{line['sku']} ({line['quantity']} wanted, {line.get('stock') or 0} in stock)")
    return problems


def repriced(lines: Iterable[dict[str, Any]] | None) -> list[str]:
    """Lines whose price differs from the shop's: ``["MUG-1 (deal 9.00, shop 12.00)"]``."""
    return [
        f"{line['sku']} (deal {line['price']}, shop {line['product_price']})"
        for line in lines or []
        if line.get("product_id") is not None and None not in (line.get("price"), line.get("product_price"))
        and line["price"] != line["product_price"]
    ]  # fmt: skip


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
    "where": where,
    "pick": pick,
    "hours_ago": hours_ago,
    "order_lines": order_lines,
    "unavailable": unavailable,
    "repriced": repriced,
    "sum": total,
    "count": count,
    "lower": lower,
    "upper": upper,
}
