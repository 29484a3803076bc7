"""Fixtures: one database per run (SQLite, or PostgreSQL from ISAO_TEST_DATABASE_URL), a live server on
127.0.0.1, and a fresh company with its key per test so tests never see each other's records."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine, delete
from starlette.types import ASGIApp

from isao.api.app import create_app
from isao.config import Settings
from isao.crm import companies, keys
from isao.db import Database
from isao.db.migrate import upgrade
from isao.db.models import Job, JobAttempt, RateBucket, Schedule
from isao.runtime import Runtime
from isao.timeutil import utcnow

if TYPE_CHECKING:
    from tests.sandboxes import RunningSandbox


@dataclass
class LiveServer:
    url: str

    @property
    def api(self) -> str:
        return self.url + "/api/external"


@contextlib.contextmanager
def serve(app: ASGIApp) -> Iterator[LiveServer]:
    """Run ``app`` under uvicorn in a thread on a free loopback port, for tests over real HTTP."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # handed to uvicorn still bound: no race for the port
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def free_offset(ports: tuple[int, ...], after: int = 0) -> int:
    """A ``--port-offset`` under which all ``ports`` are free now, searched below the ephemeral range
    (32768 and up) the other tests' servers take their ports from, so they cannot take these meanwhile."""
    start = max(after + 1, 10000 + os.getpid() % 10000)
    for offset in range(start, 32768 - max(ports), 7):
        try:
            for port in ports:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return offset
    raise RuntimeError(f"no free set of ports like {ports}")


def fresh_database_url(tmp_path: Path) -> str:
    """A database of its own (a new SQLite file, or a new database on the test PostgreSQL server)."""
    base = os.environ.get("ISAO_TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_path / 'isao.db'}"
    name = f"isao_{uuid.uuid4().hex[:12]}"
    admin = create_engine(Settings(database_url=base).resolved_database_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("isao-data")
    return Settings(
        data_dir=data_dir,
        database_url=fresh_database_url(data_dir),  # each test process its own (pytest-xdist)
        rate_limit=1_000_000,
        workers=0,
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.db.dispose()


@pytest.fixture(scope="session")
def db(app: FastAPI) -> Database:
    database: Database = app.state.db
    return database


@pytest.fixture(scope="session")
def server(app: FastAPI) -> Iterator[LiveServer]:
    with serve(app) as live:
        yield live


@dataclass
class Tenant:
    """A company of its own with a full-scope key, and helpers to act as it."""

    db: Database
    company_id: str
    company_name: str
    key_id: str
    token: str
    api: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

    def key(self, scopes: list[str], name: str = "limited") -> str:
        with self.db.write() as session:
            _, token = keys.create(session, self.company_id, name, scopes)
        return token

    def user(self, name: str = "Sales Rep", email: str = "sales@isao.io") -> str:
        with self.db.write() as session:
            return companies.create_user(session, self.company_id, name, email).id

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.Client(base_url=self.api, headers=headers, timeout=30)


def make_tenant(db: Database, api: str, name: str = "Acme") -> Tenant:
    with db.write() as session:
        company = companies.create(session, name)
        row, token = keys.create(session, company.id, "tests", list(keys.SCOPES))
        return Tenant(db, company.id, company.name, row.id, token, api)


@pytest.fixture
def tenant(db: Database, server: LiveServer) -> Tenant:
    return make_tenant(db, server.api)


@pytest.fixture
def other_tenant(db: Database, server: LiveServer) -> Tenant:
    return make_tenant(db, server.api, "Globex")


@pytest.fixture
def api(tenant: Tenant) -> Iterator[httpx.Client]:
    """Plain httpx against the live server, authenticated as ``tenant``."""
    with tenant.client() as client:
        yield client


# --- A private database for the queue and webhook tests: jobs of other tests must not be claimed there.


@dataclass
class FakeClock:
    """Starts a minute ahead of the real clock, so jobs enqueued "now" by the test are due at once."""

    now: datetime = field(default_factory=lambda: utcnow() + timedelta(seconds=60))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def queue_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    directory: Path = tmp_path_factory.mktemp("queue")
    return Settings(
        data_dir=directory,
        database_url=fresh_database_url(directory),
        workers=0,
        plugins=["tests.queue.plugin"],
        webhook_retry_schedule=[30, 120, 600],
        webhook_disable_after=3,
    )


@pytest.fixture(scope="module")
def qdb(queue_settings: Settings) -> Iterator[Database]:
    url = queue_settings.resolved_database_url()
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


def empty_queue(db: Database) -> None:
    with db.write() as session:
        for table in (JobAttempt, Job, Schedule, RateBucket):
            session.execute(delete(table))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def runtime(queue_settings: Settings, qdb: Database) -> Iterator[Runtime]:
    rt = Runtime(queue_settings, qdb)
    with qdb.write() as session:  # the built-in daily prune is not what these tests look at
        session.execute(delete(Schedule))
    yield rt
    rt.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``no_database`` (SDKs driving sandboxes, connectors) run once, in the SQLite pass."""
    if not os.environ.get("ISAO_TEST_DATABASE_URL"):
        return
    skip = pytest.mark.skip(reason="no_database: already run in the SQLite pass")
    for item in items:
        if item.get_closest_marker("no_database"):
            item.add_marker(skip)


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., RunningSandbox]]:
    """``sandbox_factory("hubspot", rate_limit=10)`` starts a fresh sandbox; all stop at teardown."""
    from tests.sandboxes import running

    with contextlib.ExitStack() as stack:
        yield lambda provider, **knobs: stack.enter_context(running(provider, **knobs))
