"""Exceptions raised by the SDK, one class per documented HTTP status so callers can ``except`` precisely.

IsaoError
├── TransportError            no HTTP answer (connection refused, timeout, …)
├── InvalidResponseError      a success status whose body is not the documented envelope
└── ApiError                  any error answer; ``status_code``, ``body``, ``error``, ``message``
    ├── BadRequestError       400
    ├── AuthenticationError   401
    ├── PermissionDeniedError 403  ``required_permission``, ``available_permissions``
    ├── NotFoundError         404
    ├── ConflictError         409  ``existing_contact_id``, ``field``
    ├── ValidationError       422  ``details`` (field → message)
    ├── RateLimitError        429  ``retry_after`` (seconds)
    └── ServerError           5xx
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any


class IsaoError(Exception):
    """Base of every SDK error, so one ``except`` can cover them all."""


class TransportError(IsaoError):
    """The request got no HTTP answer; ``__cause__`` holds the underlying ``httpx`` error."""


class InvalidResponseError(IsaoError):
    """A success status with a body we cannot read: usually a proxy or a wrong ``base_url``."""

    def __init__(self, message: str, status_code: int, body: Any) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class ApiError(IsaoError):
    """The API answered with an error; ``body`` keeps the whole answer for fields we do not model."""

    def __init__(
        self,
        status_code: int,
        body: Any,
        error: str,
        message: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status_code} {error}" + (f": {message}" if message else ""))
        self.status_code = status_code
        self.body = body
        self.error = error
        self.message = message
        self.headers: dict[str, str] = {name.lower(): value for name, value in (headers or {}).items()}

    def _field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, Mapping) else None


class BadRequestError(ApiError):
    """400: malformed JSON or a reference (``contactId``, ``assignedToId``) to an unknown record."""


class AuthenticationError(ApiError):
    """401: the key is missing, unknown or revoked; retrying will not help."""


class PermissionDeniedError(ApiError):
    """403: the key lacks a scope; the body says which one and what the key has."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.required_permission: str | None = self._field("requiredPermission")
        self.available_permissions: list[str] = list(self._field("availablePermissions") or [])


class NotFoundError(ApiError):
    """404: unknown id, or a record of another company (the API does not tell them apart)."""


class ConflictError(ApiError):
    """409: a contact with this email or phone exists; ``existing_contact_id`` lets callers merge."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.existing_contact_id: str | None = self._field("existingContactId")
        self.field: str | None = self._field("field")


class ValidationError(ApiError):
    """422: ``details`` maps each rejected field to a human-readable message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        details = self._field("details")
        self.details: dict[str, str] = dict(details) if isinstance(details, Mapping) else {}


class RateLimitError(ApiError):
    """429 after the retries ran out, or whose wait exceeded ``max_retry_after``.

    ``retry_after`` (seconds) comes from the ``Retry-After`` header, else the body's ``retryAfter``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after_seconds(self.headers.get("retry-after"))
        if self.retry_after is None:
            self.retry_after = retry_after_seconds(self._field("retryAfter"))


class ServerError(ApiError):
    """5xx after the retries ran out."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}


def error_class(status_code: int) -> type[ApiError]:
    """The most specific class for a status; unlisted 4xx fall back to ``ApiError``."""
    if status_code >= 500:
        return ServerError
    return _BY_STATUS.get(status_code, ApiError)


def retry_after_seconds(value: object, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now; RFC 9110 allows a delay or an HTTP date. Unreadable → None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if math.isnan(value) else max(0.0, float(value))
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return None if math.isnan(seconds) else max(0.0, seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
