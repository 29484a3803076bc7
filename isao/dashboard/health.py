"""Each connection's health: is it working, will its token last, how close is it to its rate limit.

What links a job to a connection is its recipe: sync jobs carry their binding's id, and the binding maps
roles to connections. A failure is the connection's when its message names the provider (connectors
start every error with ``"<provider>: "``), so a mapping mistake of the recipe does not blame HubSpot.
Only the expiry and whether a refresh token exists are read from the secrets; nothing else leaves here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from isao import connections
from isao.connectors import catalog
from isao.db.models import Connection, InboundEvent, Job, JobAttempt, RateBucket, RecipeBinding
from isao.queue import jobs

RECENT = timedelta(hours=1)
"""How far back rate-limit answers (429) count against a connection's headroom."""
FAILED = ("retry", "dead")


@dataclass(frozen=True)
class Failure:
    at: datetime
    error_class: str | None
    message: str
    rate_headers: dict[str, str]
    """The provider's rate-limit headers on that answer (``X-RateLimit-Remaining``, ``Retry-After``…)."""


@dataclass(frozen=True)
class Headroom:
    rate: float
    """Requests per second ISAO allows itself (the connection's limit, else the provider's)."""
    burst: float
    level: float
    """Tokens in the shared bucket now: at ``burst`` it is idle, below zero calls are queued for tokens."""

    @property
    def wait(self) -> float:
        """Seconds until the next call may go out."""
        return max(0.0, (1.0 - self.level) / self.rate)

    @property
    def queued(self) -> int:
        return max(0, int(-self.level))


@dataclass(frozen=True)
class Health:
    id: str
    name: str
    provider: str
    last_webhook: datetime | None
    last_success: datetime | None
    last_error: Failure | None
    token_expires: datetime | None
    refreshable: bool
    headroom: Headroom | None
    rate_limited: int
    """429 answers in the last ``RECENT``."""

    def state(self, now: datetime) -> tuple[str, str]:
        """(badge class, words) for the status column."""
        if self.last_error and (self.last_success is None or self.last_error.at > self.last_success):
            return "bad", "Failing"
        if self.token_expires and self.token_expires <= now and not self.refreshable:
            return "bad", "Token expired"
        if self.rate_limited or (self.headroom and self.headroom.queued):
            return "warn", "Rate limited"
        if self.last_success or self.last_webhook:
            return "ok", "Working"
        return "", "No activity yet"


def connection_health(session: Session, company_id: str, now: datetime) -> list[Health]:
    rows = connections.list_(session, company_id)
    bindings = session.scalars(select(RecipeBinding).where(RecipeBinding.company_id == company_id)).all()
    buckets = {
        bucket.key: bucket
        for bucket in session.scalars(
            select(RateBucket).where(RateBucket.key.in_([connections.rate_key(row.id) for row in rows]))
        )
    }
    webhooks: dict[str, datetime] = {
        str(connection): at
        for connection, at in session.execute(
            select(InboundEvent.connection_id, func.max(InboundEvent.received_at))
            .where(InboundEvent.company_id == company_id)
            .group_by(InboundEvent.connection_id)
        )
    }
    found = []
    for row in rows:
        used_by = [binding.id for binding in bindings if row.id in binding.connections.values()]
        sync = _sync_jobs(company_id, used_by)
        expires, refreshable = _token(row)
        found.append(
            Health(
                id=row.id,
                name=row.name,
                provider=row.provider,
                last_webhook=webhooks.get(row.id),
                last_success=_last_success(session, company_id, used_by) if used_by else None,
                last_error=_last_error(session, sync, row.provider) if used_by else None,
                token_expires=expires,
                refreshable=refreshable,
                headroom=_headroom(row, buckets.get(connections.rate_key(row.id)), now),
                rate_limited=_rate_limited(session, sync, row.provider, now - RECENT) if used_by else 0,
            )
        )
    return found


def _sync_jobs(company_id: str, binding_ids: list[str]) -> ColumnElement[bool]:
    """The sync jobs of these bindings (polls are scheduled without a company; the bindings are its own)."""
    return and_(
        Job.kind.startswith("sync."),
        or_(Job.company_id == company_id, Job.company_id.is_(None)),
        Job.payload["binding_id"].as_string().in_(binding_ids),
    )


def _provider_error(provider: str) -> ColumnElement[bool]:
    return JobAttempt.error.startswith(f"{provider}:", autoescape=True)


def _last_success(session: Session, company_id: str, binding_ids: list[str]) -> datetime | None:
    """Two queries, each walking an index from the newest end: the company's sync jobs, then the polls."""
    bound = Job.payload["binding_id"].as_string().in_(binding_ids)
    newest = [
        session.scalar(
            select(Job.finished_at)
            .where(owner, Job.status == jobs.DONE, Job.kind.startswith("sync."), bound)
            .order_by(Job.finished_at.desc())
            .limit(1)
        )
        for owner in (Job.company_id == company_id, Job.company_id.is_(None))
    ]
    return max((at for at in newest if at is not None), default=None)


def _last_error(session: Session, sync: ColumnElement[bool], provider: str) -> Failure | None:
    found = session.execute(
        select(JobAttempt.finished_at, JobAttempt.error_class, JobAttempt.error, JobAttempt.response)
        .join(Job, Job.id == JobAttempt.job_id)
        .where(sync, JobAttempt.outcome.in_(FAILED), _provider_error(provider))
        .order_by(JobAttempt.finished_at.desc(), JobAttempt.id.desc())
        .limit(1)
    ).first()
    if found is None:
        return None
    at, error_class, message, response = found
    return Failure(at, error_class, message or "", _rate_headers(response))


def _rate_limited(session: Session, sync: ColumnElement[bool], provider: str, since: datetime) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(JobAttempt)
        .join(Job, Job.id == JobAttempt.job_id)
        .where(
            sync,
            JobAttempt.error_class == "RateLimited",
            JobAttempt.finished_at >= since,
            _provider_error(provider),
        )
    )
    return int(count or 0)


def _rate_headers(response: Any) -> dict[str, str]:
    headers = response.get("headers") if isinstance(response, dict) else None
    if not isinstance(headers, dict):
        return {}
    return {
        str(name): str(value)
        for name, value in headers.items()
        if "ratelimit" in str(name).lower() or str(name).lower() == "retry-after"
    }


def _token(row: Connection) -> tuple[datetime | None, bool]:
    """When the stored OAuth access token expires, and whether ISAO can get a new one by itself."""
    stored = connections.secrets(row)
    try:
        expires_at = float(stored.get("expires_at") or 0)
    except ValueError:
        expires_at = 0.0
    expires = datetime.fromtimestamp(expires_at, UTC) if expires_at else None
    return expires, bool(stored.get("refresh_token"))


def _headroom(row: Connection, bucket: RateBucket | None, now: datetime) -> Headroom | None:
    try:
        limits = catalog.rate_limit(row.provider, dict(row.config))
    except (KeyError, ValueError):  # a provider ISAO only receives webhooks from, or a bad setting
        return None
    if limits is None:
        return None
    rate, burst = limits
    if bucket is None:
        return Headroom(rate, burst, burst)
    level = min(burst, bucket.tokens + max(0.0, now.timestamp() - bucket.updated) * rate)
    return Headroom(rate, burst, level)
