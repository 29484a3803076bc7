"""Periodic jobs from cron expressions, run exactly once per tick however many workers there are.

Each worker looks for due schedules about once a second. Moving ``next_run_at`` forward is a
compare-and-set on its old value, in the same transaction as the enqueue: one worker wins the
tick, and a dedupe key on the job makes even a replayed tick enqueue nothing twice. A tick missed
while nothing ran is run once, not once per missed slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cronsim import CronSim, CronSimError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from isao.db import Database
from isao.db.models import Schedule
from isao.queue import jobs


def next_after(cron: str, moment: datetime) -> datetime:
    """The first time after ``moment`` (UTC) matching ``cron``; raises ValueError on a bad expression."""
    try:
        return next(CronSim(cron, moment.replace(second=0, microsecond=0)))
    except CronSimError as exc:
        raise ValueError(f"invalid cron expression {cron!r}: {exc}") from None


def ensure(
    session: Session, name: str, cron: str, kind: str, payload: dict[str, Any] | None = None, *, now: datetime
) -> Schedule:
    """Create or update a schedule (idempotent, so start-up code can declare its schedules)."""
    row = session.get(Schedule, name)
    if row is None:
        row = Schedule(
            name=name, cron=cron, kind=kind, payload=payload or {}, next_run_at=next_after(cron, now)
        )
        session.add(row)
    elif (row.cron, row.kind, row.payload) != (cron, kind, payload or {}):
        row.cron, row.kind, row.payload = cron, kind, payload or {}
        row.next_run_at = next_after(cron, now)
    return row


def tick(db: Database, now: datetime) -> int:
    """Enqueue the jobs of every schedule that is due; returns how many this caller enqueued."""
    with db.read() as session:
        due = session.scalars(select(Schedule).where(Schedule.enabled, Schedule.next_run_at <= now)).all()
    fired = 0
    for schedule in due:
        with db.write() as session:
            moved = session.execute(
                update(Schedule)
                .where(Schedule.name == schedule.name, Schedule.next_run_at == schedule.next_run_at)
                .values(next_run_at=next_after(schedule.cron, now), last_run_at=schedule.next_run_at)
            )
            if getattr(moved, "rowcount", 0) != 1:
                continue  # another worker took this tick
            jobs.enqueue(
                session,
                schedule.kind,
                dict(schedule.payload),
                dedupe_key=f"schedule:{schedule.name}:{schedule.next_run_at.isoformat()}",
            )
            fired += 1
    return fired


def list_(session: Session) -> Sequence[Schedule]:
    return session.scalars(select(Schedule).order_by(Schedule.name)).all()
