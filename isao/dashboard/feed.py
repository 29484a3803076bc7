"""The activity feed: a company's inbound provider events and its jobs, newest first, in one list.

One ``UNION ALL`` query pages both tables together, so a page of 25 is 25 whatever the mix. Jobs carry no
connection: a connection filter keeps the jobs of the recipes bound to it and the route jobs of its events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, cast, func, literal, null, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from isao.db.models import InboundEvent, Job, RecipeBinding
from isao.hooks.inbound import ROUTE
from isao.timeutil import utcnow

PAGE = 25
WINDOWS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "24h": timedelta(days=1),
           "7d": timedelta(days=7)}  # fmt: skip
STATUSES = ("queued", "running", "done", "dead", "discarded")


@dataclass(frozen=True)
class Query:
    """What the filter form asked for, already checked against the company's own choices."""

    type: str = ""
    """"event", "job" or "" (both)"""
    connections: frozenset[str] | None = None
    """The company's connections to keep (from the provider and connection filters); None: all."""
    status: str = ""
    kind: str = ""
    text: str = ""
    window: str = ""

    @property
    def jobs_only(self) -> bool:
        """A job status or kind asked for: events have neither, so none match."""
        return self.type == "job" or bool(self.status or self.kind)


@dataclass(frozen=True)
class Item:
    type: str
    id: str
    at: datetime
    label: str | None
    """An event's topic, a job's kind."""
    provider: str | None
    connection_id: str | None
    status: str | None
    attempts: int | None
    error_class: str | None
    event_id: str | None
    """The inbound event an item belongs to (itself for an event; a route or sync job's webhook)."""


def _since(query: Query) -> datetime | None:
    window = WINDOWS.get(query.window)
    return utcnow() - window if window else None


def _events(company_id: str, query: Query) -> Select[Any]:
    columns: list[Any] = [
        literal("event").label("type"),
        InboundEvent.id.label("id"),
        InboundEvent.received_at.label("at"),
        InboundEvent.topic.label("label"),
        InboundEvent.provider.label("provider"),
        InboundEvent.connection_id.label("connection_id"),
        cast(null(), String).label("status"),
        cast(null(), Integer).label("attempts"),
        cast(null(), String).label("error_class"),
        InboundEvent.id.label("inbound"),
        cast(null(), String).label("dedupe"),
    ]
    statement: Select[Any] = select(*columns).where(InboundEvent.company_id == company_id)
    if query.connections is not None:
        statement = statement.where(InboundEvent.connection_id.in_(query.connections))
    if query.text:
        statement = statement.where(
            func.lower(InboundEvent.topic).contains(query.text.lower(), autoescape=True)
        )
    since = _since(query)
    if since is not None:
        statement = statement.where(InboundEvent.received_at >= since)
    return statement


def _jobs(session: Session, company_id: str, query: Query) -> Select[Any]:
    inbound = Job.payload["inbound_event_id"].as_string()
    statement: Select[Any] = select(
        literal("job").label("type"),
        Job.id.label("id"),
        Job.updated_at.label("at"),
        Job.kind.label("label"),
        cast(null(), String).label("provider"),
        cast(null(), String).label("connection_id"),
        Job.status.label("status"),
        Job.attempts.label("attempts"),
        Job.error_class.label("error_class"),
        inbound.label("inbound"),
        Job.dedupe_key.label("dedupe"),
    ).where(Job.company_id == company_id)
    if query.connections is not None:
        bound = [
            binding.id
            for binding in session.scalars(
                select(RecipeBinding).where(RecipeBinding.company_id == company_id)
            )
            if set(binding.connections.values()) & query.connections
        ]
        events = select(InboundEvent.id).where(
            InboundEvent.company_id == company_id, InboundEvent.connection_id.in_(query.connections)
        )
        statement = statement.where(
            or_(
                Job.payload["binding_id"].as_string().in_(bound),
                (Job.kind == ROUTE) & inbound.in_(events),
            )
        )
    if query.status:
        statement = statement.where(Job.status == query.status)
    if query.kind:
        statement = statement.where(Job.kind == query.kind)
    if query.text:
        statement = statement.where(func.lower(Job.kind).contains(query.text.lower(), autoescape=True))
    since = _since(query)
    if since is not None:
        statement = statement.where(Job.updated_at >= since)
    return statement


def page(session: Session, company_id: str, query: Query, number: int = 1) -> tuple[list[Item], int]:
    """One page of the feed and the number of items in all."""
    parts: list[Select[Any]] = []
    if not query.jobs_only:
        parts.append(_events(company_id, query))
    if query.type != "event":
        parts.append(_jobs(session, company_id, query))
    if not parts:
        return [], 0
    feed = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("feed")
    total = session.scalar(select(func.count()).select_from(feed)) or 0
    rows = session.execute(
        select(feed).order_by(feed.c.at.desc(), feed.c.id.desc()).offset((number - 1) * PAGE).limit(PAGE)
    ).all()
    return [_item(row) for row in rows], total


def _item(row: Any) -> Item:
    return Item(
        row.type,
        row.id,
        row.at,
        row.label,
        row.provider,
        row.connection_id,
        row.status,
        row.attempts,
        row.error_class,
        row.inbound or event_of(row.dedupe),
    )


def event_of(dedupe_key: str | None) -> str | None:
    """The inbound event a ``sync.record`` job came from, read off its dedupe key (``sync:in_…:…``)."""
    parts = (dedupe_key or "").split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "sync" and parts[1].startswith("in_") else None


def kinds(session: Session, company_id: str) -> Sequence[str]:
    """The job kinds the company has, for the kind filter."""
    return session.scalars(
        select(Job.kind).where(Job.company_id == company_id).distinct().order_by(Job.kind)
    ).all()
