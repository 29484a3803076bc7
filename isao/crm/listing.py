"""Shared list mechanics: filters on dates, the ``sort`` parameter and page/limit with a total."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
