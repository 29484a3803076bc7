"""Activity: a WooCommerce sandbox's order webhook, delivered to ISAO and synced to its CRM, shows in the
feed with the jobs it started, and its story page holds the raw delivery, the mapped records, the requests
sent and the responses back. Another company sees none of it."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from isao import connections
from isao.api.app import create_app
from isao.config import Settings
from isao.connectors import catalog as connectors
from isao.db import Database
from isao.queue import jobs
from isao.runtime import Runtime
from isao.sync import bindings, catalog
from isao.timeutil import utcnow
from tests.conftest import Tenant, empty_queue, make_tenant, serve
from tests.dashboard.conftest import Dashboard, log_in
from tests.e2e.test_recipe_woocommerce_to_isao import BILLING
from tests.e2e.test_recipe_woocommerce_zohocrm import _drain
from tests.sandboxes import RunningSandbox
from tests.sync.test_engine import _connect

_EVENT = re.compile(r'href="/activity/events/(in_[0-9a-z]+)"')
_JOB = re.compile(r'href="/activity/jobs/(job_[0-9a-z]+)">sync.record<')


@dataclass
class Shop:
    board: Dashboard
    other: Dashboard
    tenant: Tenant
    shop_id: str
    crm_id: str
    order: dict[str, Any]
    consumer_secret: str


@pytest.fixture
def shop(
    queue_settings: Settings, qdb: Database, runtime: Runtime, sandbox_factory: Callable[..., RunningSandbox]
) -> Iterator[Shop]:
    """An order placed in the sandbox shop, its webhook received by ISAO and every job run."""
    empty_queue(qdb)
    woo = sandbox_factory("woocommerce")
    with serve(create_app(queue_settings, db=qdb, workers=0)) as isao:
        tenant = make_tenant(qdb, isao.api, f"Shop {time.monotonic_ns()}")
        shop_id = _connect(qdb, tenant.company_id, woo)
        plain, secrets = connectors.split("isao", {"base_url": isao.api, "api_key": tenant.token})
        with qdb.write() as session:
            crm_id = connections.create(
                session, tenant.company_id, "isao", "crm", config=plain, secrets=secrets
            ).id
            row = connections.get(session, shop_id)
            assert row is not None
            connections.set_secrets(row, {"webhook_secret": "wh-secret"})
            recipe = catalog.get("woocommerce-to-isao")
            bindings.enable(session, tenant.company_id, recipe, {"shop": shop_id, "crm": crm_id})
        credentials = woo.sandbox.credentials()
        auth = (credentials["consumer_key"], credentials["consumer_secret"])
        with httpx.Client(base_url=f"{woo.url}/wp-json/wc/v3", auth=auth) as woo_api:
            hook = {
                "topic": "order.created",
                "delivery_url": f"{isao.url}/hooks/{shop_id}",
                "secret": "wh-secret",
            }
            assert woo_api.post("/webhooks", json=hook).status_code == 201
            body = {
                "status": "processing",
                "billing": BILLING,
                "line_items": [{"product_id": 13, "quantity": 1}],
            }
            placed = woo_api.post("/orders", json=body)
            assert placed.status_code == 201, placed.text
        _drain(runtime)
        board = log_in(isao, tenant)
        other = log_in(isao, make_tenant(qdb, isao.api, f"Globex {time.monotonic_ns()}"))
        try:
            yield Shop(board, other, tenant, shop_id, crm_id, placed.json(), credentials["consumer_secret"])
        finally:
            board.http.close()
            other.http.close()


def _text(response: httpx.Response) -> str:
    return html.unescape(response.text)


def test_the_feed_shows_the_webhook_and_the_jobs_it_started(shop: Shop) -> None:
    page = shop.board.get("/activity")
    assert page.status_code == 200
    assert 'aria-live="polite"' in page.text and 'hx-get="/activity/feed?' in page.text
    assert "every 2s" in page.text
    (event_id,) = set(_EVENT.findall(page.text))
    text = _text(page)
    assert ">order.created</a>" in text and "woocommerce · woocommerce" in text
    assert ">inbound.route</a>" in text and ">sync.record</a>" in text
    assert "Page 1 of" not in text, "a handful of items fit on one page"
    assert text.count(f"from event {event_id}") >= 2, "the route and the sync job link back to their event"
    assert '"badge bad">dead</span>' not in text and '<span class="badge ok">done</span>' in text


FILTERS: list[tuple[dict[str, str], list[str], list[str]]] = [
    ({"type": "event"}, [">order.created</a>"], [">sync.record</a>", ">inbound.route</a>"]),
    ({"type": "job"}, [">sync.record</a>", ">inbound.route</a>"], [">order.created</a>"]),
    ({"kind": "sync.record"}, [">sync.record</a>"], [">inbound.route</a>", ">order.created</a>"]),
    ({"q": "ROUTE"}, [">inbound.route</a>"], [">sync.record</a>", ">order.created</a>"]),
    ({"q": "order"}, [">order.created</a>"], [">sync.record</a>"]),
    ({"status": "done", "window": "15m"}, [">sync.record</a>", ">inbound.route</a>"], [">order.created</a>"]),
    ({"status": "dead"}, ["Nothing yet matches these filters"], [">sync.record</a>"]),
    ({"provider": "woocommerce"}, [">order.created</a>", ">inbound.route</a>", ">sync.record</a>"], []),
]


def test_filters_narrow_the_feed(shop: Shop) -> None:
    for filters, shown, hidden in FILTERS:
        response = shop.board.get("/activity", params=filters)
        assert response.status_code == 200, filters
        text = _text(response)
        for expected in shown:
            assert expected in text, filters
        for unexpected in hidden:
            assert unexpected not in text, filters
        for value in filters.values():  # the form shows what was asked
            assert f'value="{value}" selected' in response.text or f'value="{value}">' in response.text


def test_a_connection_filter_keeps_its_events_and_the_jobs_of_its_recipes(shop: Shop) -> None:
    text = _text(shop.board.get("/activity", params={"connection": shop.shop_id}))
    assert ">order.created</a>" in text and ">inbound.route</a>" in text and ">sync.record</a>" in text
    text = _text(shop.board.get("/activity", params={"connection": shop.crm_id, "type": "event"}))
    assert "Nothing yet matches these filters" in text, "the CRM connection received no webhook"


def test_bad_filters_are_refused_next_to_the_field(shop: Shop) -> None:
    response = shop.board.get(
        "/activity", params={"provider": "hubspot", "window": "1y", "connection": "conn_x"}
    )
    assert response.status_code == 400
    for name in ("provider", "window", "connection"):
        assert f'id="f-{name}-error"' in response.text
    assert ">order.created</a>" not in response.text


def test_the_feed_fragment_keeps_the_filters_and_answers_204_when_nothing_changed(shop: Shop) -> None:
    fragment = shop.board.htmx("GET", "/activity/feed?type=event")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and ">order.created</a>" in _text(fragment)
    assert ">sync.record</a>" not in fragment.text
    poll = re.search(r'hx-get="(/activity/feed\?[^"]+)"', fragment.text)
    assert poll is not None
    url = html.unescape(poll.group(1))
    assert "type=event" in url and "seen=" in url
    assert shop.board.htmx("GET", url).status_code == 204, "nothing new: nothing to swap"
    assert shop.board.htmx("GET", url.replace("type=event", "type=job")).status_code == 200


def test_the_story_page_shows_the_delivery_mapped_records_requests_and_responses(shop: Shop) -> None:
    (event_id,) = set(_EVENT.findall(shop.board.get("/activity").text))
    response = shop.board.get(f"/activity/events/{event_id}")
    assert response.status_code == 200
    text = _text(response)
    number = shop.order["number"]
    assert text.count("<h1>") == 1 and "<h1>Event order.created</h1>" in text
    # the raw delivery, headers and body as received
    assert "x-wc-webhook-topic" in text and "x-wc-webhook-signature" in text
    assert f'"number": "{number}"' in text and '"email": "ada@example.com"' in text
    # the route job, then the sync job it enqueued
    assert text.index("inbound.route") < text.index("sync.record")
    assert '"routed": 1' in text
    # each step: mapped record, request sent, response back
    assert "Step contact: created contacts" in text and "Step deal: created deals" in text
    assert text.count("Mapped record") >= 2
    assert f'"title": "Order #{number}"' in text
    assert '"method": "POST"' in text and "/api/external/contacts" in text and "/api/external/deals" in text
    assert '"status": 201' in text
    assert re.search(r'"id": "deal_[0-9a-z]+"', text), "the created deal, as ISAO's API answered it"
    # no secret travels to the page
    assert shop.tenant.token not in text and shop.consumer_secret not in text
    assert "authorization" not in text.lower()


def test_the_job_page_shows_its_attempts_and_leads_back_to_the_event(shop: Shop) -> None:
    feed = shop.board.get("/activity", params={"kind": "sync.record"}).text
    (job_id,) = set(_JOB.findall(feed))
    response = shop.board.get(f"/activity/jobs/{job_id}")
    assert response.status_code == 200
    text = _text(response)
    assert "<h1>Job sync.record</h1>" in text and "Attempt 1: done" in text
    assert "Event story" in text and "/activity/events/in_" in text
    assert "Request sent" in text and '"status": 201' in text


def test_another_company_sees_nothing(shop: Shop) -> None:
    feed = shop.board.get("/activity").text
    (event_id,) = set(_EVENT.findall(feed))
    (job_id,) = set(_JOB.findall(shop.board.get("/activity", params={"kind": "sync.record"}).text))
    theirs = shop.other.get("/activity")
    assert theirs.status_code == 200 and event_id not in theirs.text and "sync.record</a>" not in theirs.text
    assert "Nothing yet" in theirs.text
    for path in (f"/activity/events/{event_id}", f"/activity/jobs/{job_id}"):
        missing = shop.other.get(path)
        assert missing.status_code == 404 and "not found" in missing.text
        assert "ada@example.com" not in missing.text
    assert shop.other.get("/activity", params={"connection": shop.shop_id}).status_code == 400
    assert shop.other.htmx("GET", "/activity/feed").text.count("<tr>") == 0


def test_the_feed_pages_by_25(dashboard: Dashboard, db: Database) -> None:
    later = utcnow() + timedelta(days=365)  # never due: only listed
    with db.write() as session:
        jobs.enqueue_many(
            session,
            [jobs.values("test.listed", {"n": n}, company_id=dashboard.tenant.company_id, run_at=later)
             for n in range(30)],
        )  # fmt: skip
    first = dashboard.get("/activity", params={"kind": "test.listed"})
    assert (
        "30 items" in first.text
        and "Page 1 of 2" in first.text
        and first.text.count(">test.listed</a>") == 25
    )
    assert 'href="/activity?kind=test.listed&amp;page=2"' in first.text
    second = dashboard.get("/activity", params={"kind": "test.listed", "page": "2"})
    assert "Page 2 of 2" in second.text and second.text.count(">test.listed</a>") == 5
    assert dashboard.get("/activity", params={"page": "0"}).status_code == 400


def test_anonymous_visitors_get_no_activity(anonymous: httpx.Client) -> None:
    for path in ("/activity", "/activity/feed", "/activity/events/in_x", "/activity/jobs/job_x"):
        response = anonymous.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
