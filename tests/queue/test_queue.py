"""Enqueue atomicity, periodic jobs, shared token buckets, dead-letter replay."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from isao.db import Database
from isao.db.models import Job, Schedule
from isao.errors import Invalid
from isao.queue import deadletters, enqueue, jobs, ratelimit, scheduler
from isao.queue.context import JobContext
from isao.runtime import Runtime
from tests.conftest import FakeClock


def total(db: Database, kind: str) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Job).where(Job.kind == kind)) or 0


def test_enqueue_commits_and_rolls_back_with_the_callers_transaction(qdb: Database) -> None:
    with pytest.raises(RuntimeError), qdb.write() as session:
        enqueue(session, "t.atomic", {"n": 1})
        raise RuntimeError("the caller's work failed")
    assert total(qdb, "t.atomic") == 0
    with qdb.write() as session:
        enqueue(session, "t.atomic", {"n": 2})
    assert total(qdb, "t.atomic") == 1


def test_enqueue_wakes_idle_workers_only_after_commit(qdb: Database) -> None:
    jobs.wakeup.clear()
    with qdb.write() as session:
        enqueue(session, "t.wake", {})
        assert not jobs.wakeup.is_set()
    assert jobs.wakeup.is_set()


def test_schedule_fires_once_per_tick_across_workers(
    queue_settings: Any, qdb: Database, clock: FakeClock
) -> None:
    with qdb.write() as session:
        scheduler.ensure(session, "every-minute", "* * * * *", "t.tick", {"x": 1}, now=clock())
    clock.advance(61)
    other = Database(queue_settings.resolved_database_url())  # a second "machine": its own pool
    fired: list[int] = []
    barrier = threading.Barrier(4)

    def tick(db: Database) -> None:
        barrier.wait()
        fired.append(scheduler.tick(db, clock()))

    threads = [threading.Thread(target=tick, args=(db,)) for db in (qdb, other, qdb, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.dispose()
    assert sorted(fired) == [0, 0, 0, 1]
    assert total(qdb, "t.tick") == 1
    assert scheduler.tick(qdb, clock()) == 0  # same minute: nothing more
    clock.advance(60)
    assert scheduler.tick(qdb, clock()) == 1
    with qdb.read() as session:
        payloads = [job.payload for job in session.scalars(select(Job).where(Job.kind == "t.tick"))]
    assert payloads == [{"x": 1}, {"x": 1}]


def test_missed_ticks_run_once_not_once_each(qdb: Database, clock: FakeClock) -> None:
    with qdb.write() as session:
        scheduler.ensure(session, "often", "*/5 * * * *", "t.missed", now=clock())
    clock.advance(3600)  # an hour of downtime: twelve slots
    assert scheduler.tick(qdb, clock()) == 1
    with qdb.read() as session:
        row = session.get(Schedule, "often")
        assert row is not None and row.next_run_at > clock()


def test_bad_cron_is_refused(qdb: Database, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="invalid cron"), qdb.write() as session:
        scheduler.ensure(session, "bad", "every tuesday", "t.x", now=clock())


def test_token_bucket_is_shared_and_makes_callers_wait(qdb: Database) -> None:
    now = 1_000.0
    waits = [ratelimit.acquire(qdb, "conn:x", rate=2, burst=2, now=now) for _ in range(5)]
    assert waits == [0.0, 0.0, 0.5, 1.0, 1.5]  # reservations queue up at the refill rate
    assert ratelimit.acquire(qdb, "conn:x", rate=2, burst=2, now=now + 10) == 0.0  # refilled
    assert ratelimit.acquire(qdb, "conn:other", rate=2, burst=2, now=now) == 0.0  # buckets are per key


def test_workers_wait_for_a_token_instead_of_calling(
    runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    slept: list[float] = []
    calls: list[str] = []
    runtime.registry.register("t.limited", lambda ctx, payload: calls.append(ctx.job.id))
    runtime.registry.rate_limits.insert(0, lambda key: (1.0, 1.0) if key.startswith("prov:") else None)
    with qdb.write() as session:
        for _ in range(3):
            enqueue(session, "t.limited", {}, rate_key="prov:acme")
    worker = runtime.worker(clock=clock, sleep=slept.append, batch=3)
    assert worker.run_once() == 3
    assert len(calls) == 3 and slept == [1.0, 2.0]


class Switch:
    broken = True

    def __call__(self, ctx: JobContext, payload: dict[str, Any]) -> None:
        if self.broken:
            raise Invalid(
                "MANDATORY_NOT_FOUND: Last_Name", request={"body": payload}, response={"status": 400}
            )


def test_dead_letter_replay_succeeds_once_the_cause_is_fixed(
    runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    switch = Switch()
    runtime.registry.register("t.switch", switch)
    with qdb.write() as session:
        job_id = enqueue(session, "t.switch", {"order": 42}, company_id="company_x").id
    worker = runtime.worker(clock=clock)
    worker.run_once()
    with qdb.read() as session:
        rows, count = deadletters.list_(session, deadletters.Filter(company_id="company_x"))
        assert count == 1 and rows[0].id == job_id
        entry = deadletters.detail(session, rows[0])
    assert entry["request"] == {"body": {"order": 42}} and entry["response"] == {"status": 400}
    assert entry["payload"] == {"order": 42} and entry["history"][0]["outcome"] == "dead"

    with qdb.write() as session:  # replaying before the fix: dead again, nothing lost
        assert deadletters.replay(session, deadletters.Filter(ids=[job_id])) == 1
    worker.run_once()
    switch.broken = False
    with qdb.write() as session:
        assert deadletters.replay(session, deadletters.Filter(kind="t.switch")) == 1
    assert worker.run_once() == 1
    with qdb.read() as session:
        job = jobs.get(session, job_id)
        assert job is not None and job.status == "done"
        assert [a.outcome for a in jobs.attempts(session, job_id)] == ["dead", "dead", "done"]
        assert deadletters.list_(session, deadletters.Filter())[1] == 0


def test_discard_keeps_the_row_and_never_retries(runtime: Runtime, qdb: Database, clock: FakeClock) -> None:
    runtime.registry.register("t.switch2", Switch())
    with qdb.write() as session:
        job_id = enqueue(session, "t.switch2", {}).id
    runtime.worker(clock=clock).run_once()
    with qdb.write() as session:
        assert deadletters.discard(session, deadletters.Filter(error_class="Invalid")) == 1
    clock.advance(3600)
    assert runtime.worker(clock=clock).run_once() == 0
    with qdb.read() as session:
        job = jobs.get(session, job_id)
        assert job is not None and job.status == "discarded"


def test_heartbeat_keeps_a_long_job(runtime: Runtime, qdb: Database, clock: FakeClock) -> None:
    with qdb.write() as session:
        enqueue(session, "t.long", {})
    (held,) = jobs.claim(qdb, "w1", clock(), lease=10)
    clock.advance(8)
    jobs.extend_lease(qdb, held, clock(), 10)
    clock.advance(8)  # 16 s after the claim, but 8 s after the heartbeat
    assert jobs.claim(qdb, "w2", clock(), lease=10) == []
    clock.advance(3)
    assert len(jobs.claim(qdb, "w2", clock(), lease=10)) == 1


def test_a_batch_waiting_behind_a_slow_job_keeps_its_leases(
    runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    """The second job of a batch must not be run by two workers because the first one was slow."""
    ran: list[str] = []
    worker = runtime.worker("holder", clock=clock, lease=10, batch=2)
    rival = runtime.worker("rival", clock=clock, lease=10)

    def slow(ctx: JobContext, payload: dict[str, Any]) -> None:
        ran.append(f"holder:{payload['n']}")
        if payload["n"] == 1:
            clock.advance(8)
            worker.renew_leases()  # what the pool's heartbeat thread does every lease/3
            clock.advance(8)  # 16 s after the claim: job 2 outlived its first lease while it waited
            assert rival.run_once() == 0, "the waiting job's lease was renewed"

    runtime.registry.register("t.batch", slow)
    with qdb.write() as session:
        enqueue(session, "t.batch", {"n": 1}, run_at=clock() - timedelta(seconds=2))
        enqueue(session, "t.batch", {"n": 2}, run_at=clock() - timedelta(seconds=1))
    assert worker.run_once() == 2
    assert sorted(ran) == ["holder:1", "holder:2"]


def test_a_job_whose_lease_was_lost_while_waiting_is_not_run_twice(
    runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    ran: list[str] = []
    worker = runtime.worker("holder", clock=clock, lease=10, batch=2)
    rival = runtime.worker("rival", clock=clock, lease=10)

    def slow(ctx: JobContext, payload: dict[str, Any]) -> None:
        ran.append(f"{ctx.job.worker}:{payload['n']}")
        if payload["n"] == 1 and ctx.job.worker == "holder":
            clock.advance(6)
            ctx.heartbeat()  # job 1 renews its own lease, but the heartbeat thread stalled:
            clock.advance(5)  # job 2's lease expires and the rival takes it
            assert rival.run_once() == 1
            worker.renew_leases()

    runtime.registry.register("t.stall", slow)
    with qdb.write() as session:
        enqueue(session, "t.stall", {"n": 1}, run_at=clock() - timedelta(seconds=2))
        enqueue(session, "t.stall", {"n": 2}, run_at=clock() - timedelta(seconds=1))
    assert worker.run_once() == 2
    assert sorted(ran) == ["holder:1", "rival:2"]


def test_prune_removes_old_done_jobs_only(runtime: Runtime, qdb: Database, clock: FakeClock) -> None:
    runtime.registry.register("t.old", lambda ctx, payload: None)
    runtime.registry.register("t.dead", Switch())
    with qdb.write() as session:
        enqueue(session, "t.old", {})
        enqueue(session, "t.dead", {})
    worker = runtime.worker(clock=clock, batch=5)
    worker.run_once()
    clock.advance(15 * 24 * 3600)
    with qdb.write() as session:
        enqueue(session, "queue.prune", {}, run_at=clock() - timedelta(seconds=1))
    worker.run_once()
    assert total(qdb, "t.old") == 0 and total(qdb, "t.dead") == 1
