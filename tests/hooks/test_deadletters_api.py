"""Dead letters through the API (company-scoped) and the CLI, and in-process workers of `isao serve`."""

from __future__ import annotations

import time

from isao.api.app import create_app
from isao.config import Settings
from isao.db import Database
from isao.queue import jobs
from isao.runtime import Runtime
from tests import cli
from tests.conftest import FakeClock, Tenant, make_tenant, serve
from tests.hooks.conftest import Receiver


def dead_delivery(company: Tenant, receiver: Receiver, runtime: Runtime, clock: FakeClock) -> str:
    """A delivery that dies: the receiver answers 410 (permanent)."""
    with company.client() as api:
        api.post("/webhooks/subscribe", json={"event": "contact.created", "target_url": receiver.url})
        api.post("/contacts", json={"name": f"Dead {time.time_ns()}"})
    receiver.statuses.append(410)
    runtime.worker(clock=clock).run_once()
    with company.client() as api:
        (entry,) = api.get("/dead-letters").json()["data"]
    return str(entry["id"])


def test_list_show_replay_discard(
    company: Tenant, other: Tenant, receiver: Receiver, runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    job_id = dead_delivery(company, receiver, runtime, clock)
    with company.client() as api:
        page = api.get("/dead-letters", params={"kind": "webhook.deliver"}).json()
        assert page["meta"]["total"] == 1 and page["data"][0]["errorClass"] == "Invalid"
        detail = api.get(f"/dead-letters/{job_id}").json()["data"]
        assert detail["request"]["url"] == receiver.url and detail["response"]["status"] == 410
        assert detail["history"][0]["outcome"] == "dead"
        assert set(detail["payload"]) == {"subscription_id", "event_id"}
    with other.client() as stranger:
        assert stranger.get(f"/dead-letters/{job_id}").status_code == 404
        assert stranger.get("/dead-letters").json()["meta"]["total"] == 0
        assert stranger.post("/dead-letters/replay", json={"ids": [job_id]}).json()["data"] == {"replayed": 0}
    with company.client() as api:
        assert api.post("/dead-letters/replay", json={"ids": [job_id]}).json()["data"] == {"replayed": 1}
    with qdb.read() as session:
        job = jobs.get(session, job_id)
        assert job is not None and job.status == "queued" and job.attempts == 0
    runtime.worker(clock=clock).run_once()  # the subscription was removed by the 410: done, skipped
    with qdb.read() as session:
        job = jobs.get(session, job_id)
        assert job is not None and job.status == "done"

    second = dead_delivery(company, receiver, runtime, clock)
    with company.client() as api:
        assert api.post("/dead-letters/discard", json={"errorClass": "Invalid"}).json()["data"] == {
            "discarded": 1
        }
        assert api.get("/dead-letters").json()["meta"]["total"] == 0
        assert api.get(f"/dead-letters/{second}").json()["data"]["status"] == "discarded"
        limited = company.key(["contacts:read"])
    with company.client(limited) as api:
        assert api.get("/dead-letters").json()["requiredPermission"] == "deadletters:read"


def test_cli_dlq(
    company: Tenant, receiver: Receiver, runtime: Runtime, queue_settings: Settings, clock: FakeClock
) -> None:
    job_id = dead_delivery(company, receiver, runtime, clock)
    env = {
        "ISAO_DATA_DIR": str(queue_settings.data_dir),
        "ISAO_DATABASE_URL": queue_settings.resolved_database_url(),
    }

    def isao(*args: str) -> cli.Ran:
        return cli.run(env, *args)

    assert job_id in isao("dlq", "list").stdout
    shown = isao("dlq", "show", job_id)
    assert shown.returncode == 0 and '"status": 410' in shown.stdout and '"outcome": "dead"' in shown.stdout
    refused = isao("dlq", "replay")
    assert refused.returncode == 2 and "--all" in refused.stderr
    assert "Replayed 1" in isao("dlq", "replay", job_id).stdout
    assert "Replayed 0" in isao("dlq", "replay", "--kind", "nothing.like.this").stdout
    assert isao("dlq", "show", "job_missing").returncode == 1


def test_serve_runs_workers_in_process(queue_settings: Settings, qdb: Database, receiver: Receiver) -> None:
    app = create_app(queue_settings.model_copy(update={"worker_poll_seconds": 0.05}), db=qdb, workers=2)
    with serve(app) as live:
        company = make_tenant(qdb, live.api, "In-process")
        with company.client() as api:
            api.post("/webhooks/subscribe", json={"event": "contact.created", "target_url": receiver.url})
            api.post("/contacts", json={"name": "Delivered by serve"})
        deadline = time.monotonic() + 20
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(receiver.received) == 1
    assert b"Delivered by serve" in receiver.received[0].body
