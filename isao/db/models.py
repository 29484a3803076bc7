"""The tables. Every business row carries ``company_id``; services always filter on it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, LargeBinary, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from isao.db.types import JSONType, UTCDateTime
from isao.timeutil import utcnow


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[str]: JSONType}


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("company_id", "email", name="uq_users_company_email"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    company: Mapped[Company] = relationship(lazy="joined")


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("company_id", "email", name="uq_contacts_company_email"),
        UniqueConstraint("company_id", "phone_number", name="uq_contacts_company_phone"),
        Index("ix_contacts_company_created", "company_id", "created_at", "id"),
        Index("ix_contacts_company_updated", "company_id", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    phone_number: Mapped[str | None] = mapped_column(String(32))
    position: Mapped[str | None] = mapped_column(String(255))
    current_company: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (
        Index("ix_deals_company_created", "company_id", "created_at", "id"),
        Index("ix_deals_company_updated", "company_id", "updated_at"),
        Index("ix_deals_company_status_stage", "company_id", "status", "stage"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    value: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3))
    stage: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[str] = mapped_column(String(10))
    probability: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    expected_close_date: Mapped[datetime | None]
    actual_close_date: Mapped[datetime | None]
    source: Mapped[str | None] = mapped_column(String(100))
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    assigned_to_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    contact: Mapped[Contact | None] = relationship(lazy="joined")
    assigned_to: Mapped[User | None] = relationship(lazy="joined")


class Event(Base):
    """The outbox: one row per change, written in the change's transaction, delivered by the queue."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_company_created", "company_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"
    __table_args__ = (Index("ix_webhook_subscriptions_company_event", "company_id", "event"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))
    target_url: Mapped[str] = mapped_column(String(2048))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Connection(Base):
    """A configured account at a provider. Secrets live encrypted in ``secrets_encrypted`` (a JSON object)."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("company_id", "name", name="uq_connections_company_name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(255))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secrets_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundEvent(Base):
    """A provider's webhook as received: raw bytes and headers, stored before any work is done."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("connection_id", "dedupe_key", name="uq_inbound_events_dedupe"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    company_id: Mapped[str] = mapped_column(String(40), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    topic: Mapped[str | None] = mapped_column(String(100))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    headers: Mapped[dict[str, Any]]
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    """A unit of work. States: queued → running → done | queued (retry) | dead; dead → queued (replay)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "status", "priority", "run_at"),
        Index("ix_jobs_lease", "status", "lease_until"),
        Index("ix_jobs_company_status", "company_id", "status", "finished_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(12), default="queued")
    priority: Mapped[int] = mapped_column(Integer, default=100)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    lease_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(100))
    company_id: Mapped[str | None] = mapped_column(String(40))
    rate_key: Mapped[str | None] = mapped_column(String(200))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_class: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class JobAttempt(Base):
    """One try at a job: what was sent, what came back, and how it ended."""

    __tablename__ = "job_attempts"
    __table_args__ = (Index("ix_job_attempts_outcome_finished", "outcome", "finished_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(12))
    error_class: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    request: Mapped[dict[str, Any] | None]
    response: Mapped[dict[str, Any] | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)


class Schedule(Base):
    """A periodic job. Workers race to move ``next_run_at`` forward; the one that wins enqueues."""

    __tablename__ = "schedules"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    cron: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]


class RateBucket(Base):
    """A token bucket shared by every worker through the database; ``updated`` is epoch seconds."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated: Mapped[float] = mapped_column(Float)


class RecipeBinding(Base):
    """A recipe enabled for a company: its roles bound to the company's connections, its options."""

    __tablename__ = "recipe_bindings"
    __table_args__ = (UniqueConstraint("company_id", "recipe", name="uq_recipe_bindings_company_recipe"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    recipe: Mapped[str] = mapped_column(String(100))
    connections: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """role → connection id"""
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdLink(Base):
    """The ID map: which record a step wrote for a source record, and the hash of what it wrote last.

    Written in the same transaction as the job's completion, so a retried job finds the link and updates
    (or skips, when the hash is unchanged) instead of creating a duplicate."""

    __tablename__ = "id_links"
    __table_args__ = (
        UniqueConstraint(
            "binding_id", "step", "source_connection", "source_object", "source_id", name="uq_id_links_source"
        ),
        Index("ix_id_links_target", "target_connection", "target_object", "target_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    company_id: Mapped[str] = mapped_column(String(40), index=True)
    binding_id: Mapped[str] = mapped_column(ForeignKey("recipe_bindings.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(100))
    source_connection: Mapped[str] = mapped_column(String(40))
    source_object: Mapped[str] = mapped_column(String(100))
    source_id: Mapped[str] = mapped_column(String(200))
    target_connection: Mapped[str] = mapped_column(String(40))
    target_object: Mapped[str] = mapped_column(String(100))
    target_id: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the mapped fields last written to the target."""
    target_version: Mapped[str | None] = mapped_column(String(64))
    """The target's modification stamp as ISAO's write left it: a change carrying it is ISAO's echo."""
    written_at: Mapped[datetime] = mapped_column(default=utcnow)


class SyncCursor(Base):
    """Where a flow's incremental poll resumes."""

    __tablename__ = "sync_cursors"

    binding_id: Mapped[str] = mapped_column(
        ForeignKey("recipe_bindings.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str] = mapped_column(String(100), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SyncLock(Base):
    """Which job is syncing a source record right now: two jobs for one order (``order.created`` and
    ``order.updated`` a millisecond apart) must not both search, find nothing and both create. A lock
    whose job is no longer running that attempt is free, so a dead worker's locks need no clean-up."""

    __tablename__ = "sync_locks"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(40))
    attempt: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)


class SyncRun(Base):
    """A backfill, poll or reconciliation: its progress (resumable from ``cursor``) and its counts."""

    __tablename__ = "sync_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    company_id: Mapped[str] = mapped_column(String(40), index=True)
    binding_id: Mapped[str] = mapped_column(ForeignKey("recipe_bindings.id", ondelete="CASCADE"), index=True)
    flow: Mapped[str] = mapped_column(String(100))
    mode: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="running")
    cursor: Mapped[str | None] = mapped_column(String(500))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class SyncConflict(Base):
    """A field both sides changed, and how the recipe's policy resolved it (kept for the operator)."""

    __tablename__ = "sync_conflicts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    company_id: Mapped[str] = mapped_column(String(40), index=True)
    binding_id: Mapped[str] = mapped_column(ForeignKey("recipe_bindings.id", ondelete="CASCADE"), index=True)
    link_id: Mapped[str | None] = mapped_column(String(40))
    field: Mapped[str] = mapped_column(String(200))
    ours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    theirs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    resolution: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Admin(Base):
    """A dashboard login. It belongs to one company, and the dashboard shows only that company's data."""

    __tablename__ = "admins"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    """``scrypt$n$r$p$salt$hash`` (hex): stdlib scrypt, memory-hard, no extra dependency."""
    role: Mapped[str] = mapped_column(String(10), default="owner", server_default="owner")
    """owner, admin, operator or viewer (``isao.dashboard.roles``)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    company: Mapped[Company] = relationship(lazy="joined")


class AuditEntry(Base):
    """Who did what, and when: a row per consequential action (enabling a recipe, a mapping version,
    replays and discards, credentials, keys, people), written in the action's own transaction."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_company_at", "company_id", "at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    actor_id: Mapped[str | None] = mapped_column(String(40))
    """The admin (dashboard login) who acted; None for the command line and the system."""
    actor: Mapped[str] = mapped_column(String(320))
    """Their email as it was then, ``cli`` or ``system``."""
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)
