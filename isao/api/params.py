"""Query parameters shared by the list endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query

from isao.crm.errors import Invalid
from isao.crm.listing import Page, Sort
from isao.timeutil import parse_iso

PageNo = Annotated[int, Query(ge=1, le=1_000_000, description="Page number (minimum: 1)")]
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page (maximum: 200)")]
SortParam = Annotated[Sort, Query(description="Order: createdAt or updatedAt, `-` for descending")]
Since = Annotated[
    str | None, Query(description="ISO 8601 date; inclusive", examples=["2024-11-01T00:00:00.000Z"])
]


def page(page: int, limit: int, sort: str) -> Page:
    return Page(page=page, limit=limit, sort=sort)


def since(name: str, value: str | None) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise Invalid({name: "Must be an ISO 8601 date, e.g. 2024-11-01T00:00:00.000Z"}) from None
