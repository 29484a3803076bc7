"""Reading request bodies and query parameters, failing in HubSpot's shape."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from isao.sandbox.hubspot.answers import _invalid
from isao.sandbox.hubspot.constants import BATCH_MAX


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _invalid(f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    except UnicodeDecodeError as exc:
        raise _invalid("Invalid input JSON: the body is not UTF-8") from exc


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"Invalid input JSON: {what} must be an object")
    return value


def _inputs(body: Any, maximum: int = BATCH_MAX) -> list[dict[str, Any]]:
    inputs = _object(body, "the request body").get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
        raise _invalid("Invalid input JSON: inputs must be an array of objects")
    if len(inputs) > maximum:
        raise _invalid(
            f"Batch input size {len(inputs)} exceeds the maximum of {maximum} inputs.",
            context={"maxInputs": [str(maximum)]},
        )
    return inputs


def _names(request: Request, key: str) -> list[str]:
    """A list parameter, given repeated (the SDK) or comma-separated (the docs)."""
    return [
        name.strip()
        for value in request.query_params.getlist(key)
        for name in value.split(",")
        if name.strip()
    ]


def _flag(request: Request, key: str) -> bool:
    return request.query_params.get(key, "false").lower() == "true"


def _limit(request: Request, default: int, maximum: int) -> int:
    raw = request.query_params.get("limit")
    try:
        limit = default if raw is None else int(raw)
    except ValueError:
        raise _invalid(f"limit must be an integer, got {raw!r}") from None
    if not 1 <= limit <= maximum:
        raise _invalid(f"limit must be between 1 and {maximum}, got {limit}")
    return limit
