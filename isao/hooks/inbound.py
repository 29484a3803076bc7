"""The inbox: verify a provider's webhook, store it raw, drop duplicates, enqueue its job, all in one
transaction, and only then acknowledge. A provider that gets a 2xx can forget the event: it is ours.

Throughput comes from two things. Verification needs the connection's secret, which is cached for
a few seconds (decrypting it costs more than the HMAC). And deliveries are written by one thread
with group commit: whatever arrived while the previous transaction was committing is stored in the
next one, each request still answered only after the transaction holding its event committed.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import structlog
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from isao import connections, metrics
from isao.connectors import webhooks as provider_webhooks
from isao.db import Database
from isao.db.models import InboundEvent
from isao.errors import SignatureInvalid
from isao.ids import new_id
from isao.queue import jobs
from isao.queue.context import JobContext
from isao.timeutil import utcnow

log = structlog.get_logger(__name__)

ROUTE = "inbound.route"
_KEPT_HEADERS = ("content-type", "user-agent")
_INSERT = insert(cast(Table, InboundEvent.__table__))
_EVENT = select(*cast(Table, InboundEvent.__table__).c).where(InboundEvent.id == bindparam("id"))
_MAX_BATCH = 256
_DOOR = "inbox"
"""The worker name on the attempt of a route job done as its event was stored."""


@dataclass(frozen=True)
class Receipt:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Source:
    """What verifying a connection's webhooks needs."""

    connection_id: str
    provider: str
    company_id: str
    secret: str | None


@dataclass(frozen=True)
class Arrival:
    """A verified delivery, ready to store."""

    source: Source
    topic: str | None
    dedupe_key: str
    headers: dict[str, str]
    body: bytes
    received_at: datetime


class Receiver:
    """``route``: the runtime's ``Inbox.at_the_door``, to route each event as it is stored."""

    def __init__(self, db: Database, cache_seconds: float = 5.0, route: DoorRouter | None = None) -> None:
        self.db = db
        self.cache_seconds = cache_seconds
        self.sources: dict[str, tuple[Source, float]] = {}
        self.writer = GroupWriter(db, route)

    def cached(self, connection_id: str) -> Source | None:
        hit = self.sources.get(connection_id)
        if hit is not None and time.monotonic() - hit[1] < self.cache_seconds:
            return hit[0]
        return None

    def load(self, connection_id: str) -> Source | None:
        with self.db.read() as session:
            connection = connections.get(session, connection_id)
            if connection is None:
                return None
            source = Source(
                connection.id,
                connection.provider,
                connection.company_id,
                connections.webhook_secret(connection),
            )
        if len(self.sources) > 10_000:
            self.sources.clear()
        self.sources[connection_id] = (source, time.monotonic())
        return source

    def check(
        self, source: Source | None, *, url: str, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> Receipt | Arrival:
        """Everything short of storing: unknown connection, ping, signature, JSON."""
        if source is None:
            return Receipt(404, {"success": False, "error": "Connection not found"})
        headers = {key.lower(): value for key, value in headers.items()}
        try:
            spec = provider_webhooks.get(source.provider)
        except KeyError:
            return Receipt(
                404, {"success": False, "error": f"{source.provider} connections do not receive webhooks"}
            )
        if spec.is_ping(headers, body):
            return Receipt(200, {"success": True, "ping": True})
        if not source.secret:
            metrics.EVENTS_REJECTED.labels(source.provider, "no-secret").inc()
            return Receipt(
                401, {"success": False, "error": "This connection has no webhook secret configured"}
            )
        try:
            spec.verify_webhook(source.secret, headers, body, url=url, method="POST", now=now.timestamp())
        except SignatureInvalid as error:
            metrics.EVENTS_REJECTED.labels(source.provider, "signature").inc()
            return Receipt(401, {"success": False, "error": "Invalid signature", "message": str(error)})
        try:
            json.loads(body)
        except ValueError:
            metrics.EVENTS_REJECTED.labels(source.provider, "malformed").inc()
            return Receipt(
                400, {"success": False, "error": "Invalid JSON", "message": "The body is not valid JSON"}
            )
        key = spec.delivery_id(headers, body) or "sha256:" + hashlib.sha256(body).hexdigest()
        kept = {k: v for k, v in headers.items() if k.startswith("x-") or k in _KEPT_HEADERS}
        return Arrival(source, spec.topic(headers, body), key[:200], kept, body, now)

    def close(self) -> None:
        self.writer.close()


class GroupWriter:
    """One thread storing arrivals in batches: one transaction, many deliveries."""

    def __init__(self, db: Database, route: DoorRouter | None = None) -> None:
        self.db = db
        self.route = route
        self.inbox: queue.SimpleQueue[tuple[Arrival, Future[Receipt]] | None] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def submit(self, arrival: Arrival) -> Future[Receipt]:
        if self.thread is None:
            with self.lock:
                if self.thread is None:
                    self.thread = threading.Thread(target=self._run, name="isao-inbox", daemon=True)
                    self.thread.start()
        future: Future[Receipt] = Future()
        self.inbox.put((arrival, future))
        return future

    def close(self) -> None:
        if self.thread is not None:
            self.inbox.put(None)
            self.thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self.inbox.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < _MAX_BATCH:
                try:
                    item = self.inbox.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self.inbox.put(None)
                    break
                batch.append(item)
            self._write(batch)

    def _write(self, batch: list[tuple[Arrival, Future[Receipt]]]) -> None:
        arrivals = [arrival for arrival, _ in batch]
        try:
            receipts = store(self.db, arrivals, self.route)
        except Exception:  # one bad delivery must not fail the others: store them one by one
            log.warning("group commit failed; storing one by one", size=len(batch))
            for arrival, future in batch:
                try:
                    future.set_result(store(self.db, [arrival], self.route)[0])
                except Exception as error:  # the provider gets a 5xx and retries
                    future.set_exception(error)
            return
        for (_, future), receipt in zip(batch, receipts, strict=True):
            future.set_result(receipt)


def store(db: Database, arrivals: list[Arrival], route: DoorRouter | None = None) -> list[Receipt]:
    """Store the new arrivals and their jobs in one transaction; repeats become duplicate receipts.

    With ``route``, each event is routed before the transaction (it reads nothing the transaction
    writes): its route job is stored already done and the jobs it started are queued beside it. An event
    ``route`` could not route gets a queued route job, which routes it with the queue's retries."""
    planned = [(_event_row(arrival), arrival) for arrival in arrivals]
    routed = [route(_event(row)) if route else None for row, _ in planned]
    with db.write() as session:
        seen = _existing(session, arrivals)
        events: list[dict[str, Any]] = []
        queued: list[dict[str, Any]] = []
        done: list[dict[str, Any]] = []
        results: list[dict[str, Any]] = []
        started: list[dict[str, Any]] = []
        receipts: list[Receipt] = []
        for (event, arrival), rows in zip(planned, routed, strict=True):
            source = arrival.source
            key = (source.connection_id, arrival.dedupe_key)
            if key in seen:
                receipts.append(Receipt(200, {"success": True, "duplicate": True, "id": seen[key]}))
                continue
            seen[key] = event["id"]
            events.append(event)
            job = jobs.values(ROUTE, {"inbound_event_id": event["id"]}, company_id=source.company_id)
            if rows is None:
                queued.append(job)
            else:
                done.append(job)
                results.append({"routed": len(rows), "topic": event["topic"]})
                started.extend(rows)
            receipts.append(Receipt(202, {"success": True, "id": event["id"], "jobId": job["id"]}))
        if events:
            session.execute(_INSERT, events)
            jobs.enqueue_many(session, queued)
            jobs.enqueue_done(session, done, results, _DOOR, utcnow())
            jobs.enqueue_unique(session, started)
    for arrival, receipt in zip(arrivals, receipts, strict=True):
        counter = metrics.EVENTS_RECEIVED if receipt.status == 202 else metrics.EVENTS_DUPLICATE
        counter.labels(arrival.source.provider).inc()
    if done:
        metrics.JOBS.labels(ROUTE, "done").inc(len(done))
    return receipts


def _event_row(arrival: Arrival) -> dict[str, Any]:
    source = arrival.source
    return {
        "id": new_id("in"),
        "connection_id": source.connection_id,
        "company_id": source.company_id,
        "provider": source.provider,
        "topic": arrival.topic,
        "dedupe_key": arrival.dedupe_key,
        "headers": arrival.headers,
        "body": arrival.body,
        "received_at": arrival.received_at,
    }


def _event(row: Mapping[Any, Any]) -> InboundEvent:
    return InboundEvent(**row)  # a plain object: routers only read it


def _existing(session: Session, arrivals: list[Arrival]) -> dict[tuple[str, str], str]:
    keys = {arrival.dedupe_key for arrival in arrivals}
    connection_ids = {arrival.source.connection_id for arrival in arrivals}
    query = select(InboundEvent.connection_id, InboundEvent.dedupe_key, InboundEvent.id).where(
        InboundEvent.connection_id.in_(connection_ids), InboundEvent.dedupe_key.in_(keys)
    )
    return {(conn, key): event_id for conn, key, event_id in session.execute(query).tuples()}


Router = Callable[[InboundEvent], list[dict[str, Any]]]
"""An event → the jobs it starts (``jobs.values`` rows with dedupe keys, so routing twice adds nothing).
Routers run as the event is stored, so they read only local state (bindings, recipes, the body)."""
DoorRouter = Callable[[InboundEvent], list[dict[str, Any]] | None]


class Inbox:
    """Hands each stored event to the routers (the sync engine's recipes).

    Usually as the event is stored (``at_the_door``), so a webhook costs one job, its record's sync,
    not two. An event that could not be routed then gets an ``inbound.route`` job (``route``): the jobs
    its routers make are created in the transaction that completes it, already claimed by its worker,
    which runs them next."""

    def __init__(self) -> None:
        self.routers: list[Router] = []

    def at_the_door(self, event: InboundEvent) -> list[dict[str, Any]] | None:
        """The jobs the event starts, or None when a router failed (its route job will retry)."""
        try:
            return [row for router in self.routers for row in router(event)]
        except Exception:  # left to the route job, which retries and keeps the failure in its story
            log.warning("routing at the door failed; the event's route job will route it", exc_info=True)
            return None

    def route(self, ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
        with ctx.db.query() as connection:
            row = connection.execute(_EVENT, {"id": payload["inbound_event_id"]}).first()
        if row is None:
            return {"routed": 0, "note": "event no longer stored"}
        event = _event(row._mapping)
        rows = [row for router in self.routers for row in router(event)]
        result = {"routed": len(rows), "topic": event.topic}
        with ctx.core_transaction(result) as connection:
            ctx.hand_over(connection, rows)
        return result
