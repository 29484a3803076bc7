"""Wiring: the job handlers, schedules and workers that `isao serve` and `isao worker` share."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from isao import connections, logs
from isao.config import Settings
from isao.db import Database
from isao.db.models import Job
from isao.hooks.inbound import ROUTE, Inbox
from isao.hooks.outbound import Deliverer
from isao.queue import jobs, scheduler
from isao.queue.context import JobContext
from isao.queue.registry import Registry
from isao.queue.retry import RetryPolicy
from isao.queue.worker import Worker, WorkerPool
from isao.sync.backfill import BACKFILL, Backfiller
from isao.sync.batch import BATCH, Batcher
from isao.sync.bindings import POLL
from isao.sync.engine import RECORD, Engine
from isao.sync.triggers import Triggers
from isao.timeutil import utcnow

PRUNE = "queue.prune"
KEEP_DONE = timedelta(days=14)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    registry: Registry = field(default_factory=Registry)
    inbox: Inbox = field(default_factory=Inbox)
    deliverer: Deliverer | None = None

    def __post_init__(self) -> None:
        logs.configure(self.settings.log_level)
        self.deliverer = Deliverer(self.settings)
        self.deliverer.register(self.registry)
        self.registry.register(ROUTE, self.inbox.route)
        self.registry.register(PRUNE, prune)
        self.registry.on_auth_expired("conn_", self.refresh_connection)
        self.engine = Engine(self.db, self.settings.recipes_dir)
        triggers = Triggers(self.engine)
        self.registry.register(RECORD, self.engine.handle, prepare=self.engine.prepare)
        self.registry.register(BATCH, Batcher(self.engine).handle)
        self.registry.register(POLL, triggers.poll)
        self.registry.register(BACKFILL, Backfiller(self.engine).handle)
        self.inbox.routers.append(triggers.route)
        for module in self.settings.plugins:
            plugin = importlib.import_module(module)
            plugin.register(self)
        with self.db.write() as session:
            scheduler.ensure(session, PRUNE, "17 3 * * *", PRUNE, now=utcnow())

    def refresh_connection(self, connection_id: str) -> None:
        """The queue's answer to ``AuthExpired``: a forced, single-flight token refresh."""
        client = connections.open_client(self.db, connection_id)
        try:
            client.refresh_token()
        finally:
            client.close()

    def worker(self, name: str | None = None, **overrides: Any) -> Worker:
        options: dict[str, Any] = {
            "policy": RetryPolicy(self.settings.retry_base_seconds, self.settings.retry_cap_seconds),
            "lease": self.settings.job_lease_seconds,
            "batch": self.settings.worker_batch,
        } | overrides
        if name:
            options["name"] = name
        return Worker(self.db, self.registry, **options)

    def pool(self, concurrency: int, prefix: str | None = None) -> WorkerPool:
        base = self.worker().name if prefix is None else prefix
        return WorkerPool(
            lambda i: self.worker(f"{base}/{i}"), concurrency, poll=self.settings.worker_poll_seconds
        )

    def close(self) -> None:
        if self.deliverer is not None:
            self.deliverer.close()
        self.engine.close()


def prune(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Delete finished jobs older than two weeks; dead ones stay until replayed or discarded."""
    cutoff = ctx.now - KEEP_DONE
    with ctx.db.write() as session:
        result = session.execute(delete(Job).where(Job.status == jobs.DONE, Job.finished_at < cutoff))
    return {"deleted": getattr(result, "rowcount", 0)}
