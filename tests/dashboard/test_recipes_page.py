"""The recipes pages: enabling woocommerce-to-zohocrm on sandbox connections, running its flow (a poll,
a backfill through the queue with its progress), previewing its writes, reconciling and repairing drift,
and none of it visible to another company. The test server runs no workers: tests run the jobs."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from isao.db.models import Job, RecipeBinding, Schedule, SyncConflict
from isao.ids import new_id
from isao.runtime import Runtime
from isao.sync import backfill, bindings, idmap
from tests.dashboard.conftest import Dashboard
from tests.e2e.test_recipe_woocommerce_zohocrm import _drain
from tests.sandboxes import RunningSandbox
from tests.sync.test_engine import _connect

RECIPE = "woocommerce-to-zohocrm"
PAGE = f"/recipes/{RECIPE}"


@dataclass
class Shop:
    woo: RunningSandbox
    zoho: RunningSandbox
    shop: str
    crm: str

    def orders(self, count: int, status: str = "completed") -> None:
        credentials = self.woo.sandbox.credentials()
        auth = (credentials["consumer_key"], credentials["consumer_secret"])
        for n in range(count):
            billing = {"first_name": "Buyer", "last_name": f"N{n}", "email": f"buyer{n}@example.com"}
            order = {"status": status, "billing": billing, "line_items": [{"product_id": 10, "quantity": 1}]}
            response = httpx.post(f"{self.woo.url}/wp-json/wc/v3/orders", json=order, auth=auth)
            assert response.status_code == 201, response.text

    def deals(self) -> list[dict[str, object]]:
        return list(self.zoho.sandbox.store.all("Deals"))


@pytest.fixture
def shop(dashboard: Dashboard, sandbox_factory: Callable[..., RunningSandbox]) -> Shop:
    woo, zoho = sandbox_factory("woocommerce"), sandbox_factory("zohocrm")
    company = dashboard.tenant.company_id
    return Shop(
        woo, zoho, _connect(dashboard.tenant.db, company, woo), _connect(dashboard.tenant.db, company, zoho)
    )


@pytest.fixture
def server_runtime(app: FastAPI) -> Runtime:
    """The server's own runtime: its worker runs what the dashboard queued, as ``isao serve``'s would."""
    runtime: Runtime = app.state.runtime
    return runtime


def _enable(dashboard: Dashboard, shop: Shop, **options: str) -> httpx.Response:
    dashboard.get(PAGE)
    form = {"role-shop": shop.shop, "role-crm": shop.crm} | {f"option-{k}": v for k, v in options.items()}
    return dashboard.post(f"{PAGE}/enable", form)


def _binding(dashboard: Dashboard) -> RecipeBinding | None:
    with dashboard.tenant.db.read() as session:
        return bindings.get(session, dashboard.tenant.company_id, RECIPE)


def test_the_list_shows_every_recipe_and_whether_this_company_enabled_it(
    dashboard: Dashboard, shop: Shop
) -> None:
    page = dashboard.get("/recipes")
    assert page.status_code == 200
    for name in ("woocommerce-to-zohocrm", "woocommerce-to-isao", "hubspot-isao-contacts"):
        assert f'href="/recipes/{name}"' in page.text
    assert "shop: WooCommerce, crm: Zoho CRM" in page.text
    assert "Enabled" not in page.text.replace("Not enabled", "")
    assert _enable(dashboard, shop).status_code == 303
    row = re.search(rf'href="/recipes/{RECIPE}">.*?</tr>', dashboard.get("/recipes").text, re.S)
    assert row and 'badge ok">Enabled' in row.group(0)


def test_enabling_binds_each_role_and_keeps_only_the_options_changed(
    dashboard: Dashboard, shop: Shop
) -> None:
    page = dashboard.get(PAGE)
    assert f'<option value="{shop.shop}" selected>' in page.text, "the only WooCommerce connection is chosen"
    assert 'id="f-option-deal_type"' in page.text and "Default: New Business" in page.text
    assert ">Enable recipe</button>" in page.text

    response = _enable(dashboard, shop, deal_type="Existing Business", lead_source="WooCommerce")
    assert response.status_code == 303 and response.headers["location"] == f"{PAGE}?done=enabled"
    binding = _binding(dashboard)
    assert binding is not None and binding.enabled
    assert binding.connections == {"shop": shop.shop, "crm": shop.crm}
    assert binding.options == {"deal_type": "Existing Business"}, "the default lead_source is not stored"
    page = dashboard.get(response.headers["location"])
    assert "Recipe enabled" in page.text and ">Save settings</button>" in page.text
    assert 'value="Existing Business"' in page.text and ">Disable recipe</button>" in page.text
    with dashboard.tenant.db.read() as session:
        schedule = session.get(Schedule, bindings.schedule_name(binding.id, "orders"))
    assert schedule is not None and schedule.enabled


def test_the_enable_form_says_what_is_wrong_next_to_each_field(
    dashboard: Dashboard, other_dashboard: Dashboard, sandbox_factory: Callable[..., RunningSandbox]
) -> None:
    page = dashboard.get(PAGE)
    assert "This company has no WooCommerce connection yet" in page.text
    assert '<a href="/connections/new?provider=woocommerce">Add a WooCommerce connection</a>' in page.text
    refused = dashboard.post(f"{PAGE}/enable", {})
    assert refused.status_code == 400 and 'id="f-role-crm-error"' in refused.text

    woo = sandbox_factory("woocommerce")
    mine = _connect(dashboard.tenant.db, dashboard.tenant.company_id, woo)
    theirs = _connect(
        other_dashboard.tenant.db, other_dashboard.tenant.company_id, sandbox_factory("zohocrm")
    )
    dashboard.get("/recipes/woocommerce-to-isao")
    refused = dashboard.post(
        "/recipes/woocommerce-to-isao/enable",
        {"role-shop": theirs, "role-crm": mine, "option-vip_lifetime_value": "lots"},
    )
    assert refused.status_code == 400
    assert re.search(
        r'id="f-role-shop-error">Choose one of this company&#39;s WooCommerce connections<', refused.text
    )
    assert "This company has no ISAO connection yet" in refused.text
    assert re.search(r'id="f-option-vip_lifetime_value-error">Enter a number<', refused.text)
    assert 'value="lots"' in refused.text, "what was typed is kept"
    with dashboard.tenant.db.read() as session:
        assert bindings.get(session, dashboard.tenant.company_id, "woocommerce-to-isao") is None


def test_disabling_stops_its_polls_and_runs(dashboard: Dashboard, shop: Shop) -> None:
    _enable(dashboard, shop)
    asked = dashboard.post(f"{PAGE}/disable")
    assert asked.status_code == 200 and "Disable recipe" in asked.text  # it asks first
    response = dashboard.post(f"{PAGE}/disable", {"confirm": "yes"})
    assert response.status_code == 303
    assert "Recipe disabled" in dashboard.get(response.headers["location"]).text
    binding = _binding(dashboard)
    assert binding is not None and not binding.enabled
    with dashboard.tenant.db.read() as session:
        schedule = session.get(Schedule, bindings.schedule_name(binding.id, "orders"))
    assert schedule is not None and not schedule.enabled
    assert dashboard.post(f"{PAGE}/flows/orders/run").status_code == 409
    assert dashboard.post(f"{PAGE}/flows/orders/backfill").status_code == 409


def test_the_dry_run_lists_the_writes_for_the_first_orders_and_writes_nothing(
    dashboard: Dashboard, shop: Shop
) -> None:
    _enable(dashboard, shop)
    shop.orders(3)
    page = dashboard.get(f"{PAGE}/flows/orders/preview", params={"limit": "2"})
    assert page.status_code == 200
    assert "2 source records looked at; nothing was written." in page.text
    assert page.text.count(">would create<") == 4, "a contact and a deal for each of two orders"
    assert page.text.count(">skipped<") == 2, "no billing company: no account"
    assert "<dt>Email</dt><dd>buyer0@example.com</dd>" in page.text
    assert shop.deals() == [] and shop.zoho.sandbox.store.all("Contacts") == []

    refused = dashboard.get(f"{PAGE}/flows/orders/preview", params={"limit": "1000", "since": "yesterday"})
    assert refused.status_code == 400
    assert re.search(r'id="f-limit-error">Enter a number from 1 to 100<', refused.text)
    assert 'id="f-since-error"' in refused.text
    assert dashboard.get(f"{PAGE}/flows/nope/preview").status_code == 404


def test_a_backfill_runs_in_the_workers_and_its_progress_counts_the_records(
    dashboard: Dashboard, shop: Shop, server_runtime: Runtime
) -> None:
    _enable(dashboard, shop)
    shop.orders(5)
    refused = dashboard.post(f"{PAGE}/flows/orders/backfill", {"since": "last week"})
    assert refused.status_code == 400 and 'id="f-backfill-1-since-error"' in refused.text

    started = dashboard.post(f"{PAGE}/flows/orders/backfill", {"since": ""})
    assert started.status_code == 303
    found = re.fullmatch(rf"{PAGE}/runs/(run_\w+)", started.headers["location"])
    assert found, started.headers["location"]
    run_id = found.group(1)
    page = dashboard.get(started.headers["location"])
    assert "<h1>Backfill of orders</h1>" in page.text and 'aria-live="polite"' in page.text
    assert 'hx-trigger="every 1s"' in page.text and "0 of 0 records, 0 failed" in page.text
    with dashboard.tenant.db.read() as session:
        assert backfill.reader(session, run_id) == "queued", "the request only queued the reading"
    assert dashboard.post(f"{PAGE}/flows/orders/backfill").headers["location"] == started.headers["location"]

    _drain(server_runtime)
    fragment = dashboard.htmx("GET", f"{PAGE}/runs/{run_id}/progress")
    assert fragment.status_code == 200
    assert "5 of 5 records, 0 failed" in fragment.text and 'value="5"' in fragment.text
    assert "Finished: 5 synced, 0 failed." in fragment.text
    assert "hx-trigger" not in fragment.text, "a settled run stops polling"
    assert len(shop.deals()) == 5
    assert f'href="{PAGE}/runs/{run_id}"' in dashboard.get(PAGE).text, "listed under recent runs"


def test_run_now_queues_the_poll_and_reconcile_repairs_a_drift(
    dashboard: Dashboard, shop: Shop, server_runtime: Runtime
) -> None:
    _enable(dashboard, shop)
    shop.orders(2)
    response = dashboard.post(f"{PAGE}/flows/orders/run")
    assert response.headers["location"] == f"{PAGE}?done=polled&flow=orders"
    assert "Queued an incremental poll of orders" in dashboard.get(response.headers["location"]).text
    with dashboard.tenant.db.read() as session:
        polls = session.scalars(
            select(Job.status).where(Job.kind == bindings.POLL, Job.company_id == dashboard.tenant.company_id)
        ).all()
    assert polls == ["queued"]
    _drain(server_runtime)
    assert len(shop.deals()) == 2

    assert "No drift" in dashboard.get(f"{PAGE}/flows/orders/reconcile").text
    deal = shop.deals()[0]
    shop.zoho.sandbox.store.put(
        "Deals", str(deal["id"]), deal | {"Stage": "Closed Lost"}
    )  # behind ISAO's back
    report = dashboard.get(f"{PAGE}/flows/orders/reconcile")
    assert report.status_code == 200 and "1 difference" in report.text
    assert (
        ">different</span>" in report.text
        and "<dt>Stage</dt><dd>Closed Won ≠ Closed Lost</dd>" in report.text
    )
    assert ">Repair</button>" in report.text

    repaired = dashboard.post(f"{PAGE}/flows/orders/reconcile")
    assert repaired.status_code == 200 and "Repaired 1 difference." in repaired.text
    assert "<td>yes</td>" in repaired.text
    assert next(d for d in shop.deals() if d["id"] == deal["id"])["Stage"] == "Closed Won"
    assert "No drift" in dashboard.get(f"{PAGE}/flows/orders/reconcile").text


def test_another_company_sees_nothing_of_the_binding_or_its_runs(
    dashboard: Dashboard, other_dashboard: Dashboard, shop: Shop
) -> None:
    _enable(dashboard, shop)
    run_url = dashboard.post(f"{PAGE}/flows/orders/backfill").headers["location"]
    theirs = other_dashboard.get(PAGE)
    assert "Not enabled" in theirs.text and shop.shop not in theirs.text and run_url not in theirs.text
    row = re.search(rf'href="/recipes/{RECIPE}">.*?</tr>', other_dashboard.get("/recipes").text, re.S)
    assert row and "Not enabled" in row.group(0)
    assert other_dashboard.get(run_url).status_code == 404
    assert other_dashboard.htmx("GET", f"{run_url}/progress").status_code == 404
    assert other_dashboard.get(f"{PAGE}/flows/orders/reconcile").status_code == 409
    assert other_dashboard.post(f"{PAGE}/disable").status_code == 409
    binding = _binding(dashboard)
    assert binding is not None and binding.enabled


def test_unknown_recipes_and_runs_are_404(dashboard: Dashboard) -> None:
    assert dashboard.get("/recipes/no-such-recipe").status_code == 404
    assert dashboard.get(f"{PAGE}/runs/run_nope").status_code == 404


def test_conflicts_of_a_two_way_sync_are_listed_with_their_record(
    dashboard: Dashboard, other_dashboard: Dashboard, shop: Shop
) -> None:
    assert "No conflicts" not in dashboard.get(PAGE).text, "nothing to say before the recipe is enabled"
    _enable(dashboard, shop)
    assert "No conflicts: no record has been changed on both sides at once." in dashboard.get(PAGE).text
    binding = _binding(dashboard)
    assert binding is not None
    with dashboard.tenant.db.write() as session:  # what the engine records under the `latest` policy
        source = idmap.Source(binding.id, "deal", shop.shop, "orders", "4242")
        idmap.save(session, binding.company_id, source, shop.crm, "Deals", "zd-77", "hash", "v1")
        link = idmap.find(session, source)
        assert link is not None
        session.add(
            SyncConflict(
                id=new_id("conf"), company_id=binding.company_id, binding_id=binding.id, link_id=link.id,
                field="*", ours={"version": "2026-12-04T10:00:00"}, theirs={"version": "2026-12-04T10:05:00"},
                resolution="kept the target (edited later)",
            )
        )  # fmt: skip
    page = dashboard.get(PAGE).text
    assert "orders 4242 → Deals zd-77" in page and "kept the target (edited later)" in page
    assert "2026-12-04T10:05:00" in page
    theirs = other_dashboard.get(PAGE).text
    assert "4242" not in theirs and "zd-77" not in theirs and "kept the target" not in theirs
