"""Completions deferred to the end of a worker's batch (``ctx.complete_later``): one transaction for the
batch, each job's effect committed with its own completion, and a fenced-off job dropped alone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select, update

from isao.db import Database
from isao.db.models import Job, JobAttempt, Schedule, SyncLock
from isao.db.prepared import Writer
from isao.errors import Busy
from isao.queue import enqueue
from isao.queue import worker as worker_module
from isao.queue.context import JobContext
from isao.queue.jobs import Claimed
from isao.runtime import Runtime
from isao.sync import locks
from tests.conftest import FakeClock


@pytest.fixture
def commits(qdb: Database) -> Iterator[list[str]]:
    """Every commit on the database, in order (SQLAlchemy's own event, on the real engine)."""
    seen: list[str] = []

    def count(_: Any) -> None:
        seen.append("commit")

    event.listen(qdb.engine, "commit", count)
    yield seen
    event.remove(qdb.engine, "commit", count)


def _mark(n: int) -> Any:
    def effect(writer: Writer) -> None:  # a local effect that must commit with its job's completion
        row = {"name": f"mark-{n}", "cron": "0 0 1 1 *", "kind": "t.none", "payload": {}, "enabled": False,
               "next_run_at": datetime(2100, 1, 1), "last_run_at": None}  # fmt: skip
        writer.execute(insert(Schedule), row)

    return effect


def test_a_batch_completes_in_one_transaction(
    runtime: Runtime, qdb: Database, clock: FakeClock, commits: list[str]
) -> None:
    def handler(ctx: JobContext, payload: dict[str, Any]) -> None:
        ctx.complete_later(_mark(payload["n"]), {"n": payload["n"]})

    runtime.registry.register("t.later", handler)
    with qdb.write() as session:
        for n in range(4):
            enqueue(session, "t.later", {"n": n})
    commits.clear()
    assert runtime.worker("w1", clock=clock, batch=4).run_once() == 4
    assert len(commits) == 2  # the claim, then the four completions
    with qdb.read() as session:
        assert set(session.scalars(select(Job.status).where(Job.kind == "t.later"))) == {"done"}
        responses = session.scalars(
            select(JobAttempt.response).join(Job, Job.id == JobAttempt.job_id).where(Job.kind == "t.later")
        ).all()
        marks = session.scalars(select(Schedule.name).where(Schedule.name.like("mark-%"))).all()
    assert sorted(r["n"] for r in responses) == [0, 1, 2, 3]
    assert sorted(marks) == ["mark-0", "mark-1", "mark-2", "mark-3"]


def test_a_plain_handler_s_completion_waits_for_its_batch_too(
    runtime: Runtime, qdb: Database, clock: FakeClock, commits: list[str]
) -> None:
    runtime.registry.register("t.plain", lambda ctx, payload: {"ok": payload["n"]})
    with qdb.write() as session:
        for n in range(3):
            enqueue(session, "t.plain", {"n": n})
    commits.clear()
    runtime.worker("w1", clock=clock, batch=3).run_once()
    assert len(commits) == 2
    with qdb.read() as session:
        assert set(session.scalars(select(Job.status).where(Job.kind == "t.plain"))) == {"done"}


def test_a_job_whose_lease_was_lost_is_dropped_alone(
    runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    def handler(ctx: JobContext, payload: dict[str, Any]) -> None:
        if payload["n"] == 1:  # meanwhile another worker took this one over
            with qdb.write() as session:
                session.execute(update(Job).where(Job.id == ctx.job.id).values(locked_by="w2"))
        ctx.complete_later(result={"n": payload["n"]})

    runtime.registry.register("t.fenced", handler)
    with qdb.write() as session:
        ids = [enqueue(session, "t.fenced", {"n": n}).id for n in range(3)]
    runtime.worker("w1", clock=clock, batch=3).run_once()
    with qdb.read() as session:
        found = session.scalars(select(Job).where(Job.id.in_(ids)))
        rows = {job.id: (job.status, job.locked_by) for job in found}
    assert rows[ids[0]] == ("done", None) and rows[ids[2]] == ("done", None)
    assert rows[ids[1]] == ("running", "w2"), "the other worker's attempt stands"


def test_a_batch_mate_waiting_on_the_same_lock_runs_after_the_first_commits(
    runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    """Two changes of one record in one batch: the second could not take the record's lock at the claim;
    the first's completion commits before the second runs, so it takes the lock instead of retrying."""
    key = "t.record:1"

    def prepare(writer: Writer, job: Claimed) -> Claimed:
        return replace(job, locks=(key,)) if locks.take(writer, key, job) else job

    def handler(ctx: JobContext, payload: dict[str, Any]) -> None:
        if key not in ctx.job.locks and not locks.acquire(ctx.db, key, ctx.job):
            raise Busy("the record is being synced", retry_after=1)
        ctx.also(lambda writer: locks.release_in(writer, key, ctx.job))
        ctx.complete_later()

    runtime.registry.register("t.record", handler, prepare=prepare)
    with qdb.write() as session:
        for n in range(2):
            enqueue(session, "t.record", {"n": n})
    runtime.worker("w1", clock=clock, batch=2).run_once()
    with qdb.read() as session:
        outcomes = session.scalars(
            select(JobAttempt.outcome).join(Job, Job.id == JobAttempt.job_id).where(Job.kind == "t.record")
        ).all()
        held = session.scalar(select(SyncLock.key).where(SyncLock.key == key))
    assert outcomes == ["done", "done"] and held is None


def test_the_worker_loop_defers_completions_across_batches_and_keeps_their_leases(
    runtime: Runtime, qdb: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cycle`` (the pool's loop) lets completions wait for later batches'; the jobs stay held, so their
    leases are renewed meanwhile, and an empty queue commits them."""
    monkeypatch.setattr(worker_module, "FLUSH_WAIT", 60.0)
    runtime.registry.register("t.loop", lambda ctx, payload: {"n": payload["n"]})
    with qdb.write() as session:
        ids = [enqueue(session, "t.loop", {"n": n}).id for n in range(3)]
    worker = runtime.worker("w1", clock=clock, batch=1)

    def statuses() -> dict[str, tuple[str, datetime | None]]:
        with qdb.read() as session:
            found = session.scalars(select(Job).where(Job.id.in_(ids)))
            return {job.id: (job.status, job.lease_until) for job in found}

    assert [worker.cycle() for _ in ids] == [1, 1, 1]
    assert {status for status, _ in statuses().values()} == {"running"}
    clock.advance(50)
    worker.renew_leases()
    renewed = {lease for _, lease in statuses().values()}
    assert renewed == {clock.now + timedelta(seconds=worker.lease)}
    assert worker.cycle() == 0
    assert {status for status, _ in statuses().values()} == {"done"}
