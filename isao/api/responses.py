"""The envelopes ``{"success": true, "data", "meta"}`` and ``{"success": false, "error"}``, as orjson."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi.responses import JSONResponse
from starlette.responses import Response

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


def ok_page(data_json: str, meta: Mapping[str, Any]) -> Response:
    """A list envelope around a JSON array the database already rendered (``isao.crm.pages``)."""
    body = b'{"success":true,"data":' + data_json.encode() + b',"meta":' + orjson.dumps(meta) + b"}"
    return Response(body, media_type="application/json")


def page_meta(page: Page, total: int) -> dict[str, int]:
    return {
        "page": page.page,
        "limit": page.limit,
        "total": total,
        "totalPages": math.ceil(total / page.limit) if total else 0,
    }


def error(status_code: int, error: str, headers: Mapping[str, str] | None = None, **extra: Any) -> Json:
    return Json({"success": False, "error": error, **extra}, status_code=status_code, headers=headers)
