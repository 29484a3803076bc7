"""Validation errors in words a person reads: one message per field, in the style of the External API's
reference (``"Title is required"``, ``"Value must be a positive number"``). The API's 422 bodies, the
dashboard's forms and the pipeline's moves all say the same thing about the same input."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


def label(field: str) -> str:
    """``expectedCloseDate`` → ``Expected close date``."""
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", field.replace("_", " ")).lower()
    return words[:1].upper() + words[1:]


def _bound(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _message(err: Mapping[str, Any], field: str) -> str:
    kind = err["type"]
    ctx = {key: _bound(value) for key, value in (err.get("ctx") or {}).items()}
    name = label(field)
    if kind == "missing":
        return "Request body is required" if field == "body" else f"{name} is required"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind in ("greater_than_equal", "greater_than") and ctx.get("ge", ctx.get("gt")) == "0":
        return f"{name} must be a positive number"
    messages = {
        "greater_than_equal": f"{name} must be at least {ctx.get('ge')}",
        "less_than_equal": f"{name} must be at most {ctx.get('le')}",
        "string_too_short": f"{name} cannot be empty",
        "string_too_long": f"{name} must be at most {ctx.get('max_length')} characters",
        "too_long": f"{name} must have at most {ctx.get('max_length')} items",
        "string_type": f"{name} must be a string",
        "list_type": f"{name} must be an array",
        "literal_error": f"{name} must be one of: {str(ctx.get('expected', '')).replace(chr(39), '')}",
        "string_pattern_mismatch": f"{name} has an invalid format",
        "model_attributes_type": "Request body must be a JSON object",
        "dict_type": "Request body must be a JSON object",
    }
    if kind in messages:
        return messages[kind]
    if kind.startswith(("int_", "float_", "decimal_")):
        return f"{name} must be a number" if not kind.startswith("int_") else f"{name} must be an integer"
    if kind.startswith("bool"):
        return f"{name} must be true or false"
    return f"{name}: {err['msg']}"


def validation_details(errors: Any) -> dict[str, str]:
    """Pydantic's errors as ``{field: message}``, the first message per field."""
    details: dict[str, str] = {}
    for err in errors:
        loc = [part for part in err["loc"] if part not in ("body", "query", "path", "header")]
        if err["type"] == "value_error" and not loc and ": " in str(err["msg"]):
            field, _, message = str(err["msg"]).removeprefix("Value error, ").partition(": ")
            details.setdefault(field, message)
            continue
        field = str(loc[0]) if loc else "body"
        details.setdefault(field, _message(err, field))
    return details
