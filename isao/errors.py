"""The error classes every layer shares. Connectors classify provider failures into these, once;
the queue's retry policy acts on nothing else.

    IsaoError
    └── ProviderError             a call to another system failed
        ├── RateLimited           429: wait at least ``retry_after`` seconds, then retry
        ├── Transient             5xx, timeouts, connection errors: back off and retry
        ├── AuthExpired           401: refresh the connection's token, retry at once
        ├── Invalid               400/422: permanent; dead-letter without retry
        ├── NotFound              404: permanent for this request
        └── Conflict              409: the record exists (``existing_id`` when known)
    SignatureInvalid              an inbound webhook's signature does not verify
"""

from __future__ import annotations

from typing import Any


class IsaoError(Exception):
    pass


class ProviderError(IsaoError):
    """``request``/``response`` keep what was sent and what came back, for the dead-letter queue."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        request: dict[str, Any] | None = None,
        response: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.request = request
        self.response = response


class RateLimited(ProviderError):
    retryable = True

    def __init__(self, message: str, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(0.0, retry_after)


class Busy(RateLimited):
    """Another job is syncing the same record: try again once it has finished."""


class Transient(ProviderError):
    retryable = True


class AuthExpired(ProviderError):
    """``connection_id`` names whose token to refresh before the immediate retry."""

    retryable = True

    def __init__(self, message: str, connection_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.connection_id = connection_id


class Invalid(ProviderError):
    def __init__(self, message: str, details: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.details = details


class NotFound(ProviderError):
    pass


class Conflict(ProviderError):
    def __init__(self, message: str, existing_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.existing_id = existing_id


class SignatureInvalid(IsaoError):
    pass
