"""One running job per source record, held for as long as that job's attempt runs.

A lock row names the job and attempt holding it. It is free when that attempt no longer runs (finished,
failed, or its lease expired and the job was re-queued), so a SIGKILLed worker's locks free themselves
as soon as the queue notices the worker is gone.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from isao.db import Database, insert_for
from isao.db.models import Job, SyncLock
from isao.queue import jobs
from isao.queue.jobs import Claimed
from isao.timeutil import utcnow


def key(binding_id: str, flow: str, source_id: str) -> str:
    return f"{binding_id}:{flow}:{source_id}"


def acquire(db: Database, key: str, job: Claimed) -> bool:
    """Take ``key`` for ``job``'s current attempt; False while another running attempt holds it."""
    with db.write() as session:
        return take(session, key, job)


def take(session: Session, key: str, job: Claimed) -> bool:
    """``acquire`` inside the caller's transaction (the one that hands the job to its worker)."""
    inserted = session.execute(
        insert_for(session, SyncLock)
        .values(key=key, job_id=job.id, attempt=job.attempt, acquired_at=utcnow())
        .on_conflict_do_nothing(index_elements=["key"])
    )
    if getattr(inserted, "rowcount", 0) == 1:
        return True
    lock = session.scalar(select(SyncLock).where(SyncLock.key == key).with_for_update())
    if lock is None:  # released between the insert and the select: the next try takes it
        return False
    if (lock.job_id, lock.attempt) != (job.id, job.attempt):
        holder = session.get(Job, lock.job_id)
        if holder is not None and holder.status == jobs.RUNNING and holder.attempts == lock.attempt:
            return False
        lock.job_id, lock.attempt, lock.acquired_at = job.id, job.attempt, utcnow()
    return True


def release(db: Database, key: str, job: Claimed) -> None:
    with db.write() as session:
        release_in(session, key, job)


def release_in(session: Session, key: str, job: Claimed) -> None:
    """Free ``key`` in the caller's transaction (the one that completes the job)."""
    session.execute(delete(SyncLock).where(SyncLock.key == key, SyncLock.job_id == job.id))
