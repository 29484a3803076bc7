"""The sandbox core every provider builds on: the fault gate, the store, the admin endpoints, the outbox."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from isao.sandbox.base import Sandbox
from isao.sandbox.faults import FaultGate, Faults, Verdict
from isao.sandbox.store import Store
from tests.conftest import serve

pytestmark = pytest.mark.no_database


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_ceiling_counts_a_fixed_window_and_says_when_it_resets() -> None:
    clock = Clock()
    gate = FaultGate(Faults(rate_limit=3, rate_window=10), clock=clock)
    assert [gate.check() for _ in range(3)] == [None, None, None]
    clock.now += 2.5
    assert gate.check() == Verdict("rate_limited", retry_after=8)
    window = gate.window()
    assert window is not None and (window.limit, window.remaining) == (3, 0)
    clock.now += 7.5
    assert gate.check() is None
    assert gate.stats == {"requests": 5, "rate_limited": 1, "errors": 0, "timeouts": 0}


def test_search_ceiling_is_separate_from_the_main_one() -> None:
    clock = Clock()
    gate = FaultGate(Faults(search_rate_limit=2), clock=clock)
    assert gate.check(search=True) is None and gate.check(search=True) is None
    assert gate.check(search=True) == Verdict("rate_limited", retry_after=1)
    assert gate.check() is None  # plain requests are not searches
    clock.now += 1
    assert gate.check(search=True) is None


def test_seeded_faults_repeat_exactly_and_come_in_the_asked_ratios() -> None:
    def draw() -> list[str | None]:
        gate = FaultGate(Faults(error_rate=0.2, timeout_rate=0.1, seed=42))
        return [v.kind if (v := gate.check()) else None for _ in range(2000)]

    first, second = draw(), draw()
    assert first == second
    assert 0.17 < first.count("error") / 2000 < 0.23
    assert 0.07 < first.count("timeout") / 2000 < 0.13


def test_store_persists_records_and_sequences_in_its_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.sqlite3"
    store = Store(path)
    first = store.next_id("orders", start=100)
    store.put("orders", first, {"id": first, "status": "pending"})
    copy = store.get("orders", first)
    assert copy is not None
    copy["status"] = "changed behind the store's back"
    assert store.get("orders", first) == {"id": 100, "status": "pending"}

    reopened = Store(path)
    assert reopened.all("orders") == [{"id": 100, "status": "pending"}]
    assert reopened.next_id("orders", start=100) == 101
    assert reopened.delete("orders", 100) == {"id": 100, "status": "pending"}
    assert Store(path).count("orders") == 0


class Echo(Sandbox):
    """The smallest provider: one route, and a webhook sent on every POST."""

    name = "echo"
    default_port = 1

    def __init__(self, target: str = "") -> None:
        super().__init__()
        self.target = target

    def routes(self) -> list[BaseRoute]:
        return [Route("/things", self.create, methods=["POST"])]

    async def create(self, request: Request) -> Response:
        body = await request.body()
        thing = self.store.put("things", self.store.next_id("things"), {"raw": body.decode()})
        self.outbox.send(self.target, body, {"X-Echo": "1"})
        return JSONResponse(thing, status_code=201)

    def fault_response(self, request: Request, verdict: Verdict) -> Response:
        if verdict.kind == "rate_limited":
            headers = {"Retry-After": str(verdict.retry_after)} if self.gate.faults.retry_after else {}
            return JSONResponse({"slow": "down"}, status_code=429, headers=headers)
        return JSONResponse({"broken": verdict.kind}, status_code=504 if verdict.kind == "timeout" else 503)

    def extra_headers(self, request: Request) -> dict[str, str]:
        window = self.gate.window()
        return {"X-Remaining": str(window.remaining)} if window else {}


def test_admin_endpoints_set_faults_report_stats_list_deliveries_and_reset() -> None:
    received: list[bytes] = []

    async def receive(request: Request) -> Response:
        received.append(await request.body())
        return Response(status_code=204)

    with serve(Starlette(routes=[Route("/in", receive, methods=["POST"])])) as target:
        sandbox = Echo(f"{target.url}/in")
        with serve(sandbox.app()) as live, httpx.Client(base_url=live.url) as http:
            assert http.put("/_sandbox/faults", json={"error_rate": 2}).status_code == 400
            assert http.put("/_sandbox/faults", json={"nonsense": 1}).status_code == 400
            faults = http.put("/_sandbox/faults", json={"rate_limit": 2, "retry_after": False}).json()
            assert (faults["rate_limit"], faults["retry_after"], faults["error_rate"]) == (2, False, 0.0)

            first = http.post("/things", content=b"one")
            assert first.status_code == 201 and first.headers["x-remaining"] == "1"
            assert http.post("/things", content=b"two").status_code == 201
            limited = http.post("/things", content=b"three")
            assert limited.status_code == 429 and "retry-after" not in limited.headers
            assert http.get("/_sandbox/faults").status_code == 200  # admin is never rate limited

            stats = http.get("/_sandbox/stats").json()
            assert stats == {
                "faults": {"requests": 3, "rate_limited": 1, "errors": 0, "timeouts": 0},
                "records": {"things": 2},
            }
            deliveries = _wait_for(lambda: http.get("/_sandbox/deliveries").json(), 2)
            assert sorted(d["body"] for d in deliveries) == ["one", "two"]
            assert all(d["ok"] and d["status"] == 204 and d["headers"] == {"X-Echo": "1"} for d in deliveries)
            assert sorted(received) == [b"one", b"two"]

            assert http.post("/_sandbox/reset").json() == {"reset": True}
            assert http.get("/_sandbox/stats").json()["records"] == {}
            assert http.get("/_sandbox/deliveries").json() == []
            assert http.get("/_sandbox/faults").json()["rate_limit"] is None


def test_injected_timeout_stalls_then_answers_504_and_5xx_are_the_providers() -> None:
    sandbox = Echo("http://127.0.0.1:9/unreachable")
    with serve(sandbox.app()) as live, httpx.Client(base_url=live.url) as http:
        http.put("/_sandbox/faults", json={"timeout_rate": 1, "timeout_seconds": 0.3})
        with pytest.raises(httpx.ReadTimeout):
            http.post("/things", content=b"x", timeout=0.1)
        assert http.post("/things", content=b"x", timeout=5).json() == {"broken": "timeout"}
        http.put("/_sandbox/faults", json={"timeout_rate": 0, "error_rate": 1})
        assert http.post("/things", content=b"x").status_code == 503
        http.put("/_sandbox/faults", json={"error_rate": 0})
        assert http.post("/things", content=b"x").status_code == 201
        failed = _wait_for(lambda: http.get("/_sandbox/deliveries").json(), 1)
        assert failed[0]["ok"] is False and failed[0]["error"].startswith("ConnectError")


def _wait_for(fetch, count: int, seconds: float = 5.0):
    """Deliveries run in the background of the request that caused them."""
    deadline = time.monotonic() + seconds
    while len(found := fetch()) < count:
        assert time.monotonic() < deadline, f"expected {count} items, last saw {found}"
        time.sleep(0.02)
    return found
