"""The dead-letters pages: real dead letters (webhook deliveries a receiver refuses with 410, run by a
worker), listed, shown with their three payloads, replayed, discarded, and kept from other companies.

The dashboard here runs on the queue tests' private database, so the worker claims only these jobs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from isao.api.app import create_app
from isao.config import Settings
from isao.dashboard.pages import deadletters as page_module
from isao.db import Database
from isao.queue import jobs
from isao.runtime import Runtime
from tests.conftest import LiveServer, Tenant, empty_queue, make_tenant, serve
from tests.dashboard.conftest import Dashboard, log_in


@pytest.fixture(autouse=True)
def _empty_queue(qdb: Database) -> None:
    empty_queue(qdb)


@pytest.fixture(scope="module")
def queue_server(queue_settings: Settings, qdb: Database) -> Iterator[LiveServer]:
    with serve(create_app(queue_settings, db=qdb, workers=0)) as live:
        yield live


@pytest.fixture(scope="module")
def gone() -> Iterator[str]:
    """A webhook receiver that always unsubscribes (410): every delivery to it dies at once."""

    async def hook(request: Request) -> Response:
        await request.body()
        return JSONResponse({"error": "unsubscribed"}, status_code=410)

    with serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as live:
        yield live.url + "/hook"


def _logged_in(server: LiveServer, qdb: Database, name: str) -> Iterator[Dashboard]:
    admin = log_in(server, make_tenant(qdb, server.api, name))
    yield admin
    admin.http.close()


@pytest.fixture
def dashboard(queue_server: LiveServer, qdb: Database) -> Iterator[Dashboard]:
    """Overrides the shared fixture: this company lives where the test's worker runs."""
    yield from _logged_in(queue_server, qdb, "Dead Ends")


@pytest.fixture
def other_dashboard(queue_server: LiveServer, qdb: Database) -> Iterator[Dashboard]:
    yield from _logged_in(queue_server, qdb, "Elsewhere")


def drain(runtime: Runtime) -> None:
    worker = runtime.worker()
    while worker.run_once():
        pass


def dead_letter(tenant: Tenant, runtime: Runtime, target: str) -> str:
    """Subscribe, write a contact, run the worker: the receiver's 410 kills the delivery."""
    name = f"Nobody {time.time_ns()}"
    with tenant.client() as api:
        api.post("/webhooks/subscribe", json={"event": "contact.created", "target_url": target})
        assert api.post("/contacts", json={"name": name}).status_code == 201
    drain(runtime)
    with tenant.client() as api:
        newest = api.get("/dead-letters").json()["data"][0]  # newest first, dead ones only
    return str(newest["id"])


def status_of(db: Database, job_id: str) -> tuple[str, int, dict[str, Any]]:
    with db.read() as session:
        job = jobs.get(session, job_id)
        assert job is not None
        return job.status, job.attempts, dict(job.payload)


def flash_params(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/dead-letters")
    return parse_qs(urlsplit(location).query)


def test_no_dead_letters_says_so(dashboard: Dashboard) -> None:
    page = dashboard.get("/dead-letters")
    assert page.status_code == 200
    assert "No dead letters. Jobs that fail for good will show up here." in page.text
    assert "Replay selected" not in page.text


def test_the_list_shows_each_dead_letter_with_its_error(
    dashboard: Dashboard, runtime: Runtime, gone: str
) -> None:
    first = dead_letter(dashboard.tenant, runtime, gone)
    second = dead_letter(dashboard.tenant, runtime, gone)
    page = dashboard.get("/dead-letters")
    assert page.status_code == 200
    for job_id in (first, second):
        assert f'name="ids" value="{job_id}" id="pick-{job_id}"' in page.text
        assert f'<label for="pick-{job_id}" class="sr-only">Select {job_id}</label>' in page.text
        assert f'href="/dead-letters/{job_id}"' in page.text
    assert page.text.index(second) < page.text.index(first)  # newest first
    assert "webhook.deliver" in page.text and ">Invalid<" in page.text
    assert "410 Gone: the receiver unsubscribed; subscription removed" in page.text
    assert "2 dead letters" in page.text
    assert "Replay selected" in page.text and "Discard selected" in page.text
    assert "Replay all matching the filter" in page.text
    assert '<option value="webhook.deliver"' in page.text and '<option value="Invalid"' in page.text

    filtered = dashboard.get("/dead-letters", params={"error_class": "Transient"})
    assert filtered.status_code == 200 and "No dead letters match these filters." in filtered.text
    assert first not in filtered.text
    matching = dashboard.get("/dead-letters", params={"kind": "webhook.deliver", "error_class": "Invalid"})
    assert first in matching.text and second in matching.text


def test_a_filter_too_long_is_refused_next_to_the_field(dashboard: Dashboard) -> None:
    page = dashboard.get("/dead-letters", params={"kind": "k" * 65})
    assert page.status_code == 400
    assert 'id="f-kind-error"' in page.text and 'aria-invalid="true"' in page.text
    assert dashboard.get("/dead-letters", params={"page": "zero"}).status_code == 400


def test_the_detail_shows_the_error_and_the_three_payloads(
    dashboard: Dashboard, runtime: Runtime, gone: str
) -> None:
    job_id = dead_letter(dashboard.tenant, runtime, gone)
    _, _, payload = status_of(dashboard.tenant.db, job_id)
    page = dashboard.get(f"/dead-letters/{job_id}")
    assert page.status_code == 200
    assert page.text.count("<h1") == 1 and "Dead letter webhook.deliver" in page.text
    assert "410 Gone: the receiver unsubscribed" in page.text
    side = page.text[page.text.index('class="side-by-side"') :]
    original, request, response = (
        side.index(h) for h in ("Original payload", "Request sent", "Response received")
    )
    assert original < request < response
    assert payload["subscription_id"] in side[original:request]  # the job's own payload
    assert f"<code>{gone}</code>" in side[request:response] and "contact.created" in side[request:response]
    assert "Status <strong>410</strong>" in side[response:] and "unsubscribed" in side[response:]
    attempts = page.text[page.text.index("<h2>Attempts</h2>") :]
    assert "<td>dead</td>" in attempts
    assert ">Replay</button>" in page.text and ">Discard</button>" in page.text


def test_replaying_one_queues_it_again_with_its_original_payload(
    dashboard: Dashboard, runtime: Runtime, gone: str
) -> None:
    job_id = dead_letter(dashboard.tenant, runtime, gone)
    _, _, payload = status_of(dashboard.tenant.db, job_id)
    answer = dashboard.post("/dead-letters/replay", {"ids": job_id}, follow_redirects=False)
    assert flash_params(answer) == {"done": ["replayed"], "count": ["1"]}
    assert status_of(dashboard.tenant.db, job_id) == ("queued", 0, payload)
    page = dashboard.get(answer.headers["location"])
    assert "Replayed 1 job" in page.text and job_id not in page.text
    assert dashboard.get(f"/dead-letters/{job_id}").status_code == 404  # no longer dead


def test_replaying_a_selection(dashboard: Dashboard, runtime: Runtime, gone: str) -> None:
    picked = [dead_letter(dashboard.tenant, runtime, gone) for _ in range(3)]
    left = dead_letter(dashboard.tenant, runtime, gone)
    answer = dashboard.post("/dead-letters/replay", {"ids": picked}, follow_redirects=False)
    assert flash_params(answer)["count"] == ["3"]
    assert "Replayed 3 jobs" in dashboard.get(answer.headers["location"]).text
    assert [status_of(dashboard.tenant.db, i)[0] for i in picked] == ["queued"] * 3
    assert status_of(dashboard.tenant.db, left)[0] == "dead"


def test_replaying_all_matching_the_filter(
    dashboard: Dashboard, other_dashboard: Dashboard, runtime: Runtime, gone: str
) -> None:
    mine = [dead_letter(dashboard.tenant, runtime, gone) for _ in range(2)]
    theirs = dead_letter(other_dashboard.tenant, runtime, gone)
    answer = dashboard.post(
        "/dead-letters/replay",
        {"scope": "filter", "kind": "webhook.deliver", "error_class": "Invalid"},
        follow_redirects=False,
    )
    assert flash_params(answer) == {
        "kind": ["webhook.deliver"],
        "error_class": ["Invalid"],
        "done": ["replayed"],
        "count": ["2"],
    }
    assert [status_of(dashboard.tenant.db, i)[0] for i in mine] == ["queued", "queued"]
    assert status_of(dashboard.tenant.db, theirs)[0] == "dead"
    nothing = dashboard.post("/dead-letters/replay", {"scope": "filter", "kind": "webhook.deliver"})
    assert nothing.status_code == 400 and "No dead letters match the filter." in nothing.text


def test_discarding_asks_for_confirmation_first(dashboard: Dashboard, runtime: Runtime, gone: str) -> None:
    job_id = dead_letter(dashboard.tenant, runtime, gone)
    asked = dashboard.post("/dead-letters/discard", {"ids": job_id})
    assert asked.status_code == 200
    assert "Discard dead letters?" in asked.text and "Discard for good" in asked.text
    assert "I understand these jobs will never be retried" in asked.text
    assert status_of(dashboard.tenant.db, job_id)[0] == "dead"

    unticked = dashboard.post("/dead-letters/discard", {"ids": job_id, "step": "confirm"})
    assert unticked.status_code == 400
    assert 'id="f-confirm-error"' in unticked.text and "Tick the box" in unticked.text
    assert status_of(dashboard.tenant.db, job_id)[0] == "dead"

    done = dashboard.post(
        "/dead-letters/discard", {"ids": job_id, "step": "confirm", "confirm": "yes"}, follow_redirects=False
    )
    assert flash_params(done) == {"done": ["discarded"], "count": ["1"]}
    assert status_of(dashboard.tenant.db, job_id)[0] == "discarded"
    listed = dashboard.get(done.headers["location"])
    assert "Discarded 1 dead letter" in listed.text and f'value="{job_id}"' not in listed.text
    kept = dashboard.get(f"/dead-letters/{job_id}")
    assert kept.status_code == 200 and "Discarded: kept for the record" in kept.text
    assert ">Replay</button>" not in kept.text


def test_an_action_without_a_selection_says_so(dashboard: Dashboard, runtime: Runtime, gone: str) -> None:
    job_id = dead_letter(dashboard.tenant, runtime, gone)
    for action in ("replay", "discard"):
        refused = dashboard.post(f"/dead-letters/{action}", {})
        assert refused.status_code == 400
        assert "Select at least one dead letter first" in refused.text
    assert status_of(dashboard.tenant.db, job_id)[0] == "dead"
    unknown = dashboard.post("/dead-letters/replay", {"ids": "job_nosuchthing"})
    assert unknown.status_code == 400 and "None of the selected dead letters were found" in unknown.text


def test_another_company_cannot_see_or_act_on_them(
    dashboard: Dashboard, other_dashboard: Dashboard, runtime: Runtime, gone: str
) -> None:
    job_id = dead_letter(dashboard.tenant, runtime, gone)
    db = dashboard.tenant.db
    listed = other_dashboard.get("/dead-letters")
    assert job_id not in listed.text and "No dead letters." in listed.text
    assert other_dashboard.get(f"/dead-letters/{job_id}").status_code == 404
    for action, extra in (
        ("replay", {}),
        ("discard", {}),
        ("discard", {"step": "confirm", "confirm": "yes"}),
    ):
        refused = other_dashboard.post(f"/dead-letters/{action}", {"ids": job_id, **extra})
        assert refused.status_code == 400 and "None of the selected dead letters were found" in refused.text
        assert status_of(db, job_id)[0] == "dead"
    assert other_dashboard.post("/dead-letters/replay", {"scope": "filter"}).status_code == 400
    assert status_of(db, job_id)[0] == "dead"

    # A selection mixing both companies' ids acts on the viewer's own only, and says what it left alone.
    theirs = dead_letter(other_dashboard.tenant, runtime, gone)
    mixed = other_dashboard.post("/dead-letters/replay", {"ids": [theirs, job_id]}, follow_redirects=False)
    assert flash_params(mixed) == {"done": ["replayed"], "count": ["1"], "missing": ["1"]}
    assert "1 selected dead letter was not found" in other_dashboard.get(mixed.headers["location"]).text
    assert status_of(db, theirs)[0] == "queued" and status_of(db, job_id)[0] == "dead"


def test_anonymous_visitors_get_nothing(
    queue_server: LiveServer, dashboard: Dashboard, runtime: Runtime, gone: str
) -> None:
    job_id = dead_letter(dashboard.tenant, runtime, gone)
    with httpx.Client(base_url=queue_server.url) as anonymous:
        for path in ("/dead-letters", f"/dead-letters/{job_id}"):
            answer = anonymous.get(path)
            assert answer.status_code == 303 and job_id not in answer.text
        assert anonymous.post("/dead-letters/replay", data={"ids": job_id}).status_code == 403
    assert status_of(dashboard.tenant.db, job_id)[0] == "dead"


def test_the_list_pages_and_keeps_the_filter(
    dashboard: Dashboard, runtime: Runtime, gone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page_module, "PAGE_SIZE", 2)  # the live server runs in this process
    made = [dead_letter(dashboard.tenant, runtime, gone) for _ in range(3)]
    first = dashboard.get("/dead-letters", params={"kind": "webhook.deliver"})
    assert "Page 1 of 2" in first.text and "3 dead letters matching the filter" in first.text
    assert made[2] in first.text and made[1] in first.text and made[0] not in first.text
    assert 'href="/dead-letters?kind=webhook.deliver&amp;page=2"' in first.text
    second = dashboard.get("/dead-letters", params={"kind": "webhook.deliver", "page": "2"})
    assert "Page 2 of 2" in second.text and made[0] in second.text and made[2] not in second.text
