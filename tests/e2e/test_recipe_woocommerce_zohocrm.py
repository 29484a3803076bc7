"""Seed 002 end to end: a WooCommerce order's webhook reaches ISAO, and the queue's workers turn it into
a Zoho CRM contact and deal, all over real HTTP between ISAO and the sandboxes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from isao import connections
from isao.api.app import create_app
from isao.config import Settings
from isao.connectors.base import MemoryCredentials
from isao.connectors.woocommerce import Client as WooClient
from isao.crm import companies
from isao.db import Database
from isao.db.models import Job, JobAttempt, SyncCursor
from isao.queue import deadletters, jobs
from isao.runtime import Runtime
from isao.sync import bindings, catalog
from isao.sync.engine import Engine
from isao.sync.reconcile import reconcile
from tests.conftest import empty_queue, serve
from tests.sandboxes import RunningSandbox
from tests.sync.test_engine import _connect, _order


def _drain(runtime: Runtime, seconds: float = 20) -> None:
    """Run jobs until none is due (webhook deliveries arrive in the background, so look a few times)."""
    worker = runtime.worker()
    deadline, idle = time.monotonic() + seconds, 0
    while idle < 5:
        assert time.monotonic() < deadline, "the queue did not drain"
        if worker.run_once():
            idle = 0
        else:
            idle += 1
            time.sleep(0.1)


def test_an_order_webhook_becomes_a_zoho_contact_and_deal(
    queue_settings: Settings, qdb: Database, runtime: Runtime, sandbox_factory: Callable[..., RunningSandbox]
) -> None:
    empty_queue(qdb)
    woo, zoho = sandbox_factory("woocommerce"), sandbox_factory("zohocrm")
    with qdb.write() as session:
        company_id = companies.create(session, f"Webhooked {time.monotonic_ns()}").id
    shop, crm = _connect(qdb, company_id, woo), _connect(qdb, company_id, zoho)
    with qdb.write() as session:
        row = connections.get(session, shop)
        assert row is not None
        connections.set_secrets(row, {"webhook_secret": "wh-secret"})
        recipe = catalog.get("woocommerce-to-zohocrm")
        bindings.enable(session, company_id, recipe, {"shop": shop, "crm": crm})

    with serve(create_app(queue_settings, db=qdb, workers=0)) as isao:
        credentials = woo.sandbox.credentials()
        woo_client = WooClient.from_settings({"base_url": woo.url}, MemoryCredentials(credentials))
        for topic in ("order.created", "order.updated"):
            woo_client.create_webhook(topic, f"{isao.url}/hooks/{shop}", "wh-secret")
        first = _order(woo, "ada@example.com")
        second = _order(woo, "ada@example.com")
        _drain(runtime)

    contacts, deals = zoho.sandbox.store.all("Contacts"), zoho.sandbox.store.all("Deals")
    assert [c["Email"] for c in contacts] == ["ada@example.com"]
    assert sorted(d["Deal_Name"] for d in deals) == sorted(
        f"WooCommerce Order #{o['id']} (Ada Lovelace)" for o in (first, second)
    )
    with qdb.read() as session:
        statuses = session.scalars(select(Job.status).where(Job.kind == "sync.record")).all()
    assert statuses and set(statuses) == {jobs.DONE}


def test_the_poll_picks_up_what_no_webhook_announced(
    qdb: Database, runtime: Runtime, sandbox_factory: Callable[..., RunningSandbox]
) -> None:
    empty_queue(qdb)
    woo, zoho = sandbox_factory("woocommerce"), sandbox_factory("zohocrm")
    with qdb.write() as session:
        company_id = companies.create(session, f"Polled {time.monotonic_ns()}").id
    shop, crm = _connect(qdb, company_id, woo), _connect(qdb, company_id, zoho)
    with qdb.write() as session:
        recipe = catalog.get("woocommerce-to-zohocrm")
        binding_id = bindings.enable(session, company_id, recipe, {"shop": shop, "crm": crm}).id
    orders = [_order(woo, f"buyer{n}@example.com") for n in range(3)]

    def poll() -> None:
        with qdb.write() as session:
            jobs.enqueue(session, bindings.POLL, {"binding_id": binding_id, "flow": "orders"})
        _drain(runtime)

    poll()
    assert len(zoho.sandbox.store.all("Deals")) == 3
    with qdb.read() as session:
        cursor = session.get(SyncCursor, (binding_id, "orders"))
        assert cursor is not None and cursor.cursor
        synced = session.scalars(select(Job).where(Job.kind == "sync.record")).all()
    assert sorted(job.payload["id"] for job in synced) == sorted(str(o["id"]) for o in orders)

    poll()  # nothing changed since: no new work
    with qdb.read() as session:
        assert len(session.scalars(select(Job).where(Job.kind == "sync.record")).all()) == 3
    assert len(zoho.sandbox.store.all("Deals")) == 3


def test_a_rejected_deal_is_dead_lettered_with_what_was_sent_and_replays_once_fixed(
    qdb: Database, runtime: Runtime, sandbox_factory: Callable[..., RunningSandbox], tmp_path: Path
) -> None:
    empty_queue(qdb)
    shipped = catalog.files()["woocommerce-to-zohocrm"].read_text()
    broken = shipped.replace('Amount: "{money(total)}"', 'Amount: "{billing.email}"')
    assert broken != shipped
    mine = tmp_path / "woocommerce-to-zohocrm.yaml"
    mine.write_text(broken)
    runtime.engine.recipes_dir = tmp_path
    woo, zoho = sandbox_factory("woocommerce"), sandbox_factory("zohocrm")
    with qdb.write() as session:
        company_id = companies.create(session, f"Rejected {time.monotonic_ns()}").id
    shop, crm = _connect(qdb, company_id, woo), _connect(qdb, company_id, zoho)
    with qdb.write() as session:
        recipe = catalog.get("woocommerce-to-zohocrm", tmp_path)
        binding_id = bindings.enable(session, company_id, recipe, {"shop": shop, "crm": crm}).id
    order = _order(woo, "grace@example.com")
    with qdb.write() as session:
        jobs.enqueue(
            session, "sync.record", {"binding_id": binding_id, "flow": "orders", "id": str(order["id"])}
        )
    _drain(runtime)

    with qdb.read() as session:
        dead = session.scalars(select(Job).where(Job.kind == "sync.record")).one()
        attempt = session.scalars(select(JobAttempt).where(JobAttempt.job_id == dead.id)).one()
    assert (dead.status, dead.error_class, dead.attempts) == (jobs.DEAD, "Invalid", 1)
    assert attempt.request and attempt.request["body"]["data"][0]["Amount"] == "grace@example.com"
    assert attempt.response and attempt.response["status"] == 400
    assert attempt.response["body"]["data"][0]["code"] == "INVALID_DATA"
    assert zoho.sandbox.store.all("Deals") == [] and len(zoho.sandbox.store.all("Contacts")) == 1

    mine.write_text(shipped)  # the mapping fixed, then the dead letter replayed
    with qdb.write() as session:
        assert deadletters.replay(session, deadletters.Filter(ids=[dead.id])) == 1
    _drain(runtime)
    [deal] = zoho.sandbox.store.all("Deals")
    assert float(deal["Amount"]) == float(order["total"]) and len(zoho.sandbox.store.all("Contacts")) == 1


def test_reconciliation_reports_drift_and_repairs_it(
    qdb: Database, sandbox_factory: Callable[..., RunningSandbox]
) -> None:
    woo, zoho = sandbox_factory("woocommerce"), sandbox_factory("zohocrm")
    with qdb.write() as session:
        company_id = companies.create(session, f"Drifting {time.monotonic_ns()}").id
    shop, crm = _connect(qdb, company_id, woo), _connect(qdb, company_id, zoho)
    recipe = catalog.get("woocommerce-to-zohocrm")
    with qdb.write() as session:
        binding = bindings.enable(session, company_id, recipe, {"shop": shop, "crm": crm})
        session.expunge(binding)
    engine = Engine(qdb)
    flow = recipe.flows[0]
    orders = [_order(woo, f"drift{n}@example.com") for n in range(3)]
    for order in orders:
        engine.run(None, binding, recipe, flow, order)
    assert list(reconcile(engine, binding, recipe, flow)) == []

    deals = {d["Deal_Name"].split("#")[1].split(" ")[0]: d for d in zoho.sandbox.store.all("Deals")}
    changed, removed = deals[str(orders[0]["id"])], deals[str(orders[1]["id"])]
    zoho_api = engine.client(crm)
    zoho_api.update("Deals", changed["id"], {"Amount": 1})  # behind ISAO's back
    zoho_api.delete("Deals", removed["id"])
    woo_api = engine.client(shop)
    woo_api.delete("orders", str(orders[2]["id"]), permanent=True)  # type: ignore[call-arg]

    report = {(d.kind, d.step, d.source_id) for d in reconcile(engine, binding, recipe, flow)}
    assert report == {
        ("different", "deal", str(orders[0]["id"])),
        ("missing", "deal", str(orders[1]["id"])),
        *{("orphaned", step, str(orders[2]["id"])) for step in ("contact", "deal")},
    }
    different = next(d for d in reconcile(engine, binding, recipe, flow) if d.kind == "different")
    assert different.fields == {"Amount": (float(orders[0]["total"]), 1)}

    repaired = list(reconcile(engine, binding, recipe, flow, repair=True))
    assert len(repaired) == 4 and all(d.repaired for d in repaired)
    assert list(reconcile(engine, binding, recipe, flow)) == []
    assert len(zoho.sandbox.store.all("Deals")) == 3  # the repaired one, the re-created one, the orphan's
    engine.close()
