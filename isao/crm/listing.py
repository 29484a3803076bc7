"""Shared list mechanics: filters on dates, the ``sort`` parameter and page/limit with a total."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

Sort = Literal["createdAt", "-createdAt", "updatedAt", "-updatedAt"]
SORTS: tuple[str, ...] = ("createdAt", "-createdAt", "updatedAt", "-updatedAt")


@dataclass(frozen=True)
class Page:
    page: int = 1
    limit: int = 50
    sort: str = "-createdAt"

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def since(query: Select[Any], column: Any, value: datetime | None) -> Select[Any]:
    """Inclusive, so a poller that passes back the last ``updatedAt`` it saw misses nothing."""
    return query if value is None else query.where(column >= value)


def paginate(session: Session, query: Select[Any], model: Any, page: Page) -> tuple[Sequence[Any], int]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    field = model.created_at if page.sort.endswith("createdAt") else model.updated_at
    if page.sort.startswith("-"):
        order = (field.desc(), model.id.desc())
    else:
        order = (field.asc(), model.id.asc())
    rows = session.scalars(query.order_by(*order).offset(page.offset).limit(page.limit)).unique().all()
    return rows, total
