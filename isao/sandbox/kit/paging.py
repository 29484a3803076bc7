"""Paging styles, as the providers answer them:

- ``numbered``: ``page`` and ``per_page`` with the totals (WordPress' ``X-WP-Total(Pages)``, Zoho Books'
  ``page_context``);
- ``Cursor``: an opaque string that holds where the next page starts (HubSpot's ``after``, Shopify's
  ``page_info``, GraphQL cursors);
- ``after_id``: ``starting_after`` / ``ending_before`` with ``has_more`` (Stripe);
- ``Locators``: a query's remaining records kept behind a locator (Salesforce's ``nextRecordsUrl``);
- ``connection``: a GraphQL connection with ``edges``, ``nodes`` and ``pageInfo`` (Shopify).
"""

from __future__ import annotations

import base64
import math
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

T = TypeVar("T")


@dataclass(frozen=True)
class Numbered:
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.per_page) if self.per_page else 0

    @property
    def more(self) -> bool:
        return self.page < self.pages


def numbered(
    items: Sequence[T], page: int, per_page: int, offset: int | None = None
) -> tuple[list[T], Numbered]:
    """Page ``page`` (1-based) of ``items``, or ``per_page`` items from ``offset`` when given."""
    start = offset if offset is not None else (page - 1) * per_page
    start = max(start, 0)
    return list(items[start : start + per_page]), Numbered(page, per_page, len(items))


class Cursor:
    """Opaque cursors: base64url of a small JSON object, so a client can only pass them back."""

    @staticmethod
    def encode(state: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(state)).decode().rstrip("=")

    @staticmethod
    def decode(cursor: str) -> dict[str, Any] | None:
        """None for anything this sandbox did not hand out."""
        try:
            state = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (ValueError, orjson.JSONDecodeError):
            return None
        return state if isinstance(state, dict) else None


def after_id(
    items: Sequence[T],
    key: Callable[[T], str],
    limit: int,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> tuple[list[T], bool] | None:
    """Stripe's paging over ``items`` in list order: the ``limit`` items after ``starting_after`` (or just
    before ``ending_before``) and whether more lie that way; None when the named item is not in the list."""
    ids = [key(item) for item in items]
    if starting_after is not None:
        if starting_after not in ids:
            return None
        rest = list(items[ids.index(starting_after) + 1 :])
        return rest[:limit], len(rest) > limit
    if ending_before is not None:
        if ending_before not in ids:
            return None
        rest = list(items[: ids.index(ending_before)])
        return rest[-limit:], len(rest) > limit
    return list(items[:limit]), len(items) > limit


class Locators:
    """Results waiting behind a locator (Salesforce keeps a query cursor about 15 minutes)."""

    def __init__(
        self, lifetime: float = 900.0, keep: int = 200, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lifetime, self.keep, self._clock = lifetime, keep, clock
        self._held: dict[str, tuple[float, list[Any]]] = {}
        self._lock = threading.Lock()

    def hold(self, rest: list[Any]) -> str:
        locator = secrets.token_hex(8)
        with self._lock:
            now = self._clock()
            self._held = {k: v for k, v in self._held.items() if v[0] > now}
            while len(self._held) >= self.keep:
                self._held.pop(next(iter(self._held)))
            self._held[locator] = (now + self.lifetime, rest)
        return locator

    def take(self, locator: str) -> list[Any] | None:
        with self._lock:
            found = self._held.pop(locator, None)
        return found[1] if found and found[0] > self._clock() else None


def connection(
    items: Sequence[T],
    cursor_of: Callable[[T], str],
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
) -> tuple[list[tuple[str, T]], dict[str, Any]]:
    """A GraphQL connection's page: ``[(cursor, node)]`` and ``pageInfo``. Cursors name items, so a page
    stays right while items are added behind it."""
    cursors = [cursor_of(item) for item in items]
    start, end = 0, len(items)
    if after is not None and after in cursors:
        start = cursors.index(after) + 1
    if before is not None and before in cursors:
        end = cursors.index(before)
    window = list(range(start, end))
    if first is not None:
        window = window[:first]
    if last is not None:
        window = window[-last:] if last else []
    edges = [(cursors[i], items[i]) for i in window]
    info = {
        "hasNextPage": bool(window) and window[-1] < end - 1 if first is not None else end < len(items),
        "hasPreviousPage": bool(window) and window[0] > start if last is not None else start > 0,
        "startCursor": edges[0][0] if edges else None,
        "endCursor": edges[-1][0] if edges else None,
    }
    return edges, info
