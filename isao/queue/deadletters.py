"""The dead-letter queue: dead jobs, with everything needed to understand and replay them.

Dead is a terminal state of a job, not a second store: replay puts the same row back in the queue
with a fresh attempt budget; discard marks it ``discarded``. Nothing is ever deleted here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from isao.db.models import InboundEvent, Job
from isao.queue import jobs
from isao.timeutil import format_iso, utcnow


@dataclass(frozen=True)
class Filter:
    company_id: str | None = None  # None: every company (operators' CLI)
    kind: str | None = None
    error_class: str | None = None
    since: datetime | None = None
    ids: Sequence[str] | None = None

    def apply(self, query: Any) -> Any:
        query = query.where(Job.status == jobs.DEAD)
        if self.company_id is not None:
            query = query.where(Job.company_id == self.company_id)
        if self.kind:
            query = query.where(Job.kind == self.kind)
        if self.error_class:
            query = query.where(Job.error_class == self.error_class)
        if self.since:
            query = query.where(Job.finished_at >= self.since)
        if self.ids is not None:
            query = query.where(Job.id.in_(list(self.ids)))
        return query


def list_(session: Session, where: Filter, *, offset: int = 0, limit: int = 50) -> tuple[Sequence[Job], int]:
    total = session.scalar(where.apply(select(func.count()).select_from(Job))) or 0
    query = (
        where.apply(select(Job)).order_by(Job.finished_at.desc(), Job.id.desc()).offset(offset).limit(limit)
    )
    return session.scalars(query).all(), total


def facets(session: Session, where: Filter) -> tuple[list[str], list[str]]:
    """The kinds and error classes among ``where``'s dead letters (its own kind and class aside): the
    choices a filter menu can offer."""
    base = replace(where, kind=None, error_class=None)
    kinds = session.scalars(base.apply(select(Job.kind).distinct()).order_by(Job.kind)).all()
    classes = session.scalars(
        base.apply(select(Job.error_class).distinct())
        .where(Job.error_class.is_not(None))
        .order_by(Job.error_class)
    ).all()
    return list(kinds), [name for name in classes if name]


def summary(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "attempts": job.attempts,
        "errorClass": job.error_class,
        "error": (job.last_error or "")[:500],
        "companyId": job.company_id,
        "createdAt": format_iso(job.created_at),
        "finishedAt": format_iso(job.finished_at),
    }


def detail(session: Session, job: Job) -> dict[str, Any]:
    """The entry with its three payloads: what came in, what ISAO sent, what came back; and every attempt."""
    history = jobs.attempts(session, job.id)
    last = next((a for a in reversed(history) if a.request or a.response), None)
    inbound = None
    if isinstance(job.payload.get("inbound_event_id"), str):
        event = session.get(InboundEvent, job.payload["inbound_event_id"])
        if event is not None:
            inbound = {
                "id": event.id,
                "provider": event.provider,
                "topic": event.topic,
                "headers": event.headers,
                "body": event.body.decode("utf-8", errors="replace"),
                "receivedAt": format_iso(event.received_at),
            }
    return summary(job) | {
        "error": job.last_error,
        "payload": job.payload,
        "inbound": inbound,
        "request": last.request if last else None,
        "response": last.response if last else None,
        "history": [
            {
                "number": a.number,
                "worker": a.worker,
                "outcome": a.outcome,
                "errorClass": a.error_class,
                "error": a.error,
                "startedAt": format_iso(a.started_at),
                "finishedAt": format_iso(a.finished_at),
            }
            for a in history
        ],
    }


def get(session: Session, job_id: str, company_id: str | None = None) -> Job | None:
    job = session.get(Job, job_id)
    if job is None or job.status not in (jobs.DEAD, jobs.DISCARDED):
        return None
    if company_id is not None and job.company_id != company_id:
        return None
    return job


def replay(session: Session, where: Filter) -> int:
    """Queue the matching dead jobs again, now, with a fresh attempt budget; returns how many."""
    now = utcnow()
    count = _move(
        session, where, status=jobs.QUEUED, run_at=now, attempts=0, finished_at=None, updated_at=now
    )
    if count:
        session.info["isao_enqueued"] = True
    return count


def discard(session: Session, where: Filter) -> int:
    return _move(session, where, status=jobs.DISCARDED, updated_at=utcnow())


def _move(session: Session, where: Filter, **values: Any) -> int:
    """Set ``values`` on the matching dead jobs; returns how many matched."""
    ids = [job.id for job in session.scalars(where.apply(select(Job))).all()]
    if ids:
        session.execute(update(Job).where(Job.id.in_(ids), Job.status == jobs.DEAD).values(**values))
    return len(ids)
