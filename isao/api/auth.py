"""``Authorization: Bearer ck_…`` → the caller's company and scopes; then the rate limit and scope checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from isao.api.errors import ApiError
from isao.crm import keys
from isao.crm.keys import Principal
from isao.db import Database
from isao.db.models import ApiKey
from isao.timeutil import utcnow

_HOW = "Please provide a valid API key in the format: Authorization: Bearer YOUR_API_KEY"
_TOUCH_EVERY = timedelta(minutes=1)


def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "API key required in Authorization header", message=_HOW)
    db: Database = request.app.state.db
    with db.read() as session:
        row = keys.authenticate(session, token)
        if row is None:
            raise ApiError(401, "Invalid API key", message=_HOW)
        if row.revoked_at is not None:
            raise ApiError(
                401, "API key has been revoked", message="Create a new key with `isao keys create`"
            )
        principal = keys.principal(row)
        stale = row.last_used_at is None or utcnow() - row.last_used_at > _TOUCH_EVERY
    if stale:
        with db.write() as session:
            session.query(ApiKey).filter(ApiKey.id == principal.key_id).update({"last_used_at": utcnow()})

    limiter = request.app.state.limiter
    decision = limiter.hit(principal.key_id)
    now = limiter.clock()
    request.state.ratelimit_headers = decision.headers(now)
    if not decision.allowed:
        retry = decision.retry_after(now)
        raise ApiError(
            429,
            "Rate limit exceeded",
            headers=decision.headers(now),
            message=f"Too many requests; retry after {retry} seconds",
            retryAfter=retry,
        )
    return principal


def require(scope: str) -> Callable[[Principal], Principal]:
    def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
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
