"""What the sync and async clients share: request building, answer parsing and the retry policy.

Everything here is free of I/O so the two flavours differ only in ``await``.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from isao.client.errors import (
    ApiError,
    ConflictError,
    InvalidResponseError,
    RateLimitError,
    ServerError,
    TransportError,
    error_class,
    retry_after_seconds,
)

__all__ = ["DEFAULT_BASE_URL", "RetryPolicy"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000/api/external"
USER_AGENT = "isao-python-client/0.1.0"

log = logging.getLogger("isao.client")

#: Methods whose repetition cannot create a second record, so any lost answer may be retried.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: Failures that happen before a byte of the request left: safe to retry even for POST.
NEVER_SENT: tuple[type[httpx.RequestError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
#: Failures worth another try for idempotent methods (a flaky network, a restarting server).
TRANSIENT: tuple[type[httpx.RequestError], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


def http_options(api_key: str, base_url: str, timeout: float | httpx.Timeout) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client``/``AsyncClient``, validated once for both flavours."""
    if not api_key or not api_key.strip():
        raise ValueError("api_key is required (an ISAO key starts with 'ck_')")
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
    return {
        "base_url": base_url.rstrip("/"),
        "timeout": timeout,
        "headers": {
            "Authorization": f"Bearer {api_key.strip()}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        },
    }


# --- requests ---------------------------------------------------------------------------------

_SNAKE = re.compile(r"_([a-z0-9])")


def camel(name: str) -> str:
    """``created_since`` → ``createdSince``; names already in the API's camelCase pass unchanged."""
    return _SNAKE.sub(lambda match: match.group(1).upper(), name)


def jsonable(value: Any) -> Any:
    """Dates as ISO 8601 and ``Decimal`` as a string (no float rounding of money); the rest as is."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return value


def query(filters: Mapping[str, Any]) -> dict[str, Any]:
    """List filters as query parameters; ``None`` means "no filter" rather than an empty one."""
    params: dict[str, Any] = {}
    for name, value in filters.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        params[camel(name)] = jsonable(value)
    return params


def body(fields: Mapping[str, Any] | None, extra: Mapping[str, Any]) -> dict[str, Any]:
    """A contact or deal body from a dict and/or keywords; ``None`` is kept since it clears a field."""
    merged = {**(fields or {}), **extra}
    return {camel(name): jsonable(value) for name, value in merged.items()}


def status_body(
    status: str | None, stage: str | None, probability: float | None, actual_close_date: Any
) -> dict[str, Any]:
    """``PUT /deals/{id}/status`` with only what the caller set (the endpoint rejects an empty body)."""
    sent = {
        "status": status,
        "stage": stage,
        "probability": probability,
        "actualCloseDate": actual_close_date,
    }
    result = {name: jsonable(value) for name, value in sent.items() if value is not None}
    if not result:
        raise ValueError("give at least one of status, stage, probability, actual_close_date")
    return result


def record_path(collection: str, record_id: str) -> str:
    """``/contacts/{id}`` with the id escaped, so an id can never reach another route."""
    if not isinstance(record_id, str) or not record_id:
        raise ValueError(f"a record id must be a non-empty string, got {record_id!r}")
    return f"{collection}/{quote(record_id, safe='')}"


# --- answers ----------------------------------------------------------------------------------


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def read(response: httpx.Response) -> Any:
    """The whole envelope of a success answer; raises the ``ApiError`` subclass for an error answer."""
    payload = _json(response)
    if not response.is_success:
        raise to_error(response, payload)
    if not isinstance(payload, Mapping) or "data" not in payload:
        raise InvalidResponseError(
            f"{response.status_code} answer is not an ISAO envelope (is base_url right?)",
            response.status_code,
            payload,
        )
    return payload


def data(response: httpx.Response) -> Any:
    return read(response)["data"]


def to_error(response: httpx.Response, payload: Any) -> ApiError:
    error, message = response.reason_phrase or f"HTTP {response.status_code}", None
    if isinstance(payload, Mapping):
        error = str(payload.get("error") or error)
        message = payload.get("message")
    cls = error_class(response.status_code)
    return cls(response.status_code, payload, error, message, dict(response.headers))


def conflicting_id(exc: ConflictError) -> str:
    """The contact an ``upsert`` should update; a 409 without one is re-raised, not guessed at."""
    if not exc.existing_contact_id:
        raise exc
    return exc.existing_contact_id


# --- retries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again and how long to wait first.

    * 429: wait ``Retry-After`` in full (give up at once if it exceeds ``max_retry_after``);
      without the header, back off as below. Any method: the limiter refuses before any work.
    * 5xx, timeouts, dropped connections: exponential backoff with full jitter, for idempotent
      methods only. A POST that may have reached the server is not repeated, as that could
      create a second record; it is retried only when the connection was never opened.
    * Other 4xx: never; the same request would fail the same way.

    A retried DELETE whose first answer was lost reports ``NotFoundError``: the record is gone either way.
    """

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.backoff_base < 0 or self.backoff_cap < 0 or self.max_retry_after < 0:
            raise ValueError("backoff_base, backoff_cap and max_retry_after must be >= 0")

    def backoff(self, attempt: int) -> float:
        """Full jitter spreads the retries of many clients instead of synchronising them."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2**attempt)
        return random.uniform(0, ceiling)  # noqa: S311 - timing jitter, not a secret

    def delay(self, method: str, exc: Exception, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt + 1``; raises the final error when giving up."""
        if isinstance(exc, httpx.RequestError):
            retryable = isinstance(exc, NEVER_SENT) or (method in IDEMPOTENT and isinstance(exc, TRANSIENT))
            if not retryable or attempt >= self.max_retries:
                raise TransportError(f"{method} {_url(exc)} failed: {type(exc).__name__}: {exc}") from exc
            return self._log(method, exc, attempt, self.backoff(attempt))
        if isinstance(exc, RateLimitError):
            hinted = exc.retry_after
        elif isinstance(exc, ServerError) and method in IDEMPOTENT:
            hinted = retry_after_seconds(exc.headers.get("retry-after"))
        else:
            raise exc
        if attempt >= self.max_retries or (hinted is not None and hinted > self.max_retry_after):
            raise exc
        return self._log(method, exc, attempt, self.backoff(attempt) if hinted is None else hinted)

    @staticmethod
    def _log(method: str, exc: Exception, attempt: int, seconds: float) -> float:
        log.info("retrying %s in %.2fs (retry %d) after %s", method, seconds, attempt + 1, exc)
        return seconds


def _url(exc: httpx.RequestError) -> str:
    try:
        return str(exc.request.url)
    except RuntimeError:  # raised by a transport outside a client: no request attached
        return "request"
