"""Workers as separate processes: none runs a job another holds, and a worker killed with SIGKILL
mid-job leaves the job to another with no duplicate effect."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from isao import crypto
from isao.config import Settings
from isao.crm import companies
from isao.db import Database
from isao.db.models import Contact, Job
from isao.queue import enqueue, jobs
from isao.queue.jobs import LeaseLost
from isao.runtime import Runtime
from isao.timeutil import utcnow
from tests.conftest import FakeClock

ROOT = Path(__file__).resolve().parents[2]
ISAO = str(Path(sys.executable).with_name("isao"))


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISAO_")}
    env |= {
        "ISAO_DATA_DIR": str(settings.data_dir),
        "ISAO_DATABASE_URL": settings.resolved_database_url(),
        "ISAO_PLUGINS": '["tests.queue.plugin"]',
        "ISAO_WORKER_POLL_SECONDS": "0.05",
        "ISAO_SECRET_KEY": crypto.active_key(),  # the connections' secrets were encrypted here
        "PYTHONPATH": str(ROOT),
    }
    return env | extra


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def count(db: Database, *where) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Job).where(*where)) or 0


def test_two_worker_processes_never_run_the_same_job(
    queue_settings: Settings, qdb: Database, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    with qdb.write() as session:
        payload = {"log": str(log), "peers": 2, "rendezvous": str(tmp_path / "workers")}
        ids = [enqueue(session, "test.record", payload).id for _ in range(300)]
    env = worker_env(queue_settings)
    procs = [
        subprocess.Popen(
            [ISAO, "worker", "--concurrency", "3"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    try:
        wait_for(lambda: count(qdb, Job.id.in_(ids), Job.status == "done") == len(ids), timeout=120)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
    runs = Counter(line.split()[0] for line in log.read_text().splitlines())
    assert set(runs) == set(ids)
    assert max(runs.values()) == 1, [job for job, n in runs.items() if n > 1]
    pids = {line.split()[2] for line in log.read_text().splitlines()}
    assert len(pids) == 2, "both processes took part"


def test_sigkill_mid_job_is_finished_by_another_worker_once(
    queue_settings: Settings, qdb: Database, runtime: Runtime, clock: FakeClock, tmp_path: Path
) -> None:
    with qdb.write() as session:
        company_id = companies.create(session, "Killed Worker Inc").id
        job_id = enqueue(
            session,
            "test.slow_effect",
            {"marker": str(tmp_path / "started"), "company_id": company_id, "email": "once@example.com"},
        ).id
    victim = subprocess.Popen(
        [ISAO, "worker", "--concurrency", "1"],
        env=worker_env(queue_settings, ISAO_JOB_LEASE_SECONDS="5"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: (tmp_path / "started.1").exists())
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    assert count(qdb, Job.id == job_id, Job.status == "running") == 1  # held by a dead worker

    survivor = runtime.worker("survivor", clock=clock)
    clock.now = utcnow()
    assert survivor.run_once() == 0, "the lease still protects the job"
    clock.advance(6)  # past the 5 s lease, taken before now
    assert survivor.run_once() == 1
    assert (tmp_path / "started.2").exists()

    with qdb.read() as session:
        job = jobs.get(session, job_id)
        assert job is not None and (job.status, job.attempts) == ("done", 2)
        outcomes = [a.outcome for a in jobs.attempts(session, job_id)]
        made = session.scalar(
            select(func.count()).select_from(Contact).where(Contact.company_id == company_id)
        )
    assert outcomes == ["abandoned", "done"]
    assert made == 1


def test_a_late_finisher_cannot_overwrite_the_new_owner(
    runtime: Runtime, qdb: Database, clock: FakeClock
) -> None:
    runtime.registry.register("t.noop", lambda ctx, payload: None)
    with qdb.write() as session:
        job_id = enqueue(session, "t.noop", {}).id
    first = jobs.claim(qdb, "first", clock(), lease=10)
    assert [c.id for c in first] == [job_id]
    clock.advance(11)
    second = jobs.claim(qdb, "second", clock(), lease=10)
    assert [c.id for c in second] == [job_id] and second[0].attempt == 2
    with pytest.raises(LeaseLost), qdb.write() as session:
        jobs.complete(session, first[0], clock())
    with pytest.raises(LeaseLost):
        jobs.extend_lease(qdb, first[0], clock(), 10)
    with qdb.write() as session:
        jobs.complete(session, second[0], clock())
    assert count(qdb, Job.id == job_id, Job.status == "done") == 1


def test_claim_skips_jobs_not_yet_due(runtime: Runtime, qdb: Database, clock: FakeClock) -> None:
    with qdb.write() as session:
        later = enqueue(session, "t.noop", {}, run_at=clock() + timedelta(minutes=5)).id
    assert jobs.claim(qdb, "w", clock(), lease=10) == []
    clock.advance(300)
    assert [c.id for c in jobs.claim(qdb, "w", clock(), lease=10)] == [later]
