"""From a provider's answer to one class of ``isao.errors``: its status by default, its own codes where
they say more (``TABLE.get(code) or by_status(status)``), built with the arguments each class takes."""

from __future__ import annotations

from typing import Any

from isao.errors import AuthExpired, Conflict, Invalid, NotFound, ProviderError, RateLimited, Transient

Kind = type[ProviderError]


def by_status(status: int) -> Kind:
    if status == 429:
        return RateLimited
    if status == 401:
        return AuthExpired
    if status == 404:
        return NotFound
    if status in (408, 425) or status >= 500:
        return Transient
    return Invalid


def make(
    kind: Kind,
    message: str,
    *,
    request: dict[str, Any] | None,
    response: dict[str, Any] | None,
    retry_after: float = 0.0,
    details: Any = None,
    existing_id: str | None = None,
    connection_id: str | None = None,
) -> ProviderError:
    kwargs: dict[str, Any] = {"request": request, "response": response}
    if issubclass(kind, RateLimited):
        return kind(message, retry_after, **kwargs)
    if issubclass(kind, AuthExpired):
        return kind(message, connection_id, **kwargs)
    if issubclass(kind, Invalid):
        return kind(message, details=details, **kwargs)
    if issubclass(kind, Conflict):
        return kind(message, existing_id=existing_id, **kwargs)
    return kind(message, **kwargs)
