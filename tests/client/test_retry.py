"""The retry policy, driven by scripted answers (``httpx.MockTransport``) and once by the live limiter."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from isao.api.ratelimit import RateLimiter
from isao.client import (
    AsyncIsaoClient,
    BadRequestError,
    InvalidResponseError,
    IsaoClient,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from isao.client.errors import ApiError, error_class, retry_after_seconds
from tests.client.conftest import Sleeps
from tests.conftest import Tenant

OK = {"success": True, "data": {"companyId": "company_1"}}
Handler = Callable[[httpx.Request], httpx.Response]


def scripted(*answers: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler that plays ``answers`` in order and records each request it saw."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handle, seen


def error(status: int, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
    return httpx.Response(
        status, json={"success": False, "error": f"error {status}", **body}, headers=headers
    )


def make(handler: Handler, sleeps: Sleeps, **options: Any) -> IsaoClient:
    return IsaoClient("ck_test", transport=httpx.MockTransport(handler), sleep=sleeps, **options)


@pytest.fixture
def ceilings(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[float, float]]]:
    """Record the jitter bounds asked for, answering the upper one so sleeps are predictable."""
    asked: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        asked.append((low, high))
        return high

    monkeypatch.setattr(random, "uniform", uniform)  # the module _base draws its jitter from
    yield asked


def test_429_waits_retry_after_then_succeeds(sleeps: Sleeps) -> None:
    handler, seen = scripted(error(429, {"Retry-After": "2"}, retryAfter=2), httpx.Response(200, json=OK))
    assert make(handler, sleeps).test() == OK["data"]
    assert sleeps.calls == [2.0] and len(seen) == 2


def test_429_without_header_uses_the_bodys_retry_after(sleeps: Sleeps) -> None:
    handler, _ = scripted(error(429, retryAfter=3), httpx.Response(200, json=OK))
    make(handler, sleeps).test()
    assert sleeps.calls == [3.0]


def test_429_without_any_hint_backs_off(sleeps: Sleeps, ceilings: list[tuple[float, float]]) -> None:
    handler, _ = scripted(error(429), httpx.Response(200, json=OK))
    make(handler, sleeps, backoff_base=0.25).test()
    assert ceilings == [(0, 0.25)] and sleeps.calls == [0.25]


def test_429_is_retried_for_post_too(sleeps: Sleeps) -> None:
    created = {"success": True, "data": {"id": "contact_1"}}
    handler, seen = scripted(error(429, {"Retry-After": "1"}), httpx.Response(201, json=created))
    assert make(handler, sleeps).contacts.create(name="Ada") == {"id": "contact_1"}
    assert [r.method for r in seen] == ["POST", "POST"] and sleeps.calls == [1.0]


def test_retry_after_beyond_the_maximum_raises_at_once(sleeps: Sleeps) -> None:
    handler, seen = scripted(error(429, {"Retry-After": "600"}, retryAfter=600))
    with pytest.raises(RateLimitError) as caught:
        make(handler, sleeps, max_retry_after=120).test()
    assert caught.value.retry_after == 600.0 and sleeps.calls == [] and len(seen) == 1


def test_503_backs_off_exponentially_with_jitter(sleeps: Sleeps) -> None:
    handler, seen = scripted(error(503), error(503), httpx.Response(200, json=OK))
    assert make(handler, sleeps, backoff_base=0.5).test() == OK["data"]
    assert len(seen) == 3 and len(sleeps.calls) == 2
    assert 0 <= sleeps.calls[0] <= 0.5 and 0 <= sleeps.calls[1] <= 1.0


def test_backoff_ceilings_double_up_to_the_cap(sleeps: Sleeps, ceilings: list[tuple[float, float]]) -> None:
    handler, _ = scripted(*[error(500)] * 4, httpx.Response(200, json=OK))
    make(handler, sleeps, max_retries=4, backoff_base=1, backoff_cap=3).test()
    assert ceilings == [(0, 1), (0, 2), (0, 3), (0, 3)]
    assert sleeps.calls == [1, 2, 3, 3]


def test_backoff_samples_stay_within_bounds() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=4)
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (10, 4.0)]:
        samples = [policy.backoff(attempt) for _ in range(200)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling / 2  # jittered over the range, not pinned to 0


def test_503_honours_its_retry_after(sleeps: Sleeps) -> None:
    handler, _ = scripted(error(503, {"Retry-After": "7"}), httpx.Response(200, json=OK))
    make(handler, sleeps).test()
    assert sleeps.calls == [7.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_other_4xx_are_not_retried(status: int, sleeps: Sleeps) -> None:
    handler, seen = scripted(error(status), httpx.Response(200, json=OK))
    with pytest.raises(error_class(status)) as caught:
        make(handler, sleeps).test()
    assert caught.value.status_code == status and len(seen) == 1 and sleeps.calls == []
    if status == 400:
        assert isinstance(caught.value, BadRequestError)


def test_exhausted_429_raises_rate_limit_error(sleeps: Sleeps) -> None:
    handler, seen = scripted(*[error(429, {"Retry-After": "1"})] * 4)
    with pytest.raises(RateLimitError) as caught:
        make(handler, sleeps, max_retries=3).test()
    assert len(seen) == 4 and sleeps.calls == [1.0, 1.0, 1.0] and caught.value.retry_after == 1.0


def test_exhausted_5xx_raises_server_error(sleeps: Sleeps) -> None:
    handler, seen = scripted(error(500), error(502), error(503))
    with pytest.raises(ServerError) as caught:
        make(handler, sleeps, max_retries=2).test()
    assert caught.value.status_code == 503 and len(seen) == 3 and len(sleeps.calls) == 2


def test_max_retries_zero_means_one_attempt(sleeps: Sleeps) -> None:
    handler, seen = scripted(error(503))
    with pytest.raises(ServerError):
        make(handler, sleeps, max_retries=0).test()
    assert len(seen) == 1 and sleeps.calls == []


def test_post_is_not_repeated_after_a_5xx(sleeps: Sleeps) -> None:
    handler, seen = scripted(error(503), httpx.Response(201, json=OK))
    with pytest.raises(ServerError):
        make(handler, sleeps).contacts.create(name="Ada")
    assert len(seen) == 1 and sleeps.calls == []


def test_post_is_retried_when_the_connection_never_opened(sleeps: Sleeps) -> None:
    handler, seen = scripted(httpx.ConnectError("refused"), httpx.Response(201, json=OK))
    make(handler, sleeps).contacts.create(name="Ada")
    assert len(seen) == 2 and len(sleeps.calls) == 1


def test_post_is_not_retried_after_a_read_timeout(sleeps: Sleeps) -> None:
    handler, seen = scripted(httpx.ReadTimeout("slow"), httpx.Response(201, json=OK))
    with pytest.raises(TransportError) as caught:
        make(handler, sleeps).contacts.create(name="Ada")
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(seen) == 1 and sleeps.calls == []


def test_idempotent_methods_are_retried_after_a_read_timeout(sleeps: Sleeps) -> None:
    updated = {"success": True, "data": {"id": "c1", "city": "Paris"}}
    handler, seen = scripted(
        httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("eof"), httpx.Response(200, json=updated)
    )
    assert make(handler, sleeps).contacts.update("c1", city="Paris") == updated["data"]
    assert [r.method for r in seen] == ["PUT"] * 3 and len(sleeps.calls) == 2


def test_exhausted_network_errors_raise_transport_error(sleeps: Sleeps) -> None:
    handler, seen = scripted(*[httpx.ConnectTimeout("slow")] * 3)
    with pytest.raises(TransportError):
        make(handler, sleeps, max_retries=2).contacts.list()
    assert len(seen) == 3 and len(sleeps.calls) == 2


def test_success_that_is_not_an_envelope(sleeps: Sleeps) -> None:
    handler, _ = scripted(httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(InvalidResponseError) as caught:
        make(handler, sleeps).test()
    assert caught.value.body == "<html>login</html>"


def test_non_json_error_body_keeps_the_status(sleeps: Sleeps) -> None:
    handler, _ = scripted(httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(ServerError) as caught:
        make(handler, sleeps, max_retries=0).test()
    assert caught.value.error == "Bad Gateway" and caught.value.body == "<html>bad gateway</html>"


def test_unlisted_4xx_is_a_plain_api_error(sleeps: Sleeps) -> None:
    handler, _ = scripted(error(405))
    with pytest.raises(ApiError) as caught:
        make(handler, sleeps).test()
    assert type(caught.value) is ApiError and caught.value.status_code == 405


def test_requests_carry_key_url_and_query(sleeps: Sleeps) -> None:
    page = {"success": True, "data": [], "meta": {"page": 2, "limit": 5, "total": 0, "totalPages": 0}}
    handler, seen = scripted(httpx.Response(200, json=page), httpx.Response(200, json=OK))
    client = make(handler, sleeps)
    client.deals.list(
        page=2, limit=5, contact_id="c 1", created_since=datetime(2024, 11, 1, tzinfo=UTC), stage=None
    )
    client.deals.get("deal/1")
    listing, single = seen
    assert listing.headers["Authorization"] == "Bearer ck_test"
    assert listing.headers["User-Agent"].startswith("isao-python-client/")
    assert listing.url.path == "/api/external/deals"
    assert dict(listing.url.params) == {
        "page": "2",
        "limit": "5",
        "contactId": "c 1",
        "createdSince": "2024-11-01T00:00:00+00:00",
    }
    assert single.url.raw_path == b"/api/external/deals/deal%2F1"


def test_status_body_sends_only_what_was_set(sleeps: Sleeps) -> None:
    handler, seen = scripted(httpx.Response(200, json=OK))
    make(handler, sleeps).deals.update_status("d1", probability=0)
    assert seen[0].url.path == "/api/external/deals/d1/status"
    assert seen[0].content == b'{"probability":0}'


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="api_key"):
        IsaoClient("  ")
    with pytest.raises(ValueError, match="base_url"):
        IsaoClient("ck_x", "localhost:8000")
    with pytest.raises(ValueError, match="max_retries"):
        IsaoClient("ck_x", max_retries=-1)


def test_retry_after_forms() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds("-3") == 0.0
    assert retry_after_seconds("Wed, 01 Jan 2025 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("nan") is None
    assert retry_after_seconds(None) is None


async def test_async_client_follows_the_same_policy(sleeps: Sleeps) -> None:
    handler, seen = scripted(
        error(429, {"Retry-After": "2"}), error(503), httpx.Response(200, json=OK), error(400), error(500)
    )
    transport = httpx.MockTransport(handler)
    async with AsyncIsaoClient("ck_test", transport=transport, sleep=sleeps.asleep, max_retries=2) as client:
        assert await client.test() == OK["data"]
        assert sleeps.calls[0] == 2.0 and 0 <= sleeps.calls[1] <= 1.0 and len(sleeps.calls) == 2
        with pytest.raises(BadRequestError):
            await client.test()
        assert len(sleeps.calls) == 2
        with pytest.raises(ServerError):
            await client.contacts.create(name="Ada")  # a POST: not repeated after a 5xx
    assert len(seen) == 5 and len(sleeps.calls) == 2


async def test_async_exhaustion(sleeps: Sleeps) -> None:
    handler, seen = scripted(*[error(429, {"Retry-After": "1"})] * 2)
    transport = httpx.MockTransport(handler)
    async with AsyncIsaoClient("ck_test", transport=transport, sleep=sleeps.asleep, max_retries=1) as client:
        with pytest.raises(RateLimitError):
            await client.contacts.list()
    assert len(seen) == 2 and sleeps.calls == [1.0]


def test_live_rate_limit_is_waited_out_then_reported(app: FastAPI, tenant: Tenant, sleeps: Sleeps) -> None:
    """The real limiter's ``Retry-After`` header is read; a fixed clock makes it 20 s."""
    original = app.state.limiter
    app.state.limiter = RateLimiter(limit=1, window=60, clock=lambda: 1_000_000.0)  # window ends in 20 s
    try:
        with IsaoClient(tenant.token, tenant.api, max_retries=2, sleep=sleeps) as client:
            client.test()
            with pytest.raises(RateLimitError) as caught:
                client.contacts.list()
        with IsaoClient(tenant.token, tenant.api, max_retry_after=10, sleep=sleeps) as impatient:
            with pytest.raises(RateLimitError):
                impatient.test()
    finally:
        app.state.limiter = original
    assert caught.value.retry_after == 20.0 and caught.value.headers["retry-after"] == "20"
    assert sleeps.calls == [20.0, 20.0]  # the impatient client did not wait at all
