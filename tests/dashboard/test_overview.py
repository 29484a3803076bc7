"""The overview: counts and charts per window, the queue, connection health, the live fragment; one
company's numbers never include another's."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from isao import connections
from isao.connectors import woocommerce
from isao.dashboard import charts
from isao.db import Database
from isao.db.models import Job, JobAttempt, RateBucket, RecipeBinding
from isao.ids import new_id
from isao.queue import jobs
from isao.sync.batch import BATCH, handoff_prefix, page_key
from isao.sync.bindings import POLL
from isao.sync.engine import RECORD
from isao.timeutil import utcnow
from tests.conftest import LiveServer
from tests.dashboard.conftest import Dashboard

SECRET = "overview-webhook-secret"
DEALS = "http://hubspot.test/crm/v3/objects/deals"


def total(html: str, key: str) -> int:
    found = re.search(rf'id="total-{key}">(\d+)<', html)
    assert found, f"no total for {key}"
    return int(found.group(1))


def queue(html: str, key: str) -> str:
    found = re.search(rf'id="queue-{key}">(.*?)</dd>', html, re.S)
    assert found, f"no queue figure {key}"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def connection(db: Database, company_id: str, provider: str, **secrets: str) -> str:
    with db.write() as session:
        name = f"{provider}-{time.time_ns()}"
        return connections.create(session, company_id, provider, name, secrets=secrets).id


def bind(db: Database, company_id: str, **roles: str) -> str:
    """A recipe binding as ``isao sync disable`` leaves it: its jobs' history stays, and a worker that
    ever runs on this shared database routes nothing through it."""
    with db.write() as session:
        row = RecipeBinding(
            id=new_id("bind"),
            company_id=company_id,
            recipe="woocommerce-hubspot",
            connections=roles,
            enabled=False,
        )
        session.add(row)
        return row.id


def finished(
    db: Database,
    company_id: str | None,
    kind: str,
    status: str,
    at: datetime,
    *,
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    failures: Sequence[tuple[str, str, str, dict[str, Any] | None]] = (),
) -> str:
    """A job that ended (``status``) at ``at``, with its failed attempts (outcome, class, error, response)
    before the last one: history with chosen timestamps, as the worker would have recorded it."""
    row = jobs.values(kind, payload or {}, company_id=company_id, dedupe_key=dedupe_key)
    attempts = len(failures) + (1 if status == jobs.DONE else 0)
    row |= {
        "status": status,
        "attempts": attempts,
        "created_at": at - timedelta(seconds=30),
        "updated_at": at,
    }
    row |= {"finished_at": at if status != jobs.QUEUED else None, "run_at": at}
    with db.write() as session:
        session.add(Job(**row))
        session.flush()
        for number, (outcome, error_class, error, response) in enumerate(failures, 1):
            session.add(
                JobAttempt(
                    job_id=row["id"], number=number, worker="test", outcome=outcome, error_class=error_class,
                    error=error, response=response, started_at=at - timedelta(seconds=1), finished_at=at,
                )
            )  # fmt: skip
        if status == jobs.DONE:
            session.add(JobAttempt(job_id=row["id"], number=attempts, outcome="done", finished_at=at))
    return str(row["id"])


def _poll_url(html: str) -> str:
    poll = re.search(r'hx-get="(/overview/live\?window=hour&amp;seen=\w+)" hx-trigger="every 5s"', html)
    assert poll, "the counts poll every 5 s"
    return poll.group(1).replace("&amp;", "&")


def post_webhook(server: LiveServer, conn: str, order_id: int) -> None:
    body = orjson.dumps({"id": order_id, "status": "processing", "total": "10.00"})
    headers = woocommerce.sign(SECRET, body, topic="order.created", webhook_id=1, delivery_id=f"d-{order_id}")
    answer = httpx.post(f"{server.url}/hooks/{conn}", content=body, headers=headers)
    assert answer.status_code == 202, answer.text


def seed(db: Database, server: LiveServer, company_id: str, token: str, api: str) -> dict[str, str]:
    """One company's hour: 2 webhooks, 1 CRM change, 2 record jobs and a batch of 5 records done, a record
    job that retried twice then died, a job queued now; and a record job done three hours ago."""
    shop = connection(db, company_id, "woocommerce", webhook_secret=SECRET)
    crm = connection(
        db, company_id, "hubspot", access_token="t", refresh_token="r", expires_at=str(time.time() + 1800)
    )
    binding = bind(db, company_id, shop=shop, crm=crm)
    post_webhook(server, shop, 1)
    post_webhook(server, shop, 2)
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.post("/contacts", json={"name": "Ada Lovelace"}).status_code == 201
    now = utcnow()
    sync = {"binding_id": binding, "flow": "orders", "id": "1"}
    finished(db, company_id, RECORD, jobs.DONE, now - timedelta(minutes=2), payload=sync)
    finished(db, company_id, RECORD, jobs.DONE, now - timedelta(minutes=20), payload=sync)
    finished(db, company_id, RECORD, jobs.DONE, now - timedelta(hours=3), payload=sync)
    run = new_id("run")
    finished(db, company_id, BATCH, jobs.DONE, now - timedelta(minutes=2), payload=sync,
             dedupe_key=page_key(run, 1, 5))  # fmt: skip
    # One of the batch's records, handed to a job of its own: the batch already counted it.
    finished(db, company_id, RECORD, jobs.DONE, now - timedelta(minutes=2), payload=sync,
             dedupe_key=f"{handoff_prefix(run)}job_batch:1")  # fmt: skip
    dead = finished(
        db, company_id, RECORD, jobs.DEAD, now - timedelta(minutes=1), payload=sync,
        failures=[
            ("retry", "Transient", f"hubspot: POST {DEALS} answered 503", None),
            ("retry", "RateLimited", f"hubspot: POST {DEALS} answered 429",
             {"status": 429, "headers": {"X-HubSpot-RateLimit-Remaining": "0", "content-type": "json"}}),
            ("dead", "Invalid", f"hubspot: POST {DEALS} answered 400", None),
        ],
    )  # fmt: skip
    with db.write() as session:
        jobs.enqueue(session, RECORD, sync, company_id=company_id)
    return {"shop": shop, "crm": crm, "binding": binding, "dead": dead}


@pytest.fixture
def seeded(dashboard: Dashboard, server: LiveServer) -> dict[str, str]:
    tenant = dashboard.tenant
    return seed(tenant.db, server, tenant.company_id, tenant.token, tenant.api)


def test_last_hour_counts_each_kind_of_work_for_the_company(
    dashboard: Dashboard, seeded: dict[str, str]
) -> None:
    page = dashboard.get("/")
    assert page.status_code == 200
    html = page.text
    assert html.count("<h1>") == 1 and "Last hour" in html
    assert total(html, "events") == 2
    assert total(html, "changes") == 1
    assert total(html, "records") == 2 + 5  # two record jobs, a batch of five; not the one 3 hours ago
    assert total(html, "retries") == 2
    assert total(html, "dead") == 1
    assert queue(html, "due") == "1"  # the record job (the webhooks were routed as they were stored)
    assert queue(html, "dead") == "1" and queue(html, "running") == "0"
    assert queue(html, "oldest") == "under a minute"


def test_charts_draw_a_bar_per_bucket_with_its_value(dashboard: Dashboard, seeded: dict[str, str]) -> None:
    html = dashboard.get("/?window=hour").text
    assert html.count("<figure") == 5
    assert len(re.findall(r"<title>\d\d:\d\d: \d+ records?</title>", html)) == 12
    assert re.search(r"<title>\d\d:\d\d: 6 records</title>", html)  # the batch and a record job, 2 min ago
    assert re.search(
        r'role="img" aria-label="Records synced, per 5 minutes: 7 records in total, most \(6\)', html
    )
    assert '<table class="visually-hidden"><caption>Dead letters, per 5 minutes</caption>' in html
    day = dashboard.get("/?window=day").text
    assert "Last day" in day and 'aria-current="page">Last day<' in day
    assert len(re.findall(r"<title>\d\d:00: \d+ records?</title>", day)) == 24
    assert total(day, "records") == 3 + 5  # the record job of three hours ago counts in the day


def test_an_unknown_window_is_refused(dashboard: Dashboard) -> None:
    response = dashboard.get("/?window=week")
    assert response.status_code == 400 and "Unknown time window" in response.text


def test_connection_health_shows_errors_token_and_rate_limit(
    dashboard: Dashboard, seeded: dict[str, str]
) -> None:
    with dashboard.tenant.db.write() as session:  # the bucket as two waiting workers left it
        session.add(
            RateBucket(key=connections.rate_key(seeded["crm"]), tokens=-2.0, updated=time.time() + 60)
        )
    html = dashboard.get("/").text
    rows = {
        m.group(1): m.group(0) for m in re.finditer(r"<tr>\s*<th scope=\"row\">([^<]+)<.*?</tr>", html, re.S)
    }
    crm = next(row for name, row in rows.items() if name.startswith("hubspot-"))
    shop = next(row for name, row in rows.items() if name.startswith("woocommerce-"))
    assert "Failing" in crm and "Invalid" in crm and "answered 400" in crm
    assert "X-HubSpot-RateLimit-Remaining" not in crm  # the 429's headers, but the last error was the 400
    assert "1 rate-limit answer (429) in the last hour" in crm
    assert "2 calls waiting" in crm and "9.9 requests/s" in crm
    assert re.search(r"<td>\s*<time [^>]+>in (29|30) min</time>\s*</td>", crm)  # the token's expiry
    assert "Failing" not in shop and "answered" not in shop  # HubSpot's errors are not the shop's
    assert re.search(r"<td>\s*<time [^>]+>\d+ s ago</time>\s*</td>", shop)  # its last webhook
    assert "no limit set" in shop and "does not expire" in shop


def test_a_recorded_rate_limit_answer_shows_its_headers(dashboard: Dashboard, seeded: dict[str, str]) -> None:
    later = utcnow() + timedelta(seconds=5)
    headers = {"X-HubSpot-RateLimit-Remaining": "0", "Retry-After": "10", "content-type": "application/json"}
    finished(
        dashboard.tenant.db, dashboard.tenant.company_id, RECORD, jobs.QUEUED, later,
        payload={"binding_id": seeded["binding"], "flow": "orders", "id": "2"},
        failures=[("retry", "RateLimited", "hubspot: GET http://hubspot.test/x answered 429",
                   {"status": 429, "headers": headers})],
    )  # fmt: skip
    html = dashboard.get("/").text
    assert "<code>X-HubSpot-RateLimit-Remaining: 0</code>" in html and "<code>Retry-After: 10</code>" in html
    assert "content-type" not in html


def test_other_companies_see_none_of_it(
    dashboard: Dashboard, other_dashboard: Dashboard, seeded: dict[str, str], server: LiveServer
) -> None:
    other = other_dashboard.tenant
    poll = {"binding_id": seeded["binding"], "flow": "orders"}
    finished(other.db, None, POLL, jobs.DONE, utcnow(), payload=poll)  # company-less, but not theirs
    html = other_dashboard.get("/").text
    for key in ("events", "changes", "records", "retries", "dead"):
        assert total(html, key) == 0
    assert queue(html, "due") == "0" and queue(html, "dead") == "0"
    assert seeded["shop"] not in html and "hubspot-" not in html and "No connections yet" in html
    live = other_dashboard.htmx("GET", "/overview/live?window=day").text
    assert total(live, "records") == 0 and total(live, "dead") == 0


def test_live_fragment_polls_and_answers_204_while_nothing_changed(
    dashboard: Dashboard, seeded: dict[str, str]
) -> None:
    page = dashboard.get("/").text
    assert '<div aria-live="polite">' in page
    url = _poll_url(page)
    unchanged = dashboard.htmx("GET", url)
    if unchanged.status_code == 200:  # a 5-minute bucket began in between: the labels moved once
        url = _poll_url(unchanged.text)
        unchanged = dashboard.htmx("GET", url)
    assert unchanged.status_code == 204 and unchanged.text == ""
    finished(dashboard.tenant.db, dashboard.tenant.company_id, RECORD, jobs.DEAD, utcnow(),
             payload={"binding_id": seeded["binding"], "flow": "orders", "id": "3"})  # fmt: skip
    changed = dashboard.htmx("GET", url)
    assert changed.status_code == 200
    assert (
        "<html" not in changed.text
        and total(changed.text, "dead") == 2
        and queue(changed.text, "dead") == "2"
    )
    assert '<div id="overview-charts" class="grid charts" hx-swap-oob="true">' in changed.text
    assert dashboard.htmx("GET", "/overview/live?window=year").status_code == 400


def test_bars_are_labelled_and_escaped() -> None:
    figure = charts.bars(
        [("10:00", 0), ("10:05", 3), ("<b>", 1)],
        title="Retries",
        unit=("retry", "retries"),
        period="per 5 minutes",
    )
    assert figure.count("<title>") == 3 and "<title>10:05: 3 retries</title>" in figure
    assert 'aria-label="Retries, per 5 minutes: 4 retries in total, most (3) at 10:05"' in figure
    assert "<title>&lt;b&gt;: 1 retry</title>" in figure and "<b>" not in figure
    assert '<th scope="row">10:05</th><td class="num">3</td>' in figure
    empty = charts.bars(
        [("10:00", 0)], title="Dead letters", unit=("dead letter", "dead letters"), period="per hour"
    )
    assert (
        'aria-label="Dead letters, per hour: 0 dead letters in total"' in empty and 'height="0.00"' in empty
    )


def test_the_live_fragment_needs_a_login(anonymous: httpx.Client) -> None:
    assert anonymous.get("/overview/live").status_code == 303
    refused = anonymous.get("/overview/live", headers={"HX-Request": "true"})
    assert refused.status_code == 401 and refused.text == ""
