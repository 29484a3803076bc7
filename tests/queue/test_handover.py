"""Follow-up jobs handed to the worker that made them: created claimed in the completing transaction, run
next by the same worker, and back in the queue for anyone if that worker dies first."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select

from isao.db import Database
from isao.db.models import Job, JobAttempt
from isao.db.prepared import Writer
from isao.queue import enqueue, jobs
from isao.queue.context import JobContext
from isao.queue.jobs import Claimed
from isao.runtime import Runtime
from tests.conftest import FakeClock


def _attempts(db: Database, kind: str) -> list[tuple[str, int, str | None, str]]:
    with db.read() as session:
        rows = session.execute(
            select(Job.payload, JobAttempt.number, JobAttempt.worker, JobAttempt.outcome)
            .join(JobAttempt, JobAttempt.job_id == Job.id)
            .where(Job.kind == kind)
            .order_by(JobAttempt.id)
        ).all()
    return [(row.payload["n"], row.number, row.worker, row.outcome) for row in rows]


def _fan_out(count: int, *, fail_after: bool = False):
    def handler(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
        rows = [jobs.values("t.next", {"n": f"{payload['n']}.{i}"}, dedupe_key=f"next:{payload['n']}:{i}")
                for i in range(count)]  # fmt: skip
        with ctx.transaction({"made": count}) as session:
            made = ctx.hand_over(session, rows)
        if fail_after:
            raise RuntimeError("after the commit")
        return {"made": made}

    return handler


def test_handed_jobs_run_next_on_the_same_worker_without_a_claim(
    runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    ran: list[tuple[str, str]] = []
    runtime.registry.register("t.first", _fan_out(2))
    runtime.registry.register("t.next", lambda ctx, payload: ran.append((ctx.job.worker, payload["n"])))
    with qdb.write() as session:
        enqueue(session, "t.first", {"n": "a"})
    worker = runtime.worker("w1", clock=clock)
    assert worker.run_once() == 1, "one claim"
    assert ran == [("w1", "a.0"), ("w1", "a.1")]
    assert _attempts(qdb, "t.next") == [("a.0", 1, "w1", "done"), ("a.1", 1, "w1", "done")]
    assert runtime.worker("w2", clock=clock).run_once() == 0, "nothing was left in the queue"


def test_a_second_fan_out_of_the_same_work_adds_nothing(
    runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    runtime.registry.register("t.first", _fan_out(2))
    runtime.registry.register("t.next", lambda ctx, payload: None)
    with qdb.write() as session:
        enqueue(session, "t.first", {"n": "b"})
        enqueue(session, "t.first", {"n": "b"})
    runtime.worker("w1", clock=clock, batch=2).run_once()
    assert len(_attempts(qdb, "t.next")) == 2


def test_handed_jobs_of_a_worker_that_died_go_back_to_the_queue(
    runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    ran: list[tuple[str, int]] = []
    runtime.registry.register("t.next", lambda ctx, payload: ran.append((ctx.job.worker, ctx.job.attempt)))
    with qdb.write() as session:  # what a handler's transaction leaves when its worker is killed next
        jobs.enqueue_held(session, [jobs.values("t.next", {"n": "c"})], "dead-worker", clock(), lease=10)
    assert runtime.worker("w2", clock=clock).run_once() == 0, "leased to the dead worker"
    clock.advance(11)
    assert runtime.worker("w2", clock=clock).run_once() == 1
    assert ran == [("w2", 2)]
    assert [outcome for *_, outcome in _attempts(qdb, "t.next")] == ["abandoned", "done"]


def test_handed_jobs_still_run_when_their_maker_fails_after_its_commit(
    runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    runtime.registry.register("t.first", _fan_out(1, fail_after=True))
    runtime.registry.register("t.next", lambda ctx, payload: None)
    with qdb.write() as session:
        enqueue(session, "t.first", {"n": "d"})
    runtime.worker("w1", clock=clock).run_once()
    assert _attempts(qdb, "t.next") == [("d.0", 1, "w1", "done")]
    with qdb.read() as session:
        (first,) = session.scalars(select(Job).where(Job.kind == "t.first")).all()
        assert first.status == "done", "its work committed with it"


def test_nothing_is_handed_over_when_the_transaction_rolls_back(
    runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    def rolls_back(ctx: JobContext, payload: dict[str, Any]) -> None:
        with ctx.transaction() as session:
            ctx.hand_over(session, [jobs.values("t.next", {"n": "e"})])
            raise RuntimeError("the handler's own write failed")

    runtime.registry.register("t.first", rolls_back)
    runtime.registry.register("t.next", lambda ctx, payload: None)
    with qdb.write() as session:
        enqueue(session, "t.first", {"n": "e"}, max_attempts=1)
    runtime.worker("w1", clock=clock).run_once()
    assert _attempts(qdb, "t.next") == []


def test_prepare_runs_in_the_handing_transaction(runtime: Runtime, qdb: Database, clock: FakeClock) -> None:
    seen: list[tuple[str, ...]] = []

    def prepare(writer: Writer, job: Claimed) -> Claimed:
        found = writer.execute(select(Job.id).where(Job.id == job.id)).first()
        assert found is not None, "the job exists in this transaction"
        return replace(job, locks=(f"lock:{job.payload['n']}",))

    runtime.registry.register("t.first", _fan_out(1))
    runtime.registry.register("t.next", lambda ctx, payload: seen.append(ctx.job.locks), prepare=prepare)
    with qdb.write() as session:
        enqueue(session, "t.first", {"n": "f"})
    runtime.worker("w1", clock=clock).run_once()
    assert seen == [("lock:f.0",)]


def test_prepare_runs_in_the_claiming_transaction(runtime: Runtime, qdb: Database, clock: FakeClock) -> None:
    seen: list[tuple[str, ...]] = []

    def prepare(writer: Writer, job: Claimed) -> Claimed:
        status = writer.execute(select(Job.status, Job.locked_by).where(Job.id == job.id)).one()
        assert tuple(status) == ("running", "w1"), "claimed in this transaction"
        return replace(job, locks=(f"lock:{job.payload['n']}",))

    runtime.registry.register("t.queued", lambda ctx, payload: seen.append(ctx.job.locks), prepare=prepare)
    with qdb.write() as session:
        enqueue(session, "t.queued", {"n": "q"})
    runtime.worker("w1", clock=clock).run_once()
    assert seen == [("lock:q",)]


def test_hand_over_outside_the_completing_transaction_is_a_mistake(
    runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    def misuse(ctx: JobContext, payload: dict[str, Any]) -> None:
        with ctx.db.write() as session:
            ctx.hand_over(session, [jobs.values("t.next", {"n": "g"})])

    runtime.registry.register("t.first", misuse)
    with qdb.write() as session:
        enqueue(session, "t.first", {"n": "g"}, max_attempts=1)
    runtime.worker("w1", clock=clock).run_once()
    with qdb.read() as session:
        (job,) = session.scalars(select(Job).where(Job.kind == "t.first")).all()
    assert job.status == "dead" and "hand_over belongs inside" in (job.last_error or "")
