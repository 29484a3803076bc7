"""``Authorization: Bearer ck_…`` → the caller's company and scopes; then the rate limit and scope checks.

A checked key is trusted for ``ISAO_KEY_CACHE_SECONDS`` (5 s): looking it up costs more than the
rest of a small request. A revocation made in this process takes effect at once; one made by
another process (``isao keys revoke``) within those seconds.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from isao.api.errors import ApiError
from isao.crm import keys
from isao.crm.keys import Principal
from isao.crypto import hash_token
from isao.db import Database
from isao.db.models import ApiKey
from isao.timeutil import utcnow

_HOW = "Please provide a valid API key in the format: Authorization: Bearer YOUR_API_KEY"
_REVOKED = "Create a new key with `isao keys create`"
_TOUCH_EVERY = 60.0


@dataclass
class _Entry:
    principal: Principal | None  # None: revoked
    checked: float


class KeyCache:
    def __init__(self, db: Database, ttl: float) -> None:
        self.db = db
        self.ttl = ttl
        self.entries: dict[str, _Entry] = {}
        self.touched: dict[str, float] = {}
        self.generation = keys.revocations

    def cached(self, token_hash: str, now: float) -> _Entry | None:
        if self.generation != keys.revocations:
            self.entries.clear()
            self.generation = keys.revocations
        entry = self.entries.get(token_hash)
        return entry if entry is not None and now - entry.checked < self.ttl else None

    def lookup(self, token: str, token_hash: str, now: float) -> _Entry | None:
        """From the database; None for a key that does not exist (never cached: no memory for junk)."""
        with self.db.read() as session:
            row = keys.authenticate(session, token)
            if row is None:
                return None
            entry = _Entry(None if row.revoked_at else keys.principal(row), now)
        if self.ttl > 0:
            if len(self.entries) > 10_000:
                self.entries.clear()
            self.entries[token_hash] = entry
        if entry.principal is not None and now - self.touched.get(entry.principal.key_id, 0.0) > _TOUCH_EVERY:
            self.touched[entry.principal.key_id] = now
            with self.db.write() as session:
                session.query(ApiKey).filter(ApiKey.id == entry.principal.key_id).update(
                    {"last_used_at": utcnow()}
                )
        return entry


async def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "API key required in Authorization header", message=_HOW)
    cache: KeyCache = request.app.state.key_cache
    token_hash, now = hash_token(token), time.monotonic()
    entry = cache.cached(token_hash, now) or await run_in_threadpool(cache.lookup, token, token_hash, now)
    if entry is None:
        raise ApiError(401, "Invalid API key", message=_HOW)
    if entry.principal is None:
        raise ApiError(401, "API key has been revoked", message=_REVOKED)
    principal = entry.principal

    limiter = request.app.state.limiter
    decision = limiter.hit(principal.key_id)
    clock = limiter.clock()
    request.state.ratelimit_headers = decision.headers(clock)
    if not decision.allowed:
        retry = decision.retry_after(clock)
        raise ApiError(
            429,
            "Rate limit exceeded",
            headers=decision.headers(clock),
            message=f"Too many requests; retry after {retry} seconds",
            retryAfter=retry,
        )
    return principal


def require(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if scope not in principal.scopes:
            raise ApiError(
                403,
                f"Permission denied: {scope} required",
                message=f"This API key does not have the required permission: {scope}",
                requiredPermission=scope,
                availablePermissions=list(principal.scopes),
            )
        return principal

    return check


Caller = Annotated[Principal, Depends(authenticate)]
ContactsRead = Annotated[Principal, Depends(require("contacts:read"))]
ContactsWrite = Annotated[Principal, Depends(require("contacts:write"))]
DealsRead = Annotated[Principal, Depends(require("deals:read"))]
DealsWrite = Annotated[Principal, Depends(require("deals:write"))]
WebhooksRead = Annotated[Principal, Depends(require("webhooks:read"))]
WebhooksWrite = Annotated[Principal, Depends(require("webhooks:write"))]
DeadLettersRead = Annotated[Principal, Depends(require("deadletters:read"))]
DeadLettersWrite = Annotated[Principal, Depends(require("deadletters:write"))]
