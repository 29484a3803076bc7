"""Backfills read by the queue (``sync.backfill``, the dashboard's): page after page in a chain of jobs,
one reader per run however often it is started, and a run whose recipe was disabled stops."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select

from isao.crm import companies
from isao.db import Database
from isao.db.models import Job, RecipeBinding, SyncRun
from isao.queue import jobs
from isao.runtime import Runtime
from isao.sync import backfill, batch, bindings, catalog
from tests.conftest import empty_queue
from tests.e2e.test_recipe_woocommerce_zohocrm import _drain
from tests.sandboxes import RunningSandbox
from tests.sync.test_engine import _connect


def _setup(
    qdb: Database, sandbox_factory: Callable[..., RunningSandbox], orders: int
) -> tuple[RecipeBinding, RunningSandbox]:
    empty_queue(qdb)
    woo, zoho = sandbox_factory("woocommerce"), sandbox_factory("zohocrm")
    with qdb.write() as session:
        company_id = companies.create(session, f"Read by jobs {time.monotonic_ns()}").id
    shop, crm = _connect(qdb, company_id, woo), _connect(qdb, company_id, zoho)
    credentials = woo.sandbox.credentials()
    auth = (credentials["consumer_key"], credentials["consumer_secret"])
    for n in range(orders):
        order = {"status": "processing", "billing": {"last_name": f"N{n}", "email": f"b{n}@example.com"},
                 "line_items": [{"product_id": 10, "quantity": 1}]}  # fmt: skip
        assert httpx.post(f"{woo.url}/wp-json/wc/v3/orders", json=order, auth=auth).status_code == 201
    with qdb.write() as session:
        binding = bindings.enable(
            session, company_id, catalog.get("woocommerce-to-zohocrm"), {"shop": shop, "crm": crm}
        )
        session.expunge(binding)
    return binding, zoho


def _readers(qdb: Database, run_id: str) -> list[str]:
    with qdb.read() as session:
        readers = select(Job.status).where(
            Job.kind == backfill.BACKFILL, Job.dedupe_key.startswith(f"backfill:{run_id}:")
        )
        return list(session.scalars(readers.order_by(Job.dedupe_key)))


def test_a_chain_of_jobs_reads_every_page_and_the_run_counts_every_record(
    qdb: Database,
    runtime: Runtime,
    sandbox_factory: Callable[..., RunningSandbox],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch, "PAGE", 2)
    monkeypatch.setattr(backfill, "JOB_PAGES", 1)
    binding, zoho = _setup(qdb, sandbox_factory, orders=5)
    flow = catalog.get("woocommerce-to-zohocrm").flows[0]
    run = backfill.enqueue(qdb, binding, flow, None)
    assert backfill.enqueue(qdb, binding, flow, None).id == run.id
    assert _readers(qdb, run.id) == [jobs.QUEUED], "started twice, read once"

    _drain(runtime)
    with qdb.read() as session:
        row = session.get(SyncRun, run.id)
        assert row is not None and row.status == backfill.DONE
        assert row.counts == {"pages": 3, "enqueued": 5}
        assert session.scalar(select(func.count()).select_from(Job).where(Job.kind == backfill.BACKFILL)) == 3
    assert _readers(qdb, run.id) == [jobs.DONE] * 3, "one job a page, each handing over to the next"
    assert backfill.outcome(qdb, run.id) == {jobs.DONE: 5}
    assert len(zoho.sandbox.store.all("Deals")) == 5


def test_a_disabled_recipe_interrupts_the_run_its_reader_finds(
    qdb: Database, runtime: Runtime, sandbox_factory: Callable[..., RunningSandbox]
) -> None:
    binding, zoho = _setup(qdb, sandbox_factory, orders=1)
    run = backfill.enqueue(qdb, binding, catalog.get("woocommerce-to-zohocrm").flows[0], None)
    with qdb.write() as session:
        row = session.get(RecipeBinding, binding.id)
        assert row is not None
        bindings.disable(session, row)
    _drain(runtime)
    with qdb.read() as session:
        stopped = session.get(SyncRun, run.id)
        assert stopped is not None and stopped.status == backfill.INTERRUPTED
    assert zoho.sandbox.store.all("Deals") == []
