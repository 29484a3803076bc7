"""POST /hooks/{connection_id} over real HTTP: verify, store, dedupe, enqueue, then acknowledge."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from isao import connections
from isao.api import hooks as hook_routes
from isao.connectors import hubspot, shopify, stripe, woocommerce
from isao.db import Database
from isao.db.models import InboundEvent, Job, JobAttempt
from isao.queue import jobs
from tests.conftest import LiveServer, Tenant, serve

SECRET = "wc-secret-&-more"
ORDER = {
    "id": 727,
    "status": "processing",
    "billing": {"email": "ada@example.com"},
    "total": "25.00",
    "note": "slashes \\/ and ünïcödé",
}


def connect(db: Database, company: Tenant, provider: str, secret: str = SECRET) -> str:
    key = "client_secret" if provider == "hubspot" else "webhook_secret"
    with db.write() as session:
        return connections.create(
            session, company.company_id, provider, f"{provider}-{time.time_ns()}", secrets={key: secret}
        ).id


def stored(db: Database, connection_id: str) -> tuple[int, int]:
    with db.read() as session:
        events = session.scalar(
            select(func.count()).select_from(InboundEvent).where(InboundEvent.connection_id == connection_id)
        )
        queued = session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.kind == "inbound.route", Job.company_id.is_not(None))
        )
    return events or 0, queued or 0


def test_signed_woocommerce_order_is_stored_and_routed(
    hooks_server: LiveServer, qdb: Database, company: Tenant
) -> None:
    conn = connect(qdb, company, "woocommerce")
    body = orjson.dumps(ORDER)
    headers = woocommerce.sign(SECRET, body, topic="order.created", webhook_id=3, delivery_id="d-1")
    answer = httpx.post(f"{hooks_server.url}/hooks/{conn}", content=body, headers=headers)
    assert answer.status_code == 202, answer.text
    receipt = answer.json()
    assert (
        receipt["success"] is True and receipt["id"].startswith("in_") and receipt["jobId"].startswith("job_")
    )
    with qdb.read() as session:
        event = session.get(InboundEvent, receipt["id"])
        job = session.get(Job, receipt["jobId"])
        assert event is not None and job is not None
        assert event.body == body and event.topic == "order.created" and event.provider == "woocommerce"
        assert event.headers["x-wc-webhook-delivery-id"] == "d-1"
        assert job.payload == {"inbound_event_id": event.id} and job.company_id == company.company_id
        # routed as it was stored: no recipe is bound to this connection, so it started nothing
        assert job.status == "done" and job.attempts == 1
        attempt = session.scalars(select(JobAttempt).where(JobAttempt.job_id == job.id)).one()
        assert attempt.outcome == "done" and attempt.response == {"routed": 0, "topic": "order.created"}


def test_routed_as_stored_or_by_its_route_job_when_a_router_fails(
    hooks_app: FastAPI, hooks_server: LiveServer, qdb: Database, company: Tenant
) -> None:
    """The routers' jobs are queued with the event; a router that raises leaves the event to a queued
    route job, which the worker runs with the queue's retries and routes the same way."""
    conn = connect(qdb, company, "woocommerce")
    runtime = hooks_app.state.runtime
    failing = {"door": True}
    started: list[int] = []

    def router(event: InboundEvent) -> list[dict[str, Any]]:
        if event.connection_id != conn:
            return []
        order = orjson.loads(event.body)["id"]
        if order == 2 and failing["door"]:
            failing["door"] = False
            raise RuntimeError("a router's bad moment")
        return [jobs.values("t.routed", {"order": order}, dedupe_key=f"t.routed:{event.id}")]

    runtime.registry.register("t.routed", lambda ctx, payload: started.append(payload["order"]))
    runtime.inbox.routers.append(router)
    try:
        receipts = []
        for order in (1, 2):
            body = orjson.dumps({**ORDER, "id": order})
            headers = woocommerce.sign(SECRET, body, topic="order.created", delivery_id=f"routed-{order}")
            answer = httpx.post(f"{hooks_server.url}/hooks/{conn}", content=body, headers=headers)
            assert answer.status_code == 202, answer.text
            receipts.append(answer.json())
        with qdb.read() as session:
            routes = [session.get(Job, receipt["jobId"]) for receipt in receipts]
            assert [job.status for job in routes if job] == ["done", "queued"]
            routed = session.scalars(select(Job.payload).where(Job.kind == "t.routed")).all()
            assert routed == [{"order": 1}]
        worker = runtime.worker("door-test")
        while worker.run_once():
            pass
        assert sorted(started) == [1, 2]
        with qdb.read() as session:
            assert session.get(Job, receipts[1]["jobId"]).status == "done"  # type: ignore[union-attr]
    finally:
        runtime.inbox.routers.remove(router)


def test_bad_signature_stores_nothing(hooks_server: LiveServer, qdb: Database, company: Tenant) -> None:
    conn = connect(qdb, company, "woocommerce")
    body = orjson.dumps(ORDER)
    forged = woocommerce.sign("not-the-secret", body, topic="order.created", delivery_id="d-2")
    for headers in (forged, {"Content-Type": "application/json"}):
        answer = httpx.post(f"{hooks_server.url}/hooks/{conn}", content=body, headers=headers)
        assert answer.status_code == 401
        assert answer.json()["success"] is False and answer.json()["error"] == "Invalid signature"
    tampered = woocommerce.sign(SECRET, body, delivery_id="d-3")
    answer = httpx.post(
        f"{hooks_server.url}/hooks/{conn}", content=body.replace(b"25.00", b"0.01"), headers=tampered
    )
    assert answer.status_code == 401
    assert stored(qdb, conn)[0] == 0


def test_duplicate_delivery_yields_one_job(hooks_server: LiveServer, qdb: Database, company: Tenant) -> None:
    conn = connect(qdb, company, "woocommerce")
    body = orjson.dumps(ORDER)
    headers = woocommerce.sign(SECRET, body, topic="order.updated", delivery_id="same-delivery")
    first = httpx.post(f"{hooks_server.url}/hooks/{conn}", content=body, headers=headers)
    second = httpx.post(f"{hooks_server.url}/hooks/{conn}", content=body, headers=headers)
    assert first.status_code == 202
    assert second.status_code == 200 and second.json() == {
        "success": True,
        "duplicate": True,
        "id": first.json()["id"],
    }
    # no delivery id: the body hash dedupes
    plain = woocommerce.sign(SECRET, b'{"id": 9}')
    assert (
        httpx.post(f"{hooks_server.url}/hooks/{conn}", content=b'{"id": 9}', headers=plain).status_code == 202
    )
    assert (
        httpx.post(f"{hooks_server.url}/hooks/{conn}", content=b'{"id": 9}', headers=plain).status_code == 200
    )
    with qdb.read() as session:
        jobs_for_conn = session.scalar(
            select(func.count())
            .select_from(Job)
            .join(InboundEvent, Job.payload["inbound_event_id"].as_string() == InboundEvent.id)
            .where(InboundEvent.connection_id == conn)
        )
    assert stored(qdb, conn)[0] == 2 and jobs_for_conn == 2


def test_woocommerce_ping_is_acknowledged_not_stored(
    hooks_server: LiveServer, qdb: Database, company: Tenant
) -> None:
    conn = connect(qdb, company, "woocommerce")
    answer = httpx.post(
        f"{hooks_server.url}/hooks/{conn}",
        content=b"webhook_id=12",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200 and answer.json()["ping"] is True
    assert stored(qdb, conn)[0] == 0


def test_malformed_json_is_400_and_not_stored(
    hooks_server: LiveServer, qdb: Database, company: Tenant
) -> None:
    conn = connect(qdb, company, "woocommerce")
    body = b'{"id": 1, "status": '
    answer = httpx.post(
        f"{hooks_server.url}/hooks/{conn}", content=body, headers=woocommerce.sign(SECRET, body)
    )
    assert answer.status_code == 400 and answer.json()["error"] == "Invalid JSON"
    assert stored(qdb, conn)[0] == 0


def test_oversized_body_is_413(hooks_server: LiveServer, qdb: Database, company: Tenant) -> None:
    conn = connect(qdb, company, "woocommerce")
    body = b'{"pad": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    answer = httpx.post(
        f"{hooks_server.url}/hooks/{conn}", content=body, headers=woocommerce.sign(SECRET, body)
    )
    assert answer.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit still holds while streaming
        yield b'{"pad": "'
        for _ in range(6):
            yield b"y" * (1024 * 1024)
        yield b'"}'

    streamed = httpx.post(
        f"{hooks_server.url}/hooks/{conn}", content=chunks(), headers=woocommerce.sign(SECRET, b"")
    )
    assert streamed.status_code == 413
    assert stored(qdb, conn)[0] == 0


def test_unknown_connection_is_404(hooks_server: LiveServer) -> None:
    answer = httpx.post(f"{hooks_server.url}/hooks/conn_nope", content=b"{}")
    assert answer.status_code == 404 and answer.json()["error"] == "Connection not found"


@pytest.mark.parametrize("provider", ["shopify", "stripe", "hubspot"])
def test_other_providers_signatures(
    hooks_server: LiveServer, qdb: Database, company: Tenant, provider: str
) -> None:
    secret = f"{provider}-secret"
    conn = connect(qdb, company, provider, secret)
    url = f"{hooks_server.url}/hooks/{conn}"
    now = time.time()
    if provider == "shopify":
        body = orjson.dumps({"id": 820982911946154508, "email": "jon@example.com"})
        good, bad = (
            shopify.sign(secret, body, topic="orders/create", webhook_id="w-1"),
            shopify.sign("x", body),
        )
    elif provider == "stripe":
        body = orjson.dumps({"id": "evt_1", "type": "charge.succeeded", "data": {"object": {}}})
        good, bad = stripe.sign(secret, body, int(now)), stripe.sign(secret, body, int(now) - 3600)
    else:
        body = orjson.dumps(
            [
                {
                    "eventId": 1,
                    "subscriptionId": 2,
                    "occurredAt": 3,
                    "subscriptionType": "contact.creation",
                    "objectId": 51,
                }
            ]
        )
        good = hubspot.sign(secret, "POST", url, body, int(now * 1000))
        bad = hubspot.sign(secret, "POST", url, body, int((now - 3600) * 1000))
    assert httpx.post(url, content=body, headers=bad).status_code == 401
    answer = httpx.post(url, content=body, headers=good)
    assert answer.status_code == 202, answer.text
    assert httpx.post(url, content=body, headers=good).json()["duplicate"] is True
    with qdb.read() as session:
        event = session.get(InboundEvent, answer.json()["id"])
        assert event is not None and event.topic in ("orders/create", "charge.succeeded", "contact.creation")


def test_metrics_count_what_came_in(hooks_server: LiveServer, qdb: Database, company: Tenant) -> None:
    conn = connect(qdb, company, "woocommerce")
    body = orjson.dumps({"id": 1001})
    httpx.post(f"{hooks_server.url}/hooks/{conn}", content=body, headers=woocommerce.sign(SECRET, body))
    text = httpx.get(f"{hooks_server.url}/metrics").text
    assert 'isao_events_received_total{provider="woocommerce"}' in text
    assert 'isao_queue_depth{status="queued"}' in text
    for name in ("isao_jobs_total", "isao_job_latency_seconds", "isao_rate_limit_waits_total"):
        assert f"# TYPE {name}" in text


def test_concurrent_deliveries_are_group_committed_once_each(
    hooks_server: LiveServer, qdb: Database, company: Tenant
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    conn = connect(qdb, company, "woocommerce")
    url = f"{hooks_server.url}/hooks/{conn}"
    deliveries = []
    for n in range(120):
        body = orjson.dumps({"id": n, "status": "processing"})
        deliveries.append(
            (body, woocommerce.sign(SECRET, body, topic="order.created", delivery_id=f"burst-{n}"))
        )
    deliveries += deliveries[:30]  # repeats, racing their originals

    with httpx.Client() as client, ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda d: client.post(url, content=d[0], headers=d[1]), deliveries))
    assert all(a.status_code in (200, 202) for a in answers)
    assert sum(a.status_code == 202 for a in answers) == 120
    with qdb.read() as session:
        ids = session.scalars(select(InboundEvent.id).where(InboundEvent.connection_id == conn)).all()
        queued = session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.kind == "inbound.route", Job.company_id == company.company_id)
        )
    assert len(ids) == 120 and queued == 120
    acknowledged = {a.json()["id"] for a in answers}
    assert acknowledged == set(ids)  # every acknowledgement names a stored event, duplicates the original


def test_the_documented_route_answers_like_the_fast_path(
    hooks_app: FastAPI, qdb: Database, company: Tenant
) -> None:
    """``ExternalApiMiddleware`` serves deliveries before routing; the FastAPI route (what OpenAPI
    documents, and what an app without that middleware runs) must answer the same way."""
    bare = FastAPI()
    bare.state.receiver, bare.state.settings = hooks_app.state.receiver, hooks_app.state.settings
    bare.include_router(hook_routes.router)
    conn = connect(qdb, company, "woocommerce")
    body = orjson.dumps(ORDER | {"id": 728})
    headers = woocommerce.sign(SECRET, body, topic="order.created", webhook_id=3, delivery_id="d-bare")
    with serve(bare) as live:
        url = f"{live.url}/hooks/{conn}"
        first = httpx.post(url, content=body, headers=headers)
        again = httpx.post(url, content=body, headers=headers)
        forged = httpx.post(url, content=body + b" ", headers=headers)
    assert first.status_code == 202 and first.json()["id"].startswith("in_")
    assert again.status_code == 200 and again.json() == {
        "success": True,
        "duplicate": True,
        "id": first.json()["id"],
    }
    assert forged.status_code == 401
    assert stored(qdb, conn)[0] == 1
