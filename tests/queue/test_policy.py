"""Each error class follows its policy, driven by a fake clock (no sleeping)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from isao.db import Database
from isao.errors import AuthExpired, Conflict, Invalid, NotFound, RateLimited, Transient
from isao.queue import enqueue, jobs
from isao.queue.context import JobContext
from isao.queue.retry import RetryPolicy, ScheduledRetryPolicy
from isao.runtime import Runtime
from tests.conftest import FakeClock


class Flaky:
    """Raises the queued errors one per call, then succeeds."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"ok": True}


def submit(db: Database, kind: str, max_attempts: int = 5) -> str:
    with db.write() as session:
        return enqueue(session, kind, {}, max_attempts=max_attempts).id


def state(db: Database, job_id: str) -> tuple[str, int, Any]:
    with db.read() as session:
        job = jobs.get(session, job_id)
        assert job is not None
        return job.status, job.attempts, job.run_at


def test_rate_limited_waits_at_least_retry_after(runtime: Runtime, qdb: Database, clock: FakeClock) -> None:
    handler = Flaky(RateLimited("slow down", retry_after=30))
    runtime.registry.register("t.rate", handler)
    worker = runtime.worker(clock=clock)
    job_id = submit(qdb, "t.rate")
    start = clock()
    assert worker.run_once() == 1
    status, attempts, run_at = state(qdb, job_id)
    assert (status, attempts) == ("queued", 1) and run_at >= start + timedelta(seconds=30)
    clock.advance(29)
    assert worker.run_once() == 0  # not before Retry-After
    clock.advance(1.01)
    assert worker.run_once() == 1
    assert state(qdb, job_id)[0] == "done" and handler.calls == 2


def test_transient_backs_off_with_full_jitter_up_to_the_cap(
    runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    handler = Flaky(*[Transient("503") for _ in range(6)])
    runtime.registry.register("t.transient", handler)
    worker = runtime.worker(clock=clock, policy=RetryPolicy(base=2, cap=10))
    job_id = submit(qdb, "t.transient", max_attempts=10)
    for attempt in range(1, 7):
        before = clock()
        assert worker.run_once() == 1
        status, attempts, run_at = state(qdb, job_id)
        delay = (run_at - before).total_seconds()
        assert status == "queued" and attempts == attempt
        assert 0 <= delay <= min(10, 2 * 2 ** (attempt - 1)) + 0.001
        clock.now = run_at
    assert worker.run_once() == 1
    assert state(qdb, job_id)[0] == "done"


def test_full_jitter_spreads_retries() -> None:
    policy = RetryPolicy(base=1, cap=60)
    waits = {round(policy.backoff(6), 3) for _ in range(50)}
    assert len(waits) > 40 and all(0 <= w <= 32 for w in waits)


def test_auth_expired_refreshes_then_retries_at_once(
    runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    refreshed: list[str] = []
    runtime.registry.on_auth_expired("conn_", refreshed.append)
    handler = Flaky(AuthExpired("401", connection_id="conn_abc"))
    runtime.registry.register("t.auth", handler)
    worker = runtime.worker(clock=clock)
    job_id = submit(qdb, "t.auth")
    worker.run_once()
    status, _, run_at = state(qdb, job_id)
    assert refreshed == ["conn_abc"] and status == "queued" and run_at == clock()
    assert worker.run_once() == 1  # same instant: no waiting
    assert state(qdb, job_id)[0] == "done"


def test_auth_refresh_failure_backs_off(runtime: Runtime, qdb: Database, clock: FakeClock) -> None:
    def broken(connection_id: str) -> None:
        raise RuntimeError("token endpoint down")

    runtime.registry.on_auth_expired("conn_", broken)
    runtime.registry.register("t.auth2", Flaky(AuthExpired("401", connection_id="conn_x")))
    worker = runtime.worker(clock=clock, policy=RetryPolicy(base=5, cap=5))
    job_id = submit(qdb, "t.auth2")
    worker.run_once()
    status, _, run_at = state(qdb, job_id)
    assert status == "queued" and clock() <= run_at <= clock() + timedelta(seconds=5)


@pytest.mark.parametrize(
    "error", [Invalid("400 bad", details={"email": "bad"}), NotFound("gone"), Conflict("dup")]
)
def test_permanent_errors_dead_letter_without_retry(
    runtime: Runtime, qdb: Database, clock: FakeClock, error: Exception
) -> None:
    handler = Flaky(error)
    runtime.registry.register("t.invalid", handler)
    job_id = submit(qdb, "t.invalid", max_attempts=5)
    runtime.worker(clock=clock).run_once()
    status, attempts, _ = state(qdb, job_id)
    assert (status, attempts, handler.calls) == ("dead", 1, 1)


def test_exhausted_attempts_dead_letter(runtime: Runtime, qdb: Database, clock: FakeClock) -> None:
    handler = Flaky(*[Transient("timeout") for _ in range(10)])
    runtime.registry.register("t.exhaust", handler)
    worker = runtime.worker(clock=clock, policy=RetryPolicy(base=1, cap=1))
    job_id = submit(qdb, "t.exhaust", max_attempts=3)
    for _ in range(3):
        worker.run_once()
        clock.advance(2)
    status, attempts, _ = state(qdb, job_id)
    assert (status, attempts, handler.calls) == ("dead", 3, 3)
    with qdb.read() as session:
        history = [(a.number, a.outcome, a.error_class) for a in jobs.attempts(session, job_id)]
    assert history == [(1, "retry", "Transient"), (2, "retry", "Transient"), (3, "dead", "Transient")]


def test_unexpected_exceptions_are_retried_with_traceback(
    runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    runtime.registry.register("t.bug", Flaky(ZeroDivisionError("oops")))
    job_id = submit(qdb, "t.bug")
    runtime.worker(clock=clock).run_once()
    with qdb.read() as session:
        job = jobs.get(session, job_id)
        assert job is not None and job.status == "queued"
        assert job.error_class == "ZeroDivisionError" and "Traceback" in (job.last_error or "")


def test_unknown_kind_is_dead_lettered(runtime: Runtime, qdb: Database, clock: FakeClock) -> None:
    job_id = submit(qdb, "t.nobody-handles-this")
    runtime.worker(clock=clock).run_once()
    assert state(qdb, job_id)[0] == "dead"


def test_scheduled_policy_covers_a_day() -> None:
    policy = ScheduledRetryPolicy(delays=[30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200])
    total = sum(policy.backoff(attempt) for attempt in range(1, 10))
    assert total >= 24 * 3600 * 0.9 * 1.1  # even with every draw at -10 %, more than a day
    assert ScheduledRetryPolicy(delays=[10]).backoff(5) <= 11  # past the end: the last delay


def test_provider_request_and_response_are_kept(runtime: Runtime, qdb: Database, clock: FakeClock) -> None:
    error = Invalid(
        "400 from Zoho",
        request={"method": "POST", "url": "https://zoho.example/crm/v2/Deals", "body": {"Deal_Name": ""}},
        response={"status": 400, "body": {"code": "MANDATORY_NOT_FOUND"}},
    )
    runtime.registry.register("t.kept", Flaky(error))
    job_id = submit(qdb, "t.kept")
    runtime.worker(clock=clock).run_once()
    with qdb.read() as session:
        (attempt,) = jobs.attempts(session, job_id)
    assert attempt.request == error.request and attempt.response == error.response
