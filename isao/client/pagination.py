"""One page of a list answer, and where the next one starts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from isao.client.errors import InvalidResponseError

Record = dict[str, Any]

#: ``iterate`` asks for the largest page the API allows: fewer round trips, fewer rate-limit hits.
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page:
    """``data`` holds the records as plain dicts; the counts mirror the answer's ``meta``."""

    data: list[Record]
    page: int
    limit: int
    total: int
    total_pages: int
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_body(cls, body: Mapping[str, Any], status_code: int = 200) -> Page:
        data, meta = body.get("data"), body.get("meta")
        if not isinstance(data, list) or not isinstance(meta, Mapping):
            raise InvalidResponseError("list answer without data list and meta", status_code, body)
        try:
            return cls(
                data=list(data),
                page=int(meta["page"]),
                limit=int(meta["limit"]),
                total=int(meta["total"]),
                total_pages=int(meta["totalPages"]),
                meta=dict(meta),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidResponseError(f"list answer with unreadable meta: {exc}", status_code, body) from exc

    @property
    def has_next(self) -> bool:
        return bool(self.data) and self.page < self.total_pages

    def __iter__(self) -> Iterator[Record]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def first_page_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """The filters for ``iterate``'s first request: page 1 (unless given) at ``MAX_LIMIT`` (unless given)."""
    start = dict(filters)
    start.setdefault("page", 1)
    start.setdefault("limit", MAX_LIMIT)
    return start
