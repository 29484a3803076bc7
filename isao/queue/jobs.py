"""Job rows and their state changes. Every transition that ends an attempt is fenced on
(``locked_by``, ``attempts``), so a worker whose lease expired cannot overwrite its successor."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import DateTime, Row, Table, bindparam, event, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from isao.db import Database, insert_for
from isao.db.engine import dialect_insert
from isao.db.models import Job, JobAttempt
from isao.db.prepared import Prepared, Writer
from isao.ids import new_id
from isao.timeutil import to_ms, utcnow

QUEUED, RUNNING, DONE, DEAD, DISCARDED = "queued", "running", "done", "dead", "discarded"
DEFAULT_MAX_ATTEMPTS = 10

wakeup = threading.Event()
"""Set after a transaction that enqueued work commits, so idle workers in this process start at once."""


class LeaseLost(Exception):
    """Another worker holds the job now (our lease expired); our result must not be recorded."""


@dataclass(frozen=True)
class Claimed:
    """What a worker needs of a claimed job, detached from any session."""

    id: str
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    worker: str
    company_id: str | None
    rate_key: str | None
    created_at: datetime
    started_at: datetime
    locks: tuple[str, ...] = ()
    """Sync locks taken for this attempt when the job was made (see ``Kind.prepare``)."""


@dataclass(frozen=True)
class Queued:
    id: str


_JOBS = cast(Table, Job.__table__)
_INSERT = insert(_JOBS)  # statements compiled once; rows travel as parameters
_INSERT_ATTEMPTS = insert(cast(Table, JobAttempt.__table__))
_INSERT_ATTEMPT = Prepared(lambda _: _INSERT_ATTEMPTS)
_HOLD = Prepared(
    lambda dialect: (
        dialect_insert(dialect, _JOBS)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(_JOBS.c.id)
    )
)
_COMPLETE = Prepared(
    lambda _: (
        update(_JOBS)
        .where(
            _JOBS.c.id == bindparam("job_id"),
            _JOBS.c.status == RUNNING,
            _JOBS.c.locked_by == bindparam("worker"),
            _JOBS.c.attempts == bindparam("attempt"),
        )
        .values(
            status=DONE,
            finished_at=bindparam("now", type_=DateTime()),
            updated_at=bindparam("now", type_=DateTime()),
            lease_until=None,
            locked_by=None,
            error_class=None,
            last_error=None,
        )
    )
)


def values(
    kind: str,
    payload: dict[str, Any],
    *,
    run_at: datetime | None = None,
    company_id: str | None = None,
    rate_key: str | None = None,
    max_attempts: int | None = None,
    dedupe_key: str | None = None,
    priority: int = 100,
) -> dict[str, Any]:
    """The row of a new job, for ``enqueue`` or for ``enqueue_many``."""
    now = utcnow()
    return {
        "id": new_id("job"),
        "kind": kind,
        "payload": payload,
        "status": QUEUED,
        "priority": priority,
        "run_at": run_at or now,
        "attempts": 0,
        "max_attempts": max_attempts or DEFAULT_MAX_ATTEMPTS,
        "lease_until": None,
        "locked_by": None,
        "company_id": company_id,
        "rate_key": rate_key,
        "dedupe_key": dedupe_key,
        "last_error": None,
        "error_class": None,
        "created_at": now,
        "updated_at": now,
        "finished_at": None,
    }


def enqueue(session: Session, kind: str, payload: dict[str, Any], **options: Any) -> Queued:
    """Add a job in ``session``'s transaction: it exists if and only if the caller's transaction commits.

    ``options``: ``run_at``, ``company_id``, ``rate_key``, ``max_attempts``, ``dedupe_key``, ``priority``.
    """
    row = values(kind, payload, **options)
    enqueue_many(session, [row])
    return Queued(row["id"])


def enqueue_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert rows made by ``values`` (one executemany), in ``session``'s transaction."""
    if rows:
        session.execute(_INSERT, rows)
        session.info["isao_enqueued"] = True


def enqueue_unique(session: Session, rows: list[dict[str, Any]]) -> None:
    """Like ``enqueue_many``, silently skipping rows whose ``dedupe_key`` a job already holds: a handler
    that fans out (a webhook to its sync jobs, a poll to its records) can run twice without doubling work."""
    if rows:
        statement = insert_for(session, _JOBS).on_conflict_do_nothing(index_elements=["dedupe_key"])
        session.execute(statement, rows)
        session.info["isao_enqueued"] = True


def enqueue_done(
    session: Session, rows: list[dict[str, Any]], results: list[dict[str, Any]], worker: str, now: datetime
) -> None:
    """Insert ``values`` rows as jobs already done, each with its one attempt and that attempt's result:
    work that happened before its job was stored (the inbox routes a webhook as it stores it), recorded
    like any job's so the dashboard and the dead letters read it the same way."""
    if not rows:
        return
    done = {"status": DONE, "attempts": 1, "finished_at": now, "updated_at": now}
    session.execute(_INSERT, [row | done for row in rows])
    attempts = [
        _done_attempt(row["id"], 1, worker, row["created_at"], now, None, result)
        for row, result in zip(rows, results, strict=True)
    ]
    session.execute(_INSERT_ATTEMPTS, attempts)


def enqueue_held(
    writer: Writer, rows: list[dict[str, Any]], worker: str, now: datetime, lease: float
) -> list[Claimed]:
    """Like ``enqueue_unique``, but the new jobs are born claimed by ``worker`` for it to run next: a
    handler's follow-up work (a webhook's sync jobs) skips a round trip through the queue. They are leased
    like any claimed job, so if the worker dies first they go back to the queue when the lease expires."""
    lease_until = now + timedelta(seconds=lease)
    held = []
    for row in rows:
        taken = row | {"status": RUNNING, "attempts": 1, "locked_by": worker, "lease_until": lease_until}
        if not _HOLD.execute(writer, taken).fetchall():
            continue  # a job with this dedupe key exists already: the fan-out ran before
        held.append(
            Claimed(
                id=row["id"],
                kind=row["kind"],
                payload=row["payload"],
                attempt=1,
                max_attempts=row["max_attempts"],
                worker=worker,
                company_id=row["company_id"],
                rate_key=row["rate_key"],
                created_at=row["created_at"],
                started_at=now,
            )
        )
    return held


@event.listens_for(Session, "after_commit")
def _wake_workers(session: Session) -> None:
    if session.info.pop("isao_enqueued", False):
        wakeup.set()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop("isao_enqueued", None)


_C = _JOBS.c
# A materialised CTE: PostgreSQL may re-run a plain ``IN (subquery)`` per row, and with SKIP LOCKED that
# re-run is both slow and able to take more than ``limit`` jobs.
_DUE = (
    select(_C.id)
    .where(_C.status == QUEUED, _C.run_at <= bindparam("now"))
    .order_by(_C.priority, _C.run_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
    .cte("due")
    .prefix_with("MATERIALIZED", dialect="postgresql")
)
_CLAIM = (
    update(_JOBS)
    .where(_C.id.in_(select(_DUE.c.id)))
    .values(
        status=RUNNING,
        attempts=_C.attempts + 1,
        locked_by=bindparam("worker"),
        lease_until=bindparam("lease_until"),
        updated_at=bindparam("now"),
    )
    .returning(
        _C.id, _C.kind, _C.payload, _C.attempts, _C.max_attempts, _C.company_id, _C.rate_key,
        _C.created_at, _C.priority, _C.run_at,
    )
)  # fmt: skip
_EXPIRED = (
    select(_C.id)
    .where(_C.status == RUNNING, _C.lease_until < bindparam("now"))
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
"""Built once: the claim runs several times a second per worker, and building its statements cost more
than running them."""


Prepare = Callable[[Writer, Claimed], Claimed]


def claim(
    db: Database, worker: str, now: datetime, lease: float, limit: int = 1, prepare: Prepare | None = None
) -> list[Claimed]:
    """Take up to ``limit`` due jobs, usually in one Core transaction of two statements.

    First, running jobs whose lease expired (their worker died) go back to the queue, with the lost
    attempt recorded, or to the dead letters when it was their last; only when there are some does the
    claim take the session path, which records that. Then one ``UPDATE … RETURNING``
    takes the due jobs; its ``FOR UPDATE SKIP LOCKED`` subquery lets PostgreSQL workers pass each
    other, and on SQLite the write lock serialises claims. ``prepare`` runs for each taken job in the
    same transaction (the sync engine takes the record's lock there).
    """
    params = {"now": now, "limit": limit, "worker": worker, "lease_until": now + timedelta(seconds=lease)}
    with db.core_write() as connection:  # the usual case, nothing expired: no session needed
        expired = connection.execute(_EXPIRED, {"now": now, "limit": 1}).first() is not None
        if not expired:
            return _taken(connection, connection.execute(_CLAIM, params).all(), worker, now, prepare)
    with db.write() as session:
        _requeue_expired(session, now, limit)
        return _taken(session, session.execute(_CLAIM, params).all(), worker, now, prepare)


def _taken(
    writer: Writer, rows: Sequence[Row[Any]], worker: str, now: datetime, prepare: Prepare | None
) -> list[Claimed]:
    claimed = [
        Claimed(
            row.id,
            row.kind,
            dict(row.payload),
            row.attempts,
            row.max_attempts,
            worker,
            row.company_id,
            row.rate_key,
            row.created_at,
            now,
        )
        for row in sorted(rows, key=lambda row: (row.priority, row.run_at))
    ]
    return [prepare(writer, job) for job in claimed] if prepare else claimed


def _requeue_expired(session: Session, now: datetime, limit: int) -> None:
    expired_ids = session.scalars(_EXPIRED, {"now": now, "limit": limit}).all()
    if not expired_ids:
        return
    expired = session.scalars(select(Job).where(Job.id.in_(expired_ids)).with_for_update()).all()
    for job in expired:
        _abandoned(session, job, now)
        if job.attempts >= job.max_attempts:
            _finish(job, DEAD, now, "WorkerLost", "the worker died during the last attempt")
        else:
            _finish(job, QUEUED, now, "WorkerLost", "the worker died during the attempt")
            job.finished_at = None
            job.run_at = now
    session.flush()


def _abandoned(session: Session, job: Job, now: datetime) -> None:
    session.add(
        JobAttempt(
            job_id=job.id,
            number=job.attempts,
            worker=job.locked_by,
            outcome="abandoned",
            error_class="WorkerLost",
            error=f"lease expired at {job.lease_until.isoformat() if job.lease_until else '?'}",
            finished_at=now,
        )
    )


def _finish(job: Job, status: str, now: datetime, error_class: str | None, error: str | None) -> None:
    job.status = status
    job.finished_at = now
    job.updated_at = now
    job.lease_until = None
    job.locked_by = None
    job.error_class = error_class
    job.last_error = error


def _fence(claimed: Claimed) -> tuple[ColumnElement[bool], ...]:
    """The job is still ours: same worker, same attempt, still running."""
    return (
        Job.id == claimed.id,
        Job.status == RUNNING,
        Job.locked_by == claimed.worker,
        Job.attempts == claimed.attempt,
    )


def _held(session: Session, claimed: Claimed) -> Job:
    job = session.scalar(select(Job).where(*_fence(claimed)).with_for_update())
    if job is None:
        raise LeaseLost(claimed.id)
    return job


def complete(
    writer: Writer,
    claimed: Claimed,
    now: datetime,
    *,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
) -> None:
    """Mark done inside ``writer``'s transaction (the handler's own, when its effects are local).

    The hottest statements of the queue: one fenced UPDATE and one INSERT, both ``Prepared``."""
    done = _COMPLETE.execute(
        writer,
        {
            "job_id": claimed.id,
            "worker": claimed.worker,
            "attempt": claimed.attempt,
            "now": to_ms(now).replace(tzinfo=None),
        },
    )
    if done.rowcount != 1:
        raise LeaseLost(claimed.id)
    _INSERT_ATTEMPT.execute(
        writer,
        _done_attempt(
            claimed.id, claimed.attempt, claimed.worker, claimed.started_at, now, request, response
        ),
    )


def _done_attempt(
    job_id: str, number: int, worker: str, started_at: datetime, finished_at: datetime,
    request: dict[str, Any] | None, response: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    """A successful attempt's ``job_attempts`` row."""
    return {
        "job_id": job_id, "number": number, "worker": worker, "outcome": "done", "error_class": None,
        "error": None, "request": request, "response": response, "started_at": started_at,
        "finished_at": finished_at,
    }  # fmt: skip


def fail(
    session: Session,
    claimed: Claimed,
    now: datetime,
    *,
    retry_at: datetime | None,
    error_class: str,
    error: str,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
) -> str:
    """Record a failed attempt, then requeue at ``retry_at`` or, when None, dead-letter; returns the state."""
    job = _held(session, claimed)
    _finish(job, DEAD if retry_at is None else QUEUED, now, error_class, error)
    if retry_at is not None:
        job.run_at = retry_at
        job.finished_at = None
        session.info["isao_enqueued"] = True
    session.add(
        JobAttempt(
            job_id=job.id,
            number=claimed.attempt,
            worker=claimed.worker,
            outcome="retry" if retry_at else "dead",
            error_class=error_class,
            error=error,
            request=request,
            response=response,
            started_at=claimed.started_at,
            finished_at=now,
        )
    )
    return job.status


def extend_lease(db: Database, claimed: Claimed, now: datetime, lease: float) -> None:
    with db.write() as session:
        result = session.execute(
            update(Job).where(*_fence(claimed)).values(lease_until=now + timedelta(seconds=lease))
        )
        if getattr(result, "rowcount", 0) != 1:
            raise LeaseLost(claimed.id)


def get(session: Session, job_id: str) -> Job | None:
    return session.get(Job, job_id)


def attempts(session: Session, job_id: str) -> list[JobAttempt]:
    query = select(JobAttempt).where(JobAttempt.job_id == job_id).order_by(JobAttempt.number, JobAttempt.id)
    return list(session.scalars(query).all())
