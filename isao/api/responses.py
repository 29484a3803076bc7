"""The envelopes ``{"success": true, "data", "meta"}`` and ``{"success": false, "error"}``, as orjson."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi.responses import JSONResponse

from isao.crm.listing import Page


class Json(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok(data: Any, status_code: int = 200, meta: Mapping[str, Any] | None = None) -> Json:
    body: dict[str, Any] = {"success": True, "data": data}
    if meta is not None:
        body["meta"] = meta
    return Json(body, status_code=status_code)


def page_meta(page: Page, total: int) -> dict[str, int]:
    return {
        "page": page.page,
        "limit": page.limit,
        "total": total,
        "totalPages": math.ceil(total / page.limit) if total else 0,
    }


def error(status_code: int, error: str, headers: Mapping[str, str] | None = None, **extra: Any) -> Json:
    return Json({"success": False, "error": error, **extra}, status_code=status_code, headers=headers)
