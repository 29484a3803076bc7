"""The benchmark's work (issue 7) as a recipe: WooCommerce-signed order webhooks into ISAO, mapped to
``{email, name, amount}`` and POSTed to an endpoint; nothing lost when the worker is killed in a burst."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from isao import connections
from isao.api.app import create_app
from isao.config import Settings
from isao.connectors import catalog as connectors
from isao.connectors import woocommerce
from isao.crm import companies
from isao.db import Database
from isao.db.models import Job
from isao.queue import jobs
from isao.runtime import Runtime
from isao.sync import bindings, catalog
from tests.conftest import empty_queue, serve
from tests.connectors.test_http_client import Endpoint, endpoint  # noqa: F401  (the fixture)
from tests.e2e.test_recipe_woocommerce_zohocrm import _drain
from tests.queue.test_workers import ISAO, ROOT, wait_for, worker_env

SECRET = "wc-secret"


def order(n: int, total: str | None = None) -> dict[str, object]:
    """What the n8n harness's load generator sends."""
    billing = {"first_name": f"Ada{n}", "last_name": "Lovelace", "email": f"o{n}@example.test"}
    return {"id": n, "status": "processing", "billing": billing, "total": total or f"{10 + n % 90}.50"}


@dataclass
class Shop:
    hooks: httpx.Client
    url: str
    endpoint: Endpoint
    delivered: int = 0

    def deliver(self, body: dict[str, object], topic: str = "order.created") -> None:
        self.delivered += 1
        raw = json.dumps(body).encode()
        headers = woocommerce.sign(SECRET, raw, topic=topic, webhook_id=1, delivery_id=str(self.delivered))
        assert self.hooks.post(self.url, content=raw, headers=headers).status_code == 202

    def sent(self) -> list[tuple[dict[str, object], str]]:
        return [
            (json.loads(body), h["idempotency-key"])
            for m, _, h, body in self.endpoint.received
            if m == "POST"
        ]


@pytest.fixture
def shop(queue_settings: Settings, qdb: Database, endpoint: Endpoint) -> Iterator[Shop]:  # noqa: F811
    empty_queue(qdb)
    endpoint.received.clear()
    endpoint.answers.clear()
    with qdb.write() as session:
        company_id = companies.create(session, f"Busy shop {time.monotonic_ns()}").id
        ids = {}
        for role, provider, values in (
            ("shop", "woocommerce", {"base_url": "http://127.0.0.1:9", "consumer_key": "ck",
                                     "consumer_secret": "cs", "webhook_secret": SECRET}),
            ("endpoint", "http", {"base_url": f"{endpoint.url}/ingest"}),
        ):  # fmt: skip
            plain, secrets = connectors.split(provider, values)
            row = connections.create(session, company_id, provider, role, config=plain, secrets=secrets)
            ids[role] = row.id
        bindings.enable(session, company_id, catalog.get("woocommerce-to-http"), ids)
    with serve(create_app(queue_settings, db=qdb, workers=0)) as isao:
        with httpx.Client() as hooks:
            yield Shop(hooks, f"{isao.url}/hooks/{ids['shop']}", endpoint)


def test_an_order_is_sent_once_and_again_only_when_its_body_changed(shop: Shop, runtime: Runtime) -> None:
    shop.deliver(order(7))
    shop.deliver(order(7), topic="order.updated")  # the same order announced again: nothing new to send
    _drain(runtime)
    [(body, key)] = shop.sent()
    assert body == {"email": "o7@example.test", "name": "Ada7 Lovelace", "amount": 17.5}

    shop.deliver(order(7, total="99.00"), topic="order.updated")
    _drain(runtime)
    assert shop.sent() == [(body, key), (body | {"amount": 99}, key)], "sent again, under its first key"


def test_a_worker_killed_in_a_burst_loses_nothing(
    shop: Shop, queue_settings: Settings, qdb: Database
) -> None:
    burst = 300
    for n in range(1, burst + 1):  # each acknowledged: stored with its job before the 200
        shop.deliver(order(n))

    def worker() -> subprocess.Popen[bytes]:
        command = [ISAO, "worker", "--concurrency", "4"]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        return subprocess.Popen(
            command, env=worker_env(queue_settings, ISAO_JOB_LEASE_SECONDS="5"), cwd=ROOT, **quiet
        )  # type: ignore[call-overload]

    victim = worker()
    try:
        wait_for(lambda: len(shop.sent()) >= burst // 4, timeout=120)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    assert len(shop.sent()) < burst, "killed in the middle of the burst"
    survivor = worker()
    try:
        wait_for(lambda: len({b["email"] for b, _ in shop.sent()}) == burst, timeout=180)
        wait_for(lambda: _pending(qdb) == 0, timeout=60)
    finally:
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(timeout=60)

    sent = shop.sent()
    assert {b["email"] for b, _ in sent} == {f"o{n}@example.test" for n in range(1, burst + 1)}
    keys = {b["email"]: k for b, k in sent}
    assert all(keys[b["email"]] == k for b, k in sent), "a resend (the kill) carries the first key"
    assert len(Counter(keys.values())) == burst
    with qdb.read() as session:
        assert session.query(Job).filter(Job.status == jobs.DEAD).count() == 0


def _pending(db: Database) -> int:
    with db.read() as session:
        return session.query(Job).filter(Job.status.in_([jobs.QUEUED, jobs.RUNNING])).count()
