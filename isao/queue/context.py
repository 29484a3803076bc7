"""What a handler gets besides its payload: the job, and the transactions that complete it.

Below both the registry (whose handlers take a ``JobContext``) and the worker (which makes one per attempt),
so neither imports the other's module to name it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from isao.db import Database
from isao.db.prepared import Writer
from isao.queue import jobs
from isao.queue.jobs import Claimed
from isao.timeutil import Clock

W = TypeVar("W", Session, Connection)


class Runner(Protocol):
    """The worker running the job, as far as its context needs it."""

    @property
    def name(self) -> str: ...

    @property
    def lease(self) -> float: ...

    @property
    def clock(self) -> Clock: ...

    def defer(self, completion: Completion) -> None: ...

    def prepare(self, writer: Writer, job: Claimed) -> Claimed: ...


@dataclass
class JobContext:
    """What a handler gets besides its payload."""

    db: Database
    job: Claimed
    worker: Runner
    done: bool = False
    story: list[dict[str, Any]] = field(default_factory=list)
    """What the attempt's steps sent and got back (see ``tell``)."""
    finishing: list[Callable[[Writer], None]] = field(default_factory=list)
    handed: list[Claimed] = field(default_factory=list)
    """Follow-up jobs this one created already claimed (``hand_over``), for the worker to run next."""
    _pending: list[Claimed] | None = None

    def recorded(self, result: Any = None) -> dict[str, dict[str, Any] | None]:
        """The attempt row's ``request`` and ``response``: each step's mapped fields and requests on one side,
        its responses on the other (paired by position); a plain handler's result as the response."""
        if not self.story:
            return {"request": None, "response": result if isinstance(result, dict) else None}
        sent, received = [], []
        for step in self.story:
            calls = step.get("calls", [])
            sent.append(
                {k: v for k, v in step.items() if k != "calls"} | {"calls": [c["request"] for c in calls]}
            )
            received.append({"step": step.get("step"), "calls": [c["response"] for c in calls]})
        return {"request": {"steps": sent}, "response": {"steps": received}}

    @property
    def now(self) -> datetime:
        return self.worker.clock()

    @contextlib.contextmanager
    def transaction(self, result: Any = None) -> Iterator[Session]:
        """A write transaction that also completes the job: local effects and "done" commit together,
        so a job whose worker dies before the commit runs again with no trace of the first try."""
        with self._completing(self.db.write(), result) as session:
            yield session

    @contextlib.contextmanager
    def core_transaction(self, result: Any = None) -> Iterator[Connection]:
        """``transaction`` on a Core connection, for effects made only of Core and ``Prepared``
        statements: the hot path's (a webhook's hand-over, a record's ID-map link)."""
        with self._completing(self.db.core_write(), result) as connection:
            yield connection

    @contextlib.contextmanager
    def _completing(self, opened: contextlib.AbstractContextManager[W], result: Any) -> Iterator[W]:
        pending: list[Claimed] = []
        self._pending = pending
        try:
            with opened as writer:
                yield writer
                for finish in self.finishing:
                    finish(writer)
                jobs.complete(writer, self.job, self.now, **self.recorded(result))
        finally:
            self._pending = None
        self.done = True
        self.handed.extend(pending)

    def complete_later(self, effect: Callable[[Writer], None] | None = None, result: Any = None) -> None:
        """``core_transaction`` deferred: the worker commits it with other jobs' completions (see
        ``Worker.cycle``), one commit, and on SQLite one turn at the write lock, for many jobs.
        ``effect`` (Core or ``Prepared`` statements) commits with the job's completion. For a handler
        whose last step is local and that nothing after it waits on (the sync engine's ID-map link); a
        worker that dies first leaves the job to run again, as before a commit."""
        self.worker.defer(Completion(self.job, effect, list(self.finishing), self.recorded(result)))
        self.done = True

    def also(self, finish: Callable[[Writer], None]) -> None:
        """Run ``finish`` in the transaction that completes the job (e.g. release what the job held)."""
        self.finishing.append(finish)

    def hand_over(self, writer: Writer, rows: list[dict[str, Any]]) -> int:
        """Create follow-up jobs (``jobs.values`` rows, deduplicated) already claimed by this worker,
        inside ``transaction()`` or ``core_transaction()``: the worker runs them as soon as this job is
        done. Returns how many were new."""
        if self._pending is None:
            raise RuntimeError("hand_over belongs inside ctx.transaction() or ctx.core_transaction()")
        held = jobs.enqueue_held(writer, rows, self.worker.name, self.now, self.worker.lease)
        self._pending.extend(self.worker.prepare(writer, job) for job in held)
        return len(held)

    def heartbeat(self) -> None:
        """Extend the lease during long work; raises ``LeaseLost`` if another worker took the job."""
        jobs.extend_lease(self.db, self.job, self.now, self.worker.lease)


@dataclass(frozen=True)
class Completion:
    """A job's completion waiting for the worker's next shared commit (``JobContext.complete_later``)."""

    job: Claimed
    effect: Callable[[Writer], None] | None
    finishing: list[Callable[[Writer], None]]
    recorded: dict[str, dict[str, Any] | None]

    def commit(self, writer: Writer, now: datetime) -> None:
        if self.effect is not None:
            self.effect(writer)
        for finish in self.finishing:
            finish(writer)
        jobs.complete(writer, self.job, now, **self.recorded)
