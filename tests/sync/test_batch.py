"""Batch backfills (``sync.batch``): a page of records per job, written through HubSpot's and Zoho's batch
endpoints, against the sandboxes over real HTTP, with workers of a real queue."""

from __future__ import annotations

import re
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select

from isao.config import Settings
from isao.connectors.base import MemoryCredentials
from isao.connectors.woocommerce import Client as WooClient
from isao.crm import companies
from isao.db import Database
from isao.db.models import IdLink, Job, RecipeBinding, Schedule, SyncConflict
from isao.queue import jobs
from isao.queue.context import JobContext
from isao.queue.jobs import Claimed, LeaseLost
from isao.runtime import Runtime
from isao.sync import backfill, bindings
from isao.sync.batch import BATCH
from isao.sync.engine import RECORD
from isao.sync.recipe import Flow
from isao.timeutil import utcnow
from tests import cli
from tests.conftest import empty_queue
from tests.sandboxes import RunningSandbox
from tests.sync.test_engine import _connect

# A company name that is not one of HubSpot's lifecycle stages makes HubSpot refuse that one contact.
CONTACTS_RECIPE = """\
    name: batch-contacts
    title: WooCommerce customers to HubSpot contacts (batch tests)
    connections: {shop: woocommerce, crm: hubspot}
    flows:
      - name: customers
        source: {connection: shop, object: customers}
        when: "email"
        steps:
          - name: contact
            target: {connection: crm, object: contacts}
            match: {key: email}
            fields:
              email: "{lower(email)}"
              firstname: "{first_name}"
              lastname: "{last_name}"
              lifecyclestage: "{billing.company or 'customer'}"
"""


@dataclass
class Setup:
    runtime: Runtime
    binding: RecipeBinding
    flow: Flow
    shop: RunningSandbox
    crm: RunningSandbox

    @property
    def db(self) -> Database:
        return self.runtime.db

    def backfill(self, *, restart: bool = False) -> str:
        """Enqueue every page as a batch job, work them all; the run's id."""
        run = backfill.start(self.db, self.binding, self.flow, None, restart=restart)
        list(backfill.pages(self.runtime.engine, self.binding, self.flow, run, batch=True))
        drain(self.runtime)
        return run.id

    def requests(self) -> int:
        return int(self.crm.stats()["faults"]["requests"])


def drain(runtime: Runtime) -> None:
    """Run jobs until none is due (hand-offs included)."""
    worker = runtime.worker()
    for _ in range(500):
        if worker.run_once():
            continue
        with runtime.db.read() as session:
            due = session.scalar(
                select(func.count()).select_from(Job).where(
                    Job.status.in_([jobs.QUEUED, jobs.RUNNING]), Job.run_at <= utcnow()
                )
            )  # fmt: skip
        if not due:
            return
        time.sleep(0.05)
    raise AssertionError("the queue did not drain")


@pytest.fixture
def setup(
    queue_settings: Settings, qdb: Database, sandbox_factory: Callable[..., RunningSandbox], tmp_path: Path
) -> Iterator[Callable[[str, str], Setup]]:
    """``setup(recipe, crm provider)``: sandboxes, a company with both connections, the recipe enabled."""
    empty_queue(qdb)
    (tmp_path / "batch-contacts.yaml").write_text(textwrap.dedent(CONTACTS_RECIPE), encoding="utf-8")
    runtimes: list[Runtime] = []

    def make(recipe_name: str, provider: str) -> Setup:
        runtime = Runtime(queue_settings.model_copy(update={"recipes_dir": tmp_path}), qdb)
        runtimes.append(runtime)
        shop, crm = sandbox_factory("woocommerce"), sandbox_factory(provider)
        with qdb.write() as session:
            company_id = companies.create(session, f"Batch {time.monotonic_ns()}").id
        connections = {"shop": _connect(qdb, company_id, shop), "crm": _connect(qdb, company_id, crm)}
        recipe = runtime.engine.recipe(recipe_name)
        with qdb.write() as session:
            binding = bindings.enable(session, company_id, recipe, connections)
            session.expunge(binding)
            session.execute(delete(Schedule))  # no poll fires during the test
        return Setup(runtime, binding, recipe.flows[0], shop, crm)

    yield make
    for runtime in runtimes:
        runtime.close()


def seed(shop: RunningSandbox, object_: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    api = WooClient.from_settings({"base_url": shop.url}, MemoryCredentials(shop.sandbox.credentials()))
    try:
        created = api.batch_create(object_, items)
    finally:
        api.close()
    assert not created.errors and len(created.results) == len(items)
    return created.results


def customers(count: int, bad: int | None = None) -> list[dict[str, Any]]:
    return [
        {"email": f"c{n}@example.com", "first_name": "Cust", "last_name": f"No{n}",
         "billing": {"company": "Not a stage" if n == bad else ""}}
        for n in range(count)
    ]  # fmt: skip


def jobs_of(db: Database, kind: str, *where: Any) -> list[Job]:
    with db.read() as session:
        found = list(session.scalars(select(Job).where(Job.kind == kind, *where)))
        for job in found:
            session.expunge(job)
    return found


def test_a_batch_backfill_into_hubspot_writes_each_contact_once_and_a_rerun_writes_nothing(setup) -> None:
    s = setup("batch-contacts", "hubspot")
    seeded = seed(s.shop, "customers", customers(250))

    run = backfill.start(s.db, s.binding, s.flow, None)
    progress = list(backfill.pages(s.runtime.engine, s.binding, s.flow, run, batch=True))
    assert [p.enqueued for p in progress] == [100, 200, 250]
    assert len(jobs_of(s.db, BATCH)) == 3 and jobs_of(s.db, RECORD) == []
    assert backfill.outcome(s.db, run.id) == {jobs.QUEUED: 250}
    drain(s.runtime)

    assert backfill.outcome(s.db, run.id) == {jobs.DONE: 250}
    contacts = s.crm.sandbox.store.all("contacts")
    emails = Counter(c["properties"]["email"] for c in contacts)
    assert sorted(emails) == sorted(c["email"] for c in seeded) and set(emails.values()) == {1}
    assert s.requests() == 3, "one batch upsert per page, no search"
    with s.db.read() as session:
        links = session.scalar(select(func.count()).select_from(IdLink).where(
            IdLink.binding_id == s.binding.id))  # fmt: skip
    assert links == 250

    again = s.backfill(restart=True)
    assert backfill.outcome(s.db, again) == {jobs.DONE: 250}
    assert s.requests() == 3, "every record unchanged: no call at all"
    assert s.crm.sandbox.store.all("contacts") == contacts

    changed = seeded[7]
    api = WooClient.from_settings({"base_url": s.shop.url}, MemoryCredentials(s.shop.sandbox.credentials()))
    api.update("customers", changed["id"], {"last_name": "Renamed"})
    api.close()
    s.backfill(restart=True)
    assert s.requests() == 4, "the one changed record in one batch update"
    after = {c["properties"]["email"]: c for c in s.crm.sandbox.store.all("contacts")}
    assert len(after) == 250 and after[changed["email"]]["properties"]["lastname"] == "Renamed"


def test_a_record_hubspot_refuses_inside_a_batch_is_its_own_dead_letter(setup) -> None:
    s = setup("batch-contacts", "hubspot")
    seeded = seed(s.shop, "customers", customers(30, bad=12))

    run = s.backfill()

    assert backfill.outcome(s.db, run) == {jobs.DONE: 29, jobs.DEAD: 1}
    [dead] = jobs_of(s.db, RECORD, Job.status == jobs.DEAD)
    assert dead.payload["id"] == str(seeded[12]["id"]) and dead.payload["data"] == seeded[12]
    assert dead.error_class == "Invalid" and "lifecyclestage" in (dead.last_error or "")
    emails = {c["properties"]["email"] for c in s.crm.sandbox.store.all("contacts")}
    assert emails == {c["email"] for n, c in enumerate(seeded) if n != 12}
    [batch] = jobs_of(s.db, BATCH)
    assert batch.status == jobs.DONE


def test_a_two_way_recipe_batched_keeps_a_contact_edited_in_hubspot_after_the_shop(setup) -> None:
    s = setup("woocommerce-hubspot", "hubspot")  # its `customers` flow; HubSpot contacts flow back
    seeded = seed(s.shop, "customers", customers(20))
    s.backfill()
    shop = WooClient.from_settings({"base_url": s.shop.url}, MemoryCredentials(s.shop.sandbox.credentials()))
    renamed, contested = seeded[3], seeded[5]
    for customer in (renamed, contested):
        shop.update("customers", customer["id"], {"last_name": "Changed in the shop"})
    shop.close()
    token = s.crm.sandbox.credentials()["access_token"]
    contact = {c["properties"]["email"]: c for c in s.crm.sandbox.store.all("contacts")}[contested["email"]]
    edit = httpx.patch(f"{s.crm.url}/crm/v3/objects/contacts/{contact['id']}",
                       json={"properties": {"lastname": "Changed in HubSpot"}},
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert edit.status_code == 200, edit.text
    before = s.requests()

    run = s.backfill(restart=True)

    assert backfill.outcome(s.db, run) == {jobs.DONE: 20}
    assert s.requests() - before == 3, "properties, a batch read of the 2 changed targets, a batch update"
    names = {
        c["properties"]["email"]: c["properties"]["lastname"] for c in s.crm.sandbox.store.all("contacts")
    }
    assert names[renamed["email"]] == "Changed in the shop"
    assert names[contested["email"]] == "Changed in HubSpot", "latest wins: HubSpot's edit is kept"
    with s.db.read() as session:
        [conflict] = session.scalars(select(SyncConflict).where(SyncConflict.binding_id == s.binding.id))
    assert conflict.resolution == "kept the target (edited later)"


def orders(count: int, customers_: int) -> list[dict[str, Any]]:
    """Orders of ``customers_`` buyers, some with a company; the last has a surname Zoho refuses."""
    made = [
        {"status": "completed", "line_items": [{"product_id": 10, "quantity": 1 + n % 3}],
         "billing": {"first_name": "Buyer", "last_name": f"No{n % customers_}",
                     "email": f"b{n % customers_}@example.com",
                     "company": f"Company {n % 3}" if n % customers_ < 10 else ""}}
        for n in range(count - 1)
    ]  # fmt: skip
    long = {"first_name": "Long", "last_name": "X" * 100, "email": "long@example.com"}
    made.append({"status": "completed", "line_items": [{"product_id": 11, "quantity": 1}], "billing": long})
    return made


def test_orders_batched_into_zoho_step_by_step_survive_a_worker_dying_before_it_completes(setup) -> None:
    s = setup("woocommerce-to-zohocrm", "zohocrm")
    seeded = seed(s.shop, "orders", orders(150, 40))
    run = backfill.start(s.db, s.binding, s.flow, None)
    list(backfill.pages(s.runtime.engine, s.binding, s.flow, run, batch=True))

    # A worker runs the first page's writes, then dies before its completion commits.
    first = min(jobs_of(s.db, BATCH), key=lambda job: job.created_at)
    ghost = Claimed("job_ghost", BATCH, first.payload, 1, 10, "ghost", first.company_id, None, utcnow(),
                    utcnow())  # fmt: skip
    handler = s.runtime.registry.kinds[BATCH].handler
    with pytest.raises(LeaseLost):
        handler(JobContext(s.db, ghost, s.runtime.worker()), first.payload)
    assert len(s.crm.sandbox.store.all("Deals")) == 100
    with s.db.read() as session:
        steps = Counter(session.scalars(select(IdLink.step).where(IdLink.binding_id == s.binding.id)))
    assert "deal" not in steps and steps["contact"] > 0, "the last step's links commit with the job only"

    drain(s.runtime)

    assert backfill.outcome(s.db, run.id) == {jobs.DONE: 149, jobs.DEAD: 1}
    deals = {d["Deal_Name"]: d for d in s.crm.sandbox.store.all("Deals")}
    assert len(deals) == 149 == len(s.crm.sandbox.store.all("Deals")), "each order once"
    contacts = {c["Email"]: c for c in s.crm.sandbox.store.all("Contacts")}
    assert len(contacts) == 40 == len(s.crm.sandbox.store.all("Contacts"))
    accounts = {a["Account_Name"]: a for a in s.crm.sandbox.store.all("Accounts")}
    assert sorted(accounts) == ["Company 0", "Company 1", "Company 2"]
    for order in seeded[:-1]:
        billing = order["billing"]
        deal = deals[f"WooCommerce Order #{order['id']} ({billing['first_name']} {billing['last_name']})"]
        contact = contacts[billing["email"]]
        assert deal["Contact_Name"]["id"] == contact["id"], "a later step sees the earlier one's target"
        if billing["company"]:
            assert deal["Account_Name"]["id"] == accounts[billing["company"]]["id"]
    [dead] = jobs_of(s.db, RECORD, Job.status == jobs.DEAD)
    assert dead.payload["data"] == seeded[-1] and dead.error_class == "Invalid"

    # The dead worker's page: an upsert per step (3); its rerun: the deals again, the earlier steps' links
    # having committed (1); the second page (3); the refused order's own job: a search and a create (2).
    assert s.requests() == 9
    before = {name: s.crm.sandbox.store.all(name) for name in ("Deals", "Contacts", "Accounts")}
    again = s.backfill(restart=True)
    assert s.requests() == 9 + 3, "only the refused order tries again"
    assert backfill.outcome(s.db, again) == {jobs.DONE: 149, jobs.DEAD: 1}
    assert {name: s.crm.sandbox.store.all(name) for name in before} == before, "nothing rewritten"


@pytest.mark.no_database
def test_the_command_line_backfills_in_batches(
    tmp_path: Path, sandbox_factory: Callable[..., RunningSandbox]
) -> None:
    env = {"ISAO_DATA_DIR": str(tmp_path / "data")}

    def run(*args: str) -> str:
        done = cli.run(env, *args)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    woo, zoho = sandbox_factory("woocommerce"), sandbox_factory("zohocrm")
    run("companies", "create", "Batched Ltd")
    ids = {}
    for role, live in (("shop", woo), ("crm", zoho)):
        urls = [f"base_url={live.url}"] + ([f"accounts_url={live.url}"] if role == "crm" else [])
        added = run("connections", "add", live.sandbox.name, "--company", "Batched Ltd", "--name", role,
                    "--sandbox", *(arg for url in urls for arg in ("--set", url)))  # fmt: skip
        found = re.search(r"conn_\w+", added)
        assert found
        ids[role] = found[0]
    run("recipes", "enable", "woocommerce-to-zohocrm", "--company", "Batched Ltd",
        "--connection", f"shop={ids['shop']}", "--connection", f"crm={ids['crm']}")  # fmt: skip
    credentials = woo.sandbox.credentials()
    auth = (credentials["consumer_key"], credentials["consumer_secret"])
    for n in range(12):
        billing = {"first_name": "Buyer", "last_name": f"N{n}", "email": f"buyer{n % 4}@example.com"}
        order = {"status": "completed", "line_items": [{"product_id": 10, "quantity": 1}], "billing": billing}
        assert httpx.post(f"{woo.url}/wp-json/wc/v3/orders", json=order, auth=auth).status_code == 201

    out = run("sync", "run", "woocommerce-to-zohocrm", "--company", "Batched Ltd", "--backfill", "--batch")

    assert re.search(r"Run run_\w+: 12 synced, 0 dead\.", out), out
    assert re.search(r"orders: synced\s.*12/12", out), out
    assert len(zoho.sandbox.store.all("Deals")) == 12 and len(zoho.sandbox.store.all("Contacts")) == 4
