"""One running job per source record, held for as long as that job's attempt runs.

A lock row names the job and attempt holding it. It is free when that attempt no longer runs (finished,
failed, or its lease expired and the job was re-queued), so a SIGKILLed worker's locks free themselves
as soon as the queue notices the worker is gone.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, delete, select, update

from isao.db import Database
from isao.db.engine import dialect_insert
from isao.db.models import Job, SyncLock
from isao.db.prepared import Prepared, Writer
from isao.queue import jobs
from isao.queue.jobs import Claimed
from isao.timeutil import utcnow

_LOCKS = cast(Table, SyncLock.__table__)
_TAKE = Prepared(
    lambda dialect: dialect_insert(dialect, _LOCKS).on_conflict_do_nothing(index_elements=["key"])
)
_RELEASE = Prepared(
    lambda _: delete(_LOCKS).where(_LOCKS.c.key == bindparam("key"), _LOCKS.c.job_id == bindparam("job_id"))
)


def key(binding_id: str, flow: str, source_id: str) -> str:
    return f"{binding_id}:{flow}:{source_id}"


def acquire(db: Database, key: str, job: Claimed) -> bool:
    """Take ``key`` for ``job``'s current attempt; False while another running attempt holds it."""
    with db.core_write() as connection:
        return take(connection, key, job)


def take(writer: Writer, key: str, job: Claimed) -> bool:
    """``acquire`` inside the caller's transaction (the one that hands the job to its worker)."""
    inserted = _TAKE.execute(
        writer, {"key": key, "job_id": job.id, "attempt": job.attempt, "acquired_at": utcnow()}
    )
    if inserted.rowcount == 1:
        return True
    lock = writer.execute(
        select(_LOCKS.c.job_id, _LOCKS.c.attempt).where(_LOCKS.c.key == key).with_for_update()
    ).first()
    if lock is None:  # released between the insert and the select: the next try takes it
        return False
    if (lock.job_id, lock.attempt) != (job.id, job.attempt):
        holder = writer.execute(select(Job.status, Job.attempts).where(Job.id == lock.job_id)).first()
        if holder is not None and holder.status == jobs.RUNNING and holder.attempts == lock.attempt:
            return False
        writer.execute(
            update(_LOCKS)
            .where(_LOCKS.c.key == key)
            .values(job_id=job.id, attempt=job.attempt, acquired_at=utcnow())
        )
    return True


def release(db: Database, key: str, job: Claimed) -> None:
    with db.core_write() as connection:
        release_in(connection, key, job)


def release_in(writer: Writer, key: str, job: Claimed) -> None:
    """Free ``key`` in the caller's transaction (the one that completes the job)."""
    _RELEASE.execute(writer, {"key": key, "job_id": job.id})
