"""One inbound event's whole story: the delivery as received, the route job it started, the sync jobs that
job enqueued, and for every attempt what each step mapped, the requests sent and the responses back.

Successful attempts hold their steps (``isao.queue.worker.tell``): ``request = {"steps": [{…, "fields",
"calls": [request…]}]}`` and ``response = {"steps": [{"calls": [response…]}]}``, paired by position.
Failed attempts hold the one failing call the error carried."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from isao.dashboard.feed import event_of
from isao.db.models import Connection, InboundEvent, Job, JobAttempt
from isao.hooks.inbound import ROUTE
from isao.queue import jobs
from isao.sync.triggers import event_key


@dataclass(frozen=True)
class Call:
    request: Any
    response: Any


@dataclass(frozen=True)
class Step:
    name: str
    object: str | None
    action: str | None
    target_id: str | None
    fields: dict[str, Any]
    calls: list[Call]


@dataclass(frozen=True)
class Attempt:
    number: int
    outcome: str
    worker: str | None
    error_class: str | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime
    steps: list[Step] = field(default_factory=list)
    call: Call | None = None
    """A failure's call, or a step-less job's result (as the response)."""


@dataclass(frozen=True)
class JobStory:
    id: str
    kind: str
    status: str
    attempts: int
    max_attempts: int
    error_class: str | None
    last_error: str | None
    payload: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    event_id: str | None
    history: list[Attempt]


@dataclass(frozen=True)
class EventStory:
    id: str
    provider: str
    topic: str | None
    connection_id: str
    connection_name: str | None
    dedupe_key: str
    received_at: datetime
    headers: dict[str, Any]
    body: bytes
    jobs: list[JobStory]


def _steps(request: dict[str, Any], response: dict[str, Any] | None) -> list[Step]:
    answered = (response or {}).get("steps") or []
    steps = []
    for index, sent in enumerate(request.get("steps") or []):
        back = answered[index] if index < len(answered) and isinstance(answered[index], dict) else {}
        replies = back.get("calls") or []
        calls = [
            Call(call, replies[n] if n < len(replies) else None)
            for n, call in enumerate(sent.get("calls") or [])
        ]
        steps.append(
            Step(
                str(sent.get("step")),
                sent.get("object"),
                sent.get("action"),
                sent.get("targetId"),
                sent.get("fields") or {},
                calls,
            )
        )
    return steps


def _attempt(row: JobAttempt) -> Attempt:
    if isinstance(row.request, dict) and "steps" in row.request:
        steps, call = _steps(row.request, row.response), None
    else:
        steps, call = [], Call(row.request, row.response) if row.request or row.response else None
    return Attempt(
        row.number, row.outcome, row.worker, row.error_class, row.error, row.started_at, row.finished_at,
        steps, call,
    )  # fmt: skip


def _job(session: Session, job: Job) -> JobStory:
    inbound = job.payload.get("inbound_event_id")
    return JobStory(
        job.id, job.kind, job.status, job.attempts, job.max_attempts, job.error_class, job.last_error,
        job.payload, job.created_at, job.updated_at,
        inbound if isinstance(inbound, str) else event_of(job.dedupe_key),
        [_attempt(row) for row in jobs.attempts(session, job.id)],
    )  # fmt: skip


def job(session: Session, company_id: str, job_id: str) -> JobStory | None:
    """One of the company's jobs with its attempts; None for another company's (answered as missing)."""
    row = session.get(Job, job_id)
    if row is None or row.company_id != company_id:
        return None
    return _job(session, row)


def event(session: Session, company_id: str, event_id: str) -> EventStory | None:
    row = session.get(InboundEvent, event_id)
    if row is None or row.company_id != company_id:
        return None
    routes = select(Job).where(
        Job.company_id == company_id, Job.kind == ROUTE, Job.payload["inbound_event_id"].as_string() == row.id
    )
    syncs = select(Job).where(
        Job.company_id == company_id, Job.dedupe_key.startswith(event_key(row.id), autoescape=True)
    )
    led = [
        *session.scalars(routes.order_by(Job.created_at, Job.id)),
        *session.scalars(syncs.order_by(Job.created_at, Job.id)),
    ]
    connection = session.get(Connection, row.connection_id)
    return EventStory(
        row.id, row.provider, row.topic, row.connection_id, connection.name if connection else None,
        row.dedupe_key, row.received_at, row.headers, row.body, [_job(session, j) for j in led],
    )  # fmt: skip
