"""Issue 5's hardest promise: 2,000 WooCommerce orders backfilled into Zoho CRM while the destination
enforces a rate ceiling and answers 10% of calls 429 and 5% 5xx, with the worker process killed with
SIGKILL half-way and a new one started, end with every order present exactly once.

The 2,000 run in batches (``isao sync run --backfill --batch``: a ``sync.batch`` job per page of 100) on
both engines; per record (a job per order, the default) the same faults and the same kill are proven on
500 orders, on SQLite: a per-record 2,000 costs the suite two minutes and proves nothing more."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from isao.config import Settings
from isao.connectors.base import MemoryCredentials
from isao.connectors.woocommerce import Client as WooClient
from isao.crm import companies
from isao.db import Database
from isao.db.models import Job
from isao.queue import jobs
from isao.sync import backfill, bindings, catalog
from isao.sync.engine import Engine
from tests.conftest import empty_queue
from tests.queue.test_workers import ISAO, ROOT, wait_for, worker_env
from tests.sandboxes import RunningSandbox
from tests.sync.test_engine import _connect

CEILING = "3000/10"
ON_POSTGRESQL = bool(os.environ.get("ISAO_TEST_DATABASE_URL"))


def _states(db: Database, run_id: str) -> dict[str, int]:
    return backfill.outcome(db, run_id)


@pytest.mark.parametrize(
    ("batch", "orders"),
    [
        pytest.param(True, 2000, id="2000 in batches"),
        pytest.param(
            False, 500, id="500 per record", marks=pytest.mark.skipif(ON_POSTGRESQL, reason="SQLite")
        ),
    ],
)
def test_a_backfill_under_faults_and_a_killed_worker_is_exactly_once(
    batch: bool,
    orders: int,
    queue_settings: Settings,
    qdb: Database,
    sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    empty_queue(qdb)
    woo = sandbox_factory("woocommerce")
    zoho = sandbox_factory(
        "zohocrm", rate_limit=3000, rate_window=10, throttle_rate=0.10, error_rate=0.05, seed=5
    )
    with qdb.write() as session:
        company_id = companies.create(session, f"Busy shop {time.monotonic_ns()}").id
    shop = _connect(qdb, company_id, woo)
    crm = _connect(qdb, company_id, zoho, rate_limit=CEILING)
    recipe = catalog.get("woocommerce-to-zohocrm")
    with qdb.write() as session:
        binding = bindings.enable(session, company_id, recipe, {"shop": shop, "crm": crm})
        session.expunge(binding)

    shop_api = WooClient.from_settings({"base_url": woo.url}, MemoryCredentials(woo.sandbox.credentials()))
    customers = orders // 5
    bodies = [
        {"status": "completed", "line_items": [{"product_id": 10, "quantity": 1 + n % 3}],
         "billing": {"first_name": "Buyer", "last_name": f"No{n}", "email": f"b{n % customers}@example.com"}}
        for n in range(orders)
    ]  # fmt: skip
    created = shop_api.batch_create("orders", bodies)
    assert not created.errors and len(created.results) == orders
    shop_api.close()

    engine = Engine(qdb)
    flow = recipe.flows[0]
    run = backfill.start(qdb, binding, flow, None)
    assert [p.enqueued for p in backfill.pages(engine, binding, flow, run, batch=batch)][-1] == orders
    engine.close()

    env = worker_env(queue_settings, ISAO_JOB_LEASE_SECONDS="5", ISAO_RETRY_BASE_SECONDS="0.2",
                     ISAO_RETRY_CAP_SECONDS="2")  # fmt: skip

    def worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen([ISAO, "worker", "--concurrency", "6"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    victim = worker()
    try:
        wait_for(lambda: _states(qdb, run.id).get(jobs.DONE, 0) >= orders // 3, timeout=300)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    assert _states(qdb, run.id).get(jobs.DONE, 0) < orders, "killed half-way, not after the end"
    survivor = worker()
    try:
        wait_for(lambda: _states(qdb, run.id) == {jobs.DONE: orders}, timeout=600)
    finally:
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(timeout=60)

    deals = Counter(d["Deal_Name"] for d in zoho.sandbox.store.all("Deals"))
    assert len(deals) == orders and set(deals.values()) == {1}, "every order exactly once"
    assert sorted(deals) == sorted(f"WooCommerce Order #{o['id']} (Buyer {o['billing']['last_name']})"
                                   for o in created.results)  # fmt: skip
    emails = Counter(c["Email"] for c in zoho.sandbox.store.all("Contacts"))
    assert len(emails) == customers and set(emails.values()) == {1}
    faults = zoho.stats()["faults"]
    assert faults["rate_limited"] > 0 and faults["errors"] > 0, faults  # the faults did happen
    with qdb.read() as session:
        dead = session.scalar(select(func.count()).select_from(Job).where(Job.status == jobs.DEAD))
    assert dead == 0
