"""ISAO's own webhooks: signed deliveries to a real local receiver, retries, 410, disabling."""

from __future__ import annotations

import time

import orjson
from sqlalchemy import select

from isao.db import Database
from isao.db.models import Job, WebhookSubscription
from isao.hooks import signing
from isao.queue import jobs
from isao.runtime import Runtime
from tests.conftest import FakeClock, Tenant
from tests.hooks.conftest import Receiver


def subscribe(company: Tenant, event: str, url: str) -> dict:
    with company.client() as api:
        response = api.post("/webhooks/subscribe", json={"event": event, "target_url": url})
    assert response.status_code == 201
    return response.json()["data"]


def deliveries(db: Database) -> list[Job]:
    with db.read() as session:
        return list(session.scalars(select(Job).where(Job.kind == "webhook.deliver")).all())


def test_signed_delivery_reaches_the_receiver_and_verifies(
    company: Tenant, receiver: Receiver, runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    hook = subscribe(company, "deal.won", receiver.url)
    subscribe(company, "contact.created", receiver.url)
    with company.client() as api:
        deal = api.post("/deals", json={"title": "Signed", "value": 10}).json()["data"]
        won = api.put(f"/deals/{deal['id']}/status", json={"status": "won"}).json()["data"]
    assert len(deliveries(qdb)) == 1  # deal.won only: nobody subscribed to deal.created/updated

    assert runtime.worker(clock=clock).run_once() == 1
    (got,) = receiver.received
    assert signing.verify(hook["secret"], got.headers, got.body, now=clock().timestamp())
    assert not signing.verify("whsec_wrong", got.headers, got.body, now=clock().timestamp())
    assert not signing.verify(hook["secret"], got.headers, got.body + b" ", now=clock().timestamp())
    assert not signing.verify(hook["secret"], got.headers, got.body, now=clock().timestamp() + 301)
    body = orjson.loads(got.body)
    assert set(body) == {"event", "data", "id", "createdAt"}
    assert body["event"] == "deal.won" and body["id"].startswith("evt_")
    assert body["data"]["id"] == deal["id"] and body["data"]["status"] == "won"
    assert body["data"]["wonAt"] == won["actualCloseDate"]
    assert got.headers["x-isao-event"] == "deal.won" and got.headers["content-type"] == "application/json"
    (job,) = deliveries(qdb)
    assert job.status == "done"


def test_receiver_snippet_in_the_docs_verifies(
    company: Tenant, receiver: Receiver, runtime: Runtime, clock: FakeClock
) -> None:
    hook = subscribe(company, "contact.created", receiver.url)
    with company.client() as api:
        api.post("/contacts", json={"name": "Doc Snippet"})
    runtime.worker(clock=clock).run_once()
    (got,) = receiver.received
    namespace: dict = {}
    exec(_docs_snippet(), namespace)  # the receiver code a user copies from docs/webhooks.md
    assert namespace["verify_isao_signature"](hook["secret"], got.headers, got.body, now=clock().timestamp())
    assert not namespace["verify_isao_signature"](hook["secret"], got.headers, b"{}", now=clock().timestamp())


def _docs_snippet() -> str:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    return text.split("```python\n", 1)[1].split("```", 1)[0]


def test_failures_retry_on_schedule_then_succeed(
    company: Tenant, receiver: Receiver, runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    subscribe(company, "contact.created", receiver.url)
    receiver.statuses.extend([500, 429])
    with company.client() as api:
        api.post("/contacts", json={"name": "Retry Me"})
    worker = runtime.worker(clock=clock)
    worker.run_once()
    (job,) = deliveries(qdb)
    assert (
        job.status == "queued" and 27 <= (job.run_at - clock()).total_seconds() <= 33
    )  # schedule[0] = 30 s ±10 %
    clock.now = job.run_at
    worker.run_once()
    (job,) = deliveries(qdb)
    assert (
        job.status == "queued" and (job.run_at - clock()).total_seconds() >= 45
    )  # the receiver's Retry-After
    clock.now = job.run_at
    worker.run_once()
    (job,) = deliveries(qdb)
    assert job.status == "done" and len(receiver.received) == 3
    ids = {orjson.loads(r.body)["id"] for r in receiver.received}
    assert len(ids) == 1, "every retry carries the same event id"
    with qdb.read() as session:
        history = jobs.attempts(session, job.id)
    assert [a.outcome for a in history] == ["retry", "retry", "done"]
    assert history[0].response is not None and history[0].response["status"] == 500
    assert history[0].request is not None and history[0].request["url"] == receiver.url


def test_a_run_of_failures_disables_the_subscription(
    company: Tenant, receiver: Receiver, runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    hook = subscribe(company, "contact.created", receiver.url)
    receiver.statuses.extend([503] * 10)
    with company.client() as api:
        api.post("/contacts", json={"name": "Down"})
    worker = runtime.worker(clock=clock)
    for _ in range(3):  # webhook_disable_after = 3 in these tests
        worker.run_once()
        (job,) = deliveries(qdb)
        clock.now = job.run_at
    with qdb.read() as session:
        row = session.get(WebhookSubscription, hook["id"])
        assert row is not None and not row.active and row.consecutive_failures == 3
    worker.run_once()  # the queued retry finds the subscription disabled
    assert deliveries(qdb)[0].status == "done" and len(receiver.received) == 3
    with company.client() as api:
        listed = api.get("/webhooks").json()["data"]
        assert listed[0]["active"] is False
        api.post("/contacts", json={"name": "Not delivered"})
    assert len(deliveries(qdb)) == 1  # disabled: no new delivery jobs


def test_410_gone_removes_the_subscription(
    company: Tenant, receiver: Receiver, runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    hook = subscribe(company, "contact.created", receiver.url)
    receiver.statuses.append(410)
    with company.client() as api:
        api.post("/contacts", json={"name": "Gone"})
    runtime.worker(clock=clock).run_once()
    with qdb.read() as session:
        assert session.get(WebhookSubscription, hook["id"]) is None
    (job,) = deliveries(qdb)
    assert job.status == "dead" and job.error_class == "Invalid"


def test_unreachable_receiver_is_transient(
    company: Tenant, runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    subscribe(company, "contact.created", "http://127.0.0.1:9/closed")
    with company.client() as api:
        api.post("/contacts", json={"name": "Nobody home"})
    started = time.monotonic()
    runtime.worker(clock=clock).run_once()
    assert time.monotonic() - started < 15
    (job,) = deliveries(qdb)
    assert job.status == "queued" and job.error_class == "Transient"
