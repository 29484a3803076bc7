"""A live ISAO on the queue tests' private database, and a local webhook receiver that records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from isao.api.app import create_app
from isao.config import Settings
from isao.db import Database
from tests.conftest import LiveServer, Tenant, empty_queue, make_tenant, serve


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next queued status (200 once the queue is empty) and keeps it."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)


@pytest.fixture(autouse=True)
def _empty_queue(qdb: Database) -> None:
    empty_queue(qdb)


@pytest.fixture(scope="module")
def hooks_app(queue_settings: Settings, qdb: Database) -> Iterator[FastAPI]:
    app = create_app(queue_settings, db=qdb, workers=0)
    yield app


@pytest.fixture(scope="module")
def hooks_server(hooks_app: FastAPI) -> Iterator[LiveServer]:
    with serve(hooks_app) as live:
        yield live


@pytest.fixture
def company(qdb: Database, hooks_server: LiveServer) -> Tenant:
    return make_tenant(qdb, hooks_server.api, "Hooked")


@pytest.fixture
def other(qdb: Database, hooks_server: LiveServer) -> Tenant:
    return make_tenant(qdb, hooks_server.api, "Someone Else")


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[tuple[Receiver, LiveServer]]:
    state = Receiver()

    async def hook(request: Request) -> Response:
        state.received.append(Received(dict(request.headers), await request.body()))
        status = state.statuses.pop(0) if state.statuses else 200
        headers = {"Retry-After": "45"} if status == 429 else None
        return JSONResponse({"ok": status < 300}, status_code=status, headers=headers)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    with serve(app) as live:
        state.url = live.url + "/hook"
        yield state, live


@pytest.fixture
def receiver(receiver_server: tuple[Receiver, LiveServer]) -> Receiver:
    state, _ = receiver_server
    state.statuses.clear()
    state.received.clear()
    return state
