"""Workers: claim due jobs, wait for a rate-limit token, run the handler, record the outcome.

One ``Worker`` is one loop; ``WorkerPool`` runs several in threads (``isao worker --concurrency N``,
or inside ``isao serve``). The clock and sleep are injectable, so tests drive retries without waiting.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from isao import metrics
from isao.db import Database
from isao.db.prepared import Writer
from isao.errors import AuthExpired, ProviderError
from isao.queue import jobs, ratelimit, scheduler
from isao.queue.context import Completion, JobContext
from isao.queue.foreground import foreground
from isao.queue.jobs import Claimed, LeaseLost
from isao.queue.registry import Registry
from isao.queue.retry import RetryPolicy
from isao.timeutil import Clock, utcnow

log = structlog.get_logger(__name__)
_KEPT_STEPS = 20
FLUSH_AFTER = 16
"""Deferred completions a worker commits together at most (``JobContext.complete_later``)."""
FLUSH_WAIT = 0.1
"""Seconds the first of them waits for the others at most, while the worker keeps finding jobs."""
_story: ContextVar[list[dict[str, Any]] | None] = ContextVar("isao_attempt_story", default=None)


def tell(step: dict[str, Any]) -> None:
    """Add a step to the running attempt's story: ``{"step", …, "fields", "calls": [{"request",
    "response"}]}`` (what it mapped, sent and got back). Recorded on the attempt when the job completes, so
    the dashboard shows a success as fully as a failure. Outside a job (a dry run, the CLI) it is dropped."""
    story = _story.get()
    if story is not None and len(story) < _KEPT_STEPS:
        story.append(step)


@dataclass
class Worker:
    db: Database
    registry: Registry
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    clock: Clock = utcnow
    sleep: Callable[[float], None] = time.sleep
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    lease: float = 60.0
    batch: int = 1
    schedule_every: float = 1.0
    _last_schedule: float = field(default=0.0, init=False)
    _held: dict[str, Claimed] = field(default_factory=dict, init=False)
    _lost: set[str] = field(default_factory=set, init=False)
    _held_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _deferred: list[Completion] = field(default_factory=list, init=False)
    _deferred_since: float = field(default=0.0, init=False)

    def run_once(self) -> int:
        """Claim and run what is due now, and commit their completions; returns how many jobs were run."""
        ran = self.cycle()
        self.flush()
        return ran

    def cycle(self) -> int:
        """``run_once`` for the worker loop: completions deferred by the jobs (``complete_later``) wait for
        the next batches' until ``FLUSH_AFTER`` of them or ``FLUSH_WAIT`` seconds, or the queue is empty."""
        self._tick_scheduler()
        claimed = jobs.claim(self.db, self.name, self.clock(), self.lease, self.batch, self.prepare)
        self._run_held(claimed)
        if not claimed or self._flush_due():
            self.flush()
        return len(claimed)

    def prepare(self, writer: Writer, job: Claimed) -> Claimed:
        """The job as its kind prepares it, in the transaction that gives it to this worker."""
        kind = self.registry.kinds.get(job.kind)
        return kind.prepare(writer, job) if kind and kind.prepare else job

    def _run_held(self, held: list[Claimed]) -> None:
        """Run jobs this worker holds (claimed, or handed over by the job before), renewing the leases of
        those still waiting their turn."""
        with self._held_lock:
            self._held.update((job.id, job) for job in held)
        try:
            for job in held:
                handed: list[Claimed] = []
                if self._still_ours(job):
                    foreground.give_way()
                    if self._flush_due() or self._may_wait_on_a_deferred_completion(job):
                        self.flush()
                    handed = self.run(job)
                else:
                    log.warning("lease lost before the job started; another worker has it", job=job.id)
                self._let_go([job])
                if handed:
                    self._run_held(handed)
        finally:
            self._let_go(held)

    def _let_go(self, jobs_run: list[Claimed]) -> None:
        """Stop renewing the leases of jobs that have run, but for those whose completion is deferred:
        they stay held until it commits."""
        deferred = {completion.job.id for completion in self._deferred}
        with self._held_lock:
            for job in jobs_run:
                if job.id not in deferred:
                    self._held.pop(job.id, None)
                    self._lost.discard(job.id)

    def defer(self, completion: Completion) -> None:
        if not self._deferred:
            self._deferred_since = time.monotonic()
        self._deferred.append(completion)

    def _flush_due(self) -> bool:
        return bool(self._deferred) and (
            len(self._deferred) >= FLUSH_AFTER or time.monotonic() - self._deferred_since >= FLUSH_WAIT
        )

    def flush(self) -> None:
        """Commit the deferred completions together; if one was fenced off (its lease was lost), commit the
        others one by one, so only that one's result is dropped."""
        pending = self._deferred
        if not pending:
            return
        try:
            self._commit(pending)
        finally:
            self._deferred = []
            self._let_go([completion.job for completion in pending])

    def _commit(self, pending: list[Completion]) -> None:
        try:
            with self.db.core_write() as connection:
                for completion in pending:
                    completion.commit(connection, self.clock())
            return
        except LeaseLost:
            pass
        for completion in pending:
            try:
                with self.db.core_write() as connection:
                    completion.commit(connection, self.clock())
            except LeaseLost:
                log.warning("finished after the lease expired; the other worker's result stands",
                            job=completion.job.id)  # fmt: skip

    def _may_wait_on_a_deferred_completion(self, job: Claimed) -> bool:
        """A job that could not take its lock when claimed may wait on a deferred completion of this worker
        (two webhooks for one record, close together): those commit first, so it takes the lock at once."""
        kind = self.registry.kinds.get(job.kind)
        return bool(self._deferred) and kind is not None and kind.prepare is not None and not job.locks

    def _still_ours(self, job: Claimed) -> bool:
        with self._held_lock:
            return job.id not in self._lost

    def renew_leases(self) -> None:
        """Extend the lease of every job this worker holds, running or waiting its turn in the batch.

        Without it a job that waits behind slow batch-mates, or waits on a provider, outlives its lease
        and a second worker runs it too: fencing keeps the second result out of the queue, but both
        would already have written to the provider.
        """
        with self._held_lock:
            held = [job for job in self._held.values() if job.id not in self._lost]
        for job in held:
            try:
                jobs.extend_lease(self.db, job, self.clock(), self.lease)
            except LeaseLost:  # or finished meanwhile: then it is no longer held
                with self._held_lock:
                    if job.id in self._held:
                        self._lost.add(job.id)

    def _tick_scheduler(self) -> None:
        moment = time.monotonic()
        if moment - self._last_schedule >= self.schedule_every:
            self._last_schedule = moment
            scheduler.tick(self.db, self.clock())

    def run(self, job: Claimed) -> list[Claimed]:
        """Run one attempt; returns the follow-up jobs it handed to this worker (committed, so due whatever
        became of the attempt afterwards)."""
        kind = self.registry.kinds.get(job.kind)
        log.debug("job start", job=job.id, kind=job.kind, attempt=job.attempt)
        if kind is None:
            self._failed(job, LookupError(f"no handler registered for job kind {job.kind!r}"), retry=False)
            return []
        self._wait_for_token(job)
        context = JobContext(self.db, job, self)
        started = time.perf_counter()
        telling = _story.set(context.story)
        try:
            result = kind.handler(context, job.payload)
        except LeaseLost:
            log.warning("lease lost; another worker has the job", job=job.id)
            return context.handed
        except Exception as error:  # classified below: nothing escapes a job
            metrics.JOB_DURATION.labels(job.kind).observe(time.perf_counter() - started)
            self._failed(job, error, policy=kind.policy)
            return context.handed
        finally:
            _story.reset(telling)
        metrics.JOB_DURATION.labels(job.kind).observe(time.perf_counter() - started)
        if not context.done:
            context.complete_later(result=result)
        metrics.JOBS.labels(job.kind, "done").inc()
        latency = (self.clock() - job.created_at).total_seconds()
        metrics.JOB_LATENCY.labels(job.kind).observe(max(0.0, latency))
        return context.handed

    def _wait_for_token(self, job: Claimed) -> None:
        if not job.rate_key:
            return
        limits = self.registry.limits_for(job.rate_key)
        if limits is None:
            return
        rate, burst = limits
        wait = ratelimit.acquire(self.db, job.rate_key, rate, burst, self.clock().timestamp())
        if wait > 0:
            if wait > self.lease / 2:
                jobs.extend_lease(self.db, job, self.clock(), self.lease + wait)
            self.sleep(wait)

    def _failed(
        self, job: Claimed, error: BaseException, *, policy: RetryPolicy | None = None, retry: bool = True
    ) -> None:
        now = self.clock()
        kind = self.registry.kinds.get(job.kind)
        max_attempts = (kind.max_attempts if kind else None) or job.max_attempts
        decision = (policy or self.policy).decide(error, job.attempt, max_attempts, now)
        retry_at = decision.retry_at if retry else None
        if isinstance(error, AuthExpired) and retry_at is not None:
            retry_at = self._refresh(error, now, policy or self.policy, job)
        request = getattr(error, "request", None) if isinstance(error, ProviderError) else None
        response = getattr(error, "response", None) if isinstance(error, ProviderError) else None
        message = str(error) if isinstance(error, ProviderError) else _describe(error)
        try:
            with self.db.write() as session:
                state = jobs.fail(
                    session,
                    job,
                    now,
                    retry_at=retry_at,
                    error_class=type(error).__name__,
                    error=message,
                    request=request,
                    response=response,
                )
        except LeaseLost:
            return
        metrics.JOBS.labels(job.kind, "retried" if state == jobs.QUEUED else "dead").inc()
        log.info(
            "job failed", job=job.id, kind=job.kind, attempt=job.attempt, state=state, reason=decision.reason
        )

    def _refresh(self, error: AuthExpired, now: datetime, policy: RetryPolicy, job: Claimed) -> datetime:
        """Refresh, then retry at once; if refreshing fails, back off like any transient error."""
        if error.connection_id is None:
            return now + timedelta(seconds=policy.backoff(job.attempt))
        try:
            self.registry.refresh(error.connection_id)
        except Exception as refresh_error:  # a refresh that fails is retried on the next attempt
            log.warning("token refresh failed", connection=error.connection_id, error=str(refresh_error))
            return now + timedelta(seconds=policy.backoff(job.attempt))
        return now


def _describe(error: BaseException) -> str:
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    return "".join(lines)[-4000:]


class WorkerPool:
    """``concurrency`` worker loops in daemon threads, stopped together."""

    def __init__(self, make_worker: Callable[[int], Worker], concurrency: int, poll: float = 0.5) -> None:
        self.workers = [make_worker(i) for i in range(concurrency)]
        self.poll = poll
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for worker in self.workers:
            thread = threading.Thread(
                target=self._loop, args=(worker,), name=f"isao-{worker.name}", daemon=True
            )
            thread.start()
            self.threads.append(thread)
        if self.workers:
            heartbeat = threading.Thread(target=self._heartbeat, name="isao-heartbeat", daemon=True)
            heartbeat.start()
            self.threads.append(heartbeat)

    def _heartbeat(self) -> None:
        """Renew every held lease three times per lease: only a dead process lets its jobs go."""
        every = min(worker.lease for worker in self.workers) / 3
        while not self.stopping.wait(every):
            for worker in self.workers:
                try:
                    worker.renew_leases()
                except Exception:  # a database hiccup: the next beat tries again
                    log.exception("lease renewal failed")

    def _loop(self, worker: Worker) -> None:
        while not self.stopping.is_set():
            try:
                busy = worker.cycle()
            except Exception:  # a database hiccup must not kill the worker thread
                log.exception("worker loop error")
                busy = 0
            if not busy:
                jobs.wakeup.wait(self.poll)
                jobs.wakeup.clear()
        try:
            worker.flush()
        except Exception:  # their leases expire and the jobs run again
            log.exception("committing the last completions failed")

    def stop(self, timeout: float = 10) -> None:
        self.stopping.set()
        jobs.wakeup.set()
        for thread in self.threads:
            thread.join(timeout)

    def __enter__(self) -> WorkerPool:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
