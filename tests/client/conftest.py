"""A live API of its own for the SDK tests (uvicorn in a thread), and a fresh company per test."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from fastapi import FastAPI

from isao.api.app import create_app
from isao.client import AsyncIsaoClient, IsaoClient
from isao.config import Settings
from isao.crm import companies, keys


@dataclass
class SdkServer:
    app: FastAPI
    api: str  # base URL of the External API


@dataclass
class SdkTenant:
    """A company with a full-scope key; ``key()`` mints narrower ones."""

    server: SdkServer
    company_id: str
    token: str

    def key(self, scopes: list[str], name: str = "limited") -> str:
        with self.server.app.state.db.write() as session:
            _, token = keys.create(session, self.company_id, name, scopes)
        return token


@dataclass
class Sleeps:
    """Stands in for ``time.sleep``/``asyncio.sleep``: records the waits instead of waiting."""

    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture(scope="session")
def sdk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SdkServer]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("sdk-data"),
        database_url=os.environ.get("ISAO_TEST_DATABASE_URL") or None,
        rate_limit=100_000,
    )
    app = create_app(settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # handed to uvicorn still bound: no race for the port
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("SDK test server did not start")
        time.sleep(0.01)
    try:
        yield SdkServer(app, f"http://127.0.0.1:{port}/api/external")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        app.state.db.dispose()


def new_tenant(server: SdkServer, name: str = "Acme") -> SdkTenant:
    with server.app.state.db.write() as session:
        company = companies.create(session, name)
        _, token = keys.create(session, company.id, "sdk-tests", list(keys.SCOPES))
        return SdkTenant(server, company.id, token)


@pytest.fixture
def sdk_tenant(sdk_server: SdkServer) -> SdkTenant:
    return new_tenant(sdk_server)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(sdk_tenant: SdkTenant, sleeps: Sleeps) -> Iterator[IsaoClient]:
    with IsaoClient(sdk_tenant.token, sdk_tenant.server.api, sleep=sleeps) as isao:
        yield isao


@pytest.fixture
async def aclient(sdk_tenant: SdkTenant, sleeps: Sleeps) -> AsyncIterator[AsyncIsaoClient]:
    async with AsyncIsaoClient(sdk_tenant.token, sdk_tenant.server.api, sleep=sleeps.asleep) as isao:
        yield isao
