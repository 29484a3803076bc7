"""``stripe-to-hubspot`` end to end over real HTTP: Stripe's signed webhooks reach ISAO and become HubSpot
contacts and deals; the poll of Stripe's events catches what no webhook announced; a payment without an
email is a dead letter; reconciliation repairs drift; and a backfill survives its worker being killed."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from isao import connections
from isao.api.app import create_app
from isao.config import Settings
from isao.connectors.base import MemoryCredentials
from isao.connectors.stripe import Client as StripeClient
from isao.crm import companies
from isao.db import Database
from isao.db.models import Job
from isao.queue import jobs
from isao.runtime import Runtime
from isao.sync import backfill, bindings, catalog
from isao.sync.engine import Engine
from isao.sync.reconcile import reconcile
from tests.conftest import empty_queue, serve
from tests.e2e.test_recipe_woocommerce_zohocrm import _drain
from tests.queue.test_workers import ISAO, ROOT, wait_for, worker_env
from tests.sandboxes import RunningSandbox
from tests.sync.test_engine import _connect

Factory = Callable[..., RunningSandbox]


def _setup(
    qdb: Database, sandbox_factory: Factory, name: str
) -> tuple[RunningSandbox, RunningSandbox, str, str, str]:
    billing, crm = sandbox_factory("stripe"), sandbox_factory("hubspot")
    with qdb.write() as session:
        company_id = companies.create(session, f"{name} {time.monotonic_ns()}").id
    stripe_id, hubspot_id = _connect(qdb, company_id, billing), _connect(qdb, company_id, crm)
    with qdb.write() as session:
        recipe = catalog.get("stripe-to-hubspot")
        binding_id = bindings.enable(
            session, company_id, recipe, {"billing": stripe_id, "crm": hubspot_id}
        ).id
    return billing, crm, stripe_id, hubspot_id, binding_id


def _stripe(billing: RunningSandbox) -> StripeClient:
    return StripeClient(billing.url, MemoryCredentials(billing.sandbox.credentials()))


def _pay(api: StripeClient, customer: str | None, amount: int = 2500, **extra: Any) -> dict[str, Any]:
    data = {"amount": amount, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True} | extra
    return api.create("payment_intents", data | ({"customer": customer} if customer else {}))


def _deals(crm: RunningSandbox) -> dict[str, dict[str, Any]]:
    return {d["properties"]["dealname"]: d for d in crm.sandbox.store.all("deals") if not d["archived"]}


def test_payment_webhooks_become_one_contact_and_a_deal_each(
    queue_settings: Settings, qdb: Database, runtime: Runtime, sandbox_factory: Factory
) -> None:
    empty_queue(qdb)
    billing, crm, stripe_id, _, _ = _setup(qdb, sandbox_factory, "Billed")
    api = _stripe(billing)
    with serve(create_app(queue_settings, db=qdb, workers=0)) as isao:
        endpoint = api.create_webhook(f"{isao.url}/hooks/{stripe_id}", ["payment_intent.succeeded"])
        with qdb.write() as session:
            row = connections.get(session, stripe_id)
            assert row is not None
            connections.set_secrets(row, {"webhook_secret": endpoint["secret"]})
        ada = api.create("customers", {"email": "Ada@Example.com", "name": "Ada Lovelace"})
        first, second = _pay(api, ada["id"]), _pay(api, ada["id"], amount=990)
        _drain(runtime)
        resent = billing.deliveries()[0]  # Stripe delivers again: still one deal
        httpx.post(resent["url"], content=resent["body"].encode(), headers=resent["headers"])
        _drain(runtime)

    contacts = [c for c in crm.sandbox.store.all("contacts") if not c["archived"]]
    assert [c["properties"]["email"] for c in contacts] == ["ada@example.com"]
    assert contacts[0]["properties"]["lastname"] == "Lovelace"
    deals = _deals(crm)
    assert sorted(deals) == sorted(f"Stripe payment {p['id']}" for p in (first, second))
    won = deals[f"Stripe payment {second['id']}"]["properties"]
    assert (won["dealstage"], float(won["amount"]), won["deal_currency_code"]) == ("closedwon", 9.9, "EUR")
    linked = {a["fromId"] for a in crm.sandbox.store.all("associations") if a["from"] == "deals"}
    assert linked == {d["id"] for d in deals.values()}, "each deal is associated with the contact"
    with qdb.read() as session:
        statuses = session.scalars(select(Job.status).where(Job.kind == "sync.record")).all()
    assert statuses and set(statuses) == {jobs.DONE}


def test_the_poll_catches_payments_no_webhook_announced_and_a_400_is_a_dead_letter(
    qdb: Database, runtime: Runtime, sandbox_factory: Factory
) -> None:
    empty_queue(qdb)
    billing, crm, _, _, binding_id = _setup(qdb, sandbox_factory, "Polled")
    api = _stripe(billing)
    grace = api.create("customers", {"email": "grace@example.com", "name": "Grace Hopper"})
    paid = [_pay(api, grace["id"], amount=2500 + n) for n in range(2)]
    nameless = api.create("customers", {"name": "No Email"})
    _pay(api, nameless["id"], receipt_email=None)
    with qdb.write() as session:  # the poll starts from "now - its first window": here, from the start
        jobs.enqueue(session, bindings.POLL, {"binding_id": binding_id, "flow": "payments"})
    _drain(runtime)
    assert sorted(_deals(crm)) == sorted(f"Stripe payment {p['id']}" for p in paid)
    with qdb.read() as session:
        dead = session.scalars(select(Job).where(Job.kind == "sync.record", Job.status == jobs.DEAD)).all()
    assert [(d.error_class, d.attempts) for d in dead] == [("Invalid", 1)]
    assert "has no email" in (dead[0].last_error or "")


def test_reconcile_repairs_what_changed_behind_isaos_back(qdb: Database, sandbox_factory: Factory) -> None:
    billing, crm, _, hubspot_id, binding_id = _setup(qdb, sandbox_factory, "Drifting")
    api = _stripe(billing)
    customer = api.create("customers", {"email": "drift@example.com", "name": "Drift"})
    payments = [_pay(api, customer["id"], amount=1000 + n) for n in range(2)]
    engine = Engine(qdb)
    binding = engine.bindings.get(binding_id)
    assert binding is not None
    recipe, flow = catalog.get("stripe-to-hubspot"), catalog.get("stripe-to-hubspot").flows[0]
    for payment in payments:
        engine.run(None, binding, recipe, flow, api.get("payment_intents", payment["id"]) or {})
    assert list(reconcile(engine, binding, recipe, flow)) == []
    deal = _deals(crm)[f"Stripe payment {payments[0]['id']}"]
    engine.client(hubspot_id).update("deals", deal["id"], {"amount": "1"})
    assert [(d.kind, d.step) for d in reconcile(engine, binding, recipe, flow)] == [("different", "deal")]
    assert all(d.repaired for d in reconcile(engine, binding, recipe, flow, repair=True))
    assert list(reconcile(engine, binding, recipe, flow)) == []
    engine.close()


def test_a_backfill_with_its_worker_killed_writes_every_payment_once(
    queue_settings: Settings, qdb: Database, sandbox_factory: Factory
) -> None:
    empty_queue(qdb)
    billing, crm, _, _, binding_id = _setup(qdb, sandbox_factory, "Backfilled")
    api = _stripe(billing)
    payers = [
        api.create("customers", {"email": f"payer{n}@example.com", "name": f"Payer {n}"}) for n in range(8)
    ]
    payments = [_pay(api, payers[n % 8]["id"], amount=100 + n) for n in range(40)]
    engine = Engine(qdb)
    binding = engine.bindings.get(binding_id)
    assert binding is not None
    flow = catalog.get("stripe-to-hubspot").flows[0]
    run = backfill.start(qdb, binding, flow, None)
    assert [p.enqueued for p in backfill.pages(engine, binding, flow, run)][-1] == len(payments)
    engine.close()
    env = worker_env(queue_settings, ISAO_JOB_LEASE_SECONDS="5", ISAO_RETRY_BASE_SECONDS="0.2",
                     ISAO_RETRY_CAP_SECONDS="2")  # fmt: skip

    def worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen([ISAO, "worker", "--concurrency", "4"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    victim = worker()
    try:
        wait_for(lambda: backfill.outcome(qdb, run.id).get(jobs.DONE, 0) >= len(payments) // 3, timeout=120)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    assert backfill.outcome(qdb, run.id).get(jobs.DONE, 0) < len(payments), "killed half-way"
    survivor = worker()
    try:
        wait_for(lambda: backfill.outcome(qdb, run.id) == {jobs.DONE: len(payments)}, timeout=240)
    finally:
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(timeout=60)
    deals = Counter(d["properties"]["dealname"] for d in crm.sandbox.store.all("deals") if not d["archived"])
    assert sorted(deals) == sorted(f"Stripe payment {p['id']}" for p in payments) and set(deals.values()) == {
        1
    }
    emails = Counter(c["properties"]["email"] for c in crm.sandbox.store.all("contacts") if not c["archived"])
    assert len(emails) == 8 and set(emails.values()) == {1}
