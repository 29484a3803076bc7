"""The overview's numbers: what came in, what was written, what failed, per time bucket; and the queue now.

Buckets are counted in SQL with a ``CASE`` over the bucket edges (plain comparisons, so one query per
series reads the same on SQLite and PostgreSQL, through the ``(company_id, status, finished_at)`` index
for jobs). Every query is limited to one company."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from isao.db.models import Event, InboundEvent, Job, JobAttempt
from isao.queue import jobs
from isao.sync import batch
from isao.sync.engine import RECORD


@dataclass(frozen=True)
class Window:
    name: str
    title: str
    step: timedelta
    count: int
    per: str

    def edges(self, now: datetime) -> list[datetime]:
        """``count`` buckets aligned on ``step`` (the last one is the current, partial one), and their end."""
        size = self.step.total_seconds()
        end = datetime.fromtimestamp((now.timestamp() // size + 1) * size, UTC)
        return [end - self.step * (self.count - index) for index in range(self.count + 1)]


WINDOWS = {
    "hour": Window("hour", "Last hour", timedelta(minutes=5), 12, "per 5 minutes"),
    "day": Window("day", "Last day", timedelta(hours=1), 24, "per hour"),
}


@dataclass(frozen=True)
class Series:
    key: str
    title: str
    unit: tuple[str, str]
    """(singular, plural)"""
    help: str
    tone: str
    values: list[int]

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True)
class Throughput:
    window: Window
    labels: list[str]
    series: list[Series]

    def buckets(self, series: Series) -> list[tuple[str, int]]:
        return list(zip(self.labels, series.values, strict=True))


@dataclass(frozen=True)
class Depth:
    due: int
    """Queued and due now: waiting only for a worker."""
    later: int
    """Queued for later: retries backing off, rate-limited jobs."""
    running: int
    dead: int
    oldest_due: datetime | None

    def waited(self, now: datetime) -> str:
        """How long the oldest due job has waited, to the minute (the live part re-renders only on change)."""
        if self.oldest_due is None:
            return "none waiting"
        minutes = int((now - self.oldest_due).total_seconds() // 60)
        if minutes < 1:
            return "under a minute"
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def throughput(session: Session, company_id: str, window: Window, now: datetime) -> Throughput:
    edges = window.edges(now)
    mine = Job.company_id == company_id
    job_rows = select().select_from(Job)
    attempts = select().select_from(JobAttempt).join(Job, Job.id == JobAttempt.job_id)
    handoff = or_(
        Job.dedupe_key.like(batch.handoff_prefix("%") + "%"), Job.dedupe_key.startswith(f"{batch.BATCH}:")
    )
    records = _counts(
        session,
        job_rows.where(
            mine, Job.status == jobs.DONE, Job.kind == RECORD, or_(Job.dedupe_key.is_(None), ~handoff)
        ),
        Job.finished_at,
        edges,
    )
    for at, key in session.execute(
        select(Job.finished_at, Job.dedupe_key).where(
            mine, Job.status == jobs.DONE, Job.kind == batch.BATCH, *_within(Job.finished_at, edges)
        )
    ):
        if at is not None:
            records[_slot(edges, at)] += _records_of_batch(key)
    received = select().select_from(InboundEvent).where(InboundEvent.company_id == company_id)
    changes = select().select_from(Event).where(Event.company_id == company_id)
    retried = attempts.where(mine, JobAttempt.outcome == "retry")
    dead = job_rows.where(mine, Job.status.in_((jobs.DEAD, jobs.DISCARDED)))
    series = [
        Series("events", "Webhooks received", ("event", "events"), "Provider webhooks stored by the inbox.",
               "", _counts(session, received, InboundEvent.received_at, edges)),
        Series("changes", "CRM changes", ("change", "changes"), "Changes to ISAO CRM records (its outbox).",
               "", _counts(session, changes, Event.created_at, edges)),
        Series("records", "Records synced", ("record", "records"),
               "Sync jobs done: one per record, a batch counts its records.", "", records),
        Series("retries", "Retries", ("retry", "retries"), "Failed attempts that will be tried again.",
               "warn", _counts(session, retried, JobAttempt.finished_at, edges)),
        Series("dead", "Dead letters", ("dead letter", "dead letters"), "Jobs that gave up, when they died.",
               "bad", _counts(session, dead, Job.finished_at, edges)),
    ]  # fmt: skip
    labels = [edge.strftime("%H:%M") for edge in edges[:-1]]
    return Throughput(window, labels, series)


def depth(session: Session, company_id: str, now: datetime) -> Depth:
    mine = Job.company_id == company_id
    counts: dict[str, int] = {
        str(status): int(count)
        for status, count in session.execute(
            select(Job.status, func.count())
            .where(mine, Job.status.in_((jobs.RUNNING, jobs.DEAD)))
            .group_by(Job.status)
        )
    }
    queued = and_(mine, Job.status == jobs.QUEUED)
    due = session.execute(select(func.count(), func.min(Job.run_at)).where(queued, Job.run_at <= now)).one()
    later = session.scalar(select(func.count()).where(queued, Job.run_at > now)) or 0
    return Depth(int(due[0]), int(later), counts.get(jobs.RUNNING, 0), counts.get(jobs.DEAD, 0), due[1])


def digest(numbers: Throughput, queue: Depth, now: datetime) -> str:
    """What the live part shows, hashed: an unchanged view is not sent (or read out) again."""
    seen = (numbers.window.name, numbers.labels, [s.values for s in numbers.series])
    text = repr((seen, queue.due, queue.later, queue.running, queue.dead, queue.waited(now)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _within(column: InstrumentedAttribute[Any], edges: Sequence[datetime]) -> tuple[ColumnElement[bool], ...]:
    return column >= edges[0], column < edges[-1]


def _counts(
    session: Session, rows: Select[Any], column: InstrumentedAttribute[Any], edges: Sequence[datetime]
) -> list[int]:
    """Rows per bucket: ``CASE WHEN at < edge1 THEN 0 WHEN at < edge2 THEN 1 … END``, grouped."""
    last = len(edges) - 2
    slot = case(*((column < edge, index) for index, edge in enumerate(edges[1:-1])), else_=last)
    inner = rows.add_columns(slot.label("slot")).where(*_within(column, edges)).subquery()
    counts = [0] * (len(edges) - 1)
    for index, count in session.execute(select(inner.c.slot, func.count()).group_by(inner.c.slot)):
        counts[int(index)] += int(count)
    return counts


def _slot(edges: Sequence[datetime], at: datetime) -> int:
    return next((index for index, edge in enumerate(edges[1:-1]) if at < edge), len(edges) - 2)


def _records_of_batch(key: str | None) -> int:
    """A backfill's batch job names its record count in its dedupe key; one without a key counts one."""
    try:
        return batch.records_of(key) if key else 1
    except (ValueError, IndexError):
        return 1
