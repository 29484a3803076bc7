"""HubSpot's error bodies and JSON answers (the kit's ``Fail`` carries one up from anywhere below a route)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse

from isao.sandbox.hubspot.constants import PORTAL_ID
from isao.sandbox.kit.answers import Fail


def _error(status: int, message: str, category: str, **extra: Any) -> Fail:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}
    return Fail(status, body | extra)


def _invalid(message: str, **extra: Any) -> Fail:
    return _error(400, message, "VALIDATION_ERROR", **extra)


def _not_found(object_id: str) -> Fail:
    return _error(
        404,
        "Object not found.  objectId are usually numeric.",
        "OBJECT_NOT_FOUND",
        context={"id": [object_id]},
    )


@dataclass(frozen=True)
class _PropertyError:
    name: str
    code: str
    message: str


def _property_failure(errors: list[_PropertyError]) -> Fail:
    """HubSpot's 400 for bad property values: the per-property list is JSON inside ``message``."""
    items = [
        {
            "isValid": False,
            "message": e.message,
            "error": e.code,
            "name": e.name,
            "localizedErrorMessage": e.message,
            "portalId": PORTAL_ID,
        }
        for e in errors
    ]
    return _invalid(
        "Property values were not valid: " + json.dumps(items, separators=(",", ":")),
        errors=[
            {"message": e.message, "code": e.code, "in": e.name, "context": {"propertyName": [e.name]}}
            for e in errors
        ],
    )


class _Json(JSONResponse):
    media_type = "application/json;charset=utf-8"
