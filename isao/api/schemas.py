"""Response shapes for the OpenAPI document. Routes build plain dicts; these describe them exactly."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from isao.crm.events import EVENT_TYPES


class Meta(BaseModel):
    page: int
    limit: int
    total: int
    totalPages: int


class ContactOut(BaseModel):
    id: str = Field(examples=["contact_01jc4x2v9m0000000000000000"])
    name: str
    firstName: str | None
    lastName: str | None
    email: str | None
    phoneNumber: str | None = Field(description="E.164")
    position: str | None
    currentCompany: str | None
    city: str | None
    country: str | None
    tags: list[str]
    createdAt: str = Field(examples=["2024-11-01T10:30:00.000Z"])
    updatedAt: str


class ContactRef(BaseModel):
    id: str
    name: str
    email: str | None
    phoneNumber: str | None
    currentCompany: str | None


class UserRef(BaseModel):
    id: str
    name: str
    email: str


class DealOut(BaseModel):
    id: str = Field(examples=["deal_01jc4x2v9m0000000000000000"])
    title: str
    description: str | None
    value: float
    currency: str
    stage: str | None
    priority: Literal["low", "medium", "high"]
    probability: int | None
    status: Literal["open", "won", "lost"]
    expectedCloseDate: str | None
    actualCloseDate: str | None
    source: str | None
    contact: ContactRef | None
    assignedTo: UserRef | None
    createdAt: str
    updatedAt: str


class WebhookOut(BaseModel):
    id: str
    event: Literal[EVENT_TYPES]  # type: ignore[valid-type]
    target_url: str
    active: bool
    createdAt: str


class WebhookCreated(WebhookOut):
    secret: str = Field(description="HMAC-SHA256 signing secret; shown only in this response.")


class TestInfo(BaseModel):
    companyId: str
    companyName: str
    keyId: str
    keyName: str
    scopes: list[str]


class Deleted(BaseModel):
    id: str
    deleted: Literal[True]


class ErrorBody(BaseModel):
    success: Literal[False]
    error: str
    message: str | None = None
    details: dict[str, str] | None = None
    requiredPermission: str | None = None
    availablePermissions: list[str] | None = None
    existingContactId: str | None = None
    field: str | None = None
    retryAfter: int | None = None


def one(model: type[BaseModel]) -> type[BaseModel]:
    """``{"success": true, "data": {…}}``"""
    return _envelope(model, "", data=model)


def many(model: type[BaseModel]) -> type[BaseModel]:
    """``{"success": true, "data": [...], "meta": {page, limit, total, totalPages}}``"""
    return _envelope(model, "Page", data=list[model], meta=Meta)  # type: ignore[valid-type]


def every(model: type[BaseModel]) -> type[BaseModel]:
    """``{"success": true, "data": [...]}`` for short, unpaginated lists."""
    return _envelope(model, "List", data=list[model])  # type: ignore[valid-type]


def _envelope(model: type[BaseModel], suffix: str, **fields: Any) -> type[BaseModel]:
    name = f"{model.__name__.removesuffix('Out')}{suffix}Response"
    definitions: dict[str, Any] = {"success": (Literal[True], ...)}
    definitions.update({key: (value, ...) for key, value in fields.items()})
    return create_model(name, **definitions)


_RATE_HEADERS = {
    "X-RateLimit-Limit": {"schema": {"type": "integer"}, "description": "Requests allowed per window"},
    "X-RateLimit-Remaining": {"schema": {"type": "integer"}, "description": "Requests left in this window"},
    "X-RateLimit-Reset": {
        "schema": {"type": "integer"},
        "description": "Epoch seconds when the window resets",
    },
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error responses a route can give, always with 401, 403 and 429."""
    text = {
        400: "Malformed JSON, or a referenced record not found in your company",
        401: "Missing, unknown or revoked API key",
        403: "The key lacks the required permission",
        404: "Not found in your company",
        409: "A contact with this email or phone number already exists",
        422: "Validation failed, with a message per field in `details`",
        429: "Rate limit exceeded",
    }
    result: dict[int | str, dict[str, Any]] = {}
    for code in sorted({401, 403, 422, 429, *codes}):
        entry: dict[str, Any] = {"model": ErrorBody, "description": text[code]}
        if code == 429:
            entry["headers"] = {"Retry-After": {"schema": {"type": "integer"}}, **_RATE_HEADERS}
        result[code] = entry
    return result


def success(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"model": model, "description": description, "headers": _RATE_HEADERS}
