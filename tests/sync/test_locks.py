"""Two jobs for one source record never sync it at the same time; a dead holder frees its lock."""

from __future__ import annotations

from isao.db import Database
from isao.queue import enqueue, jobs
from isao.sync import locks
from tests.conftest import FakeClock, empty_queue


def _claim_two(qdb: Database, clock: FakeClock) -> tuple[jobs.Claimed, jobs.Claimed]:
    empty_queue(qdb)
    with qdb.write() as session:
        enqueue(session, "t.lock", {"n": 1})
        enqueue(session, "t.lock", {"n": 2})
    first, second = jobs.claim(qdb, "w", clock(), lease=10, limit=2)
    return first, second


def test_a_record_is_held_by_one_running_job_until_it_releases(qdb: Database, clock: FakeClock) -> None:
    first, second = _claim_two(qdb, clock)
    assert locks.acquire(qdb, "b:orders:42", first)
    assert locks.acquire(qdb, "b:orders:42", first), "re-entrant for the same attempt"
    assert not locks.acquire(qdb, "b:orders:42", second)
    assert locks.acquire(qdb, "b:orders:43", second), "other records are not held"
    locks.release(qdb, "b:orders:42", first)
    assert locks.acquire(qdb, "b:orders:42", second)


def test_the_lock_of_a_finished_or_dead_job_is_free(qdb: Database, clock: FakeClock) -> None:
    first, second = _claim_two(qdb, clock)
    assert locks.acquire(qdb, "b:orders:7", first)
    with qdb.write() as session:
        jobs.complete(session, first, clock())  # finished without releasing (killed right after)
    assert locks.acquire(qdb, "b:orders:7", second)

    clock.advance(11)  # second's worker died: its lease expired and the job went back to the queue
    (again,) = jobs.claim(qdb, "w2", clock(), lease=10, limit=1)
    assert again.id == second.id and again.attempt == second.attempt + 1
    assert locks.acquire(qdb, "b:orders:7", again)
