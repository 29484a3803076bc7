"""The generic HTTP destination against a local receiver: bodies, auth, signatures, failure classes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from isao.connectors import catalog
from isao.connectors.base import MemoryCredentials
from isao.connectors.http import Client
from isao.errors import Invalid, RateLimited, Transient
from isao.hooks import signing
from tests.conftest import serve

pytestmark = pytest.mark.no_database


@dataclass
class Endpoint:
    url: str = ""
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    state = Endpoint()

    async def anything(request: Request) -> Response:
        body = await request.body()
        state.received.append((request.method, request.url.path, dict(request.headers), body))
        status, headers = state.answers.pop(0) if state.answers else (200, {})
        return JSONResponse({"accepted": status < 300}, status_code=status, headers=headers)

    app = Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "HEAD", "POST", "PUT"])])
    with serve(app) as live:
        state.url = live.url
        yield state


def _client(endpoint: Endpoint, secrets: dict[str, Any] | None = None, **values: str) -> Client:
    endpoint.received.clear()
    endpoint.answers.clear()
    settings = {"base_url": f"{endpoint.url}/in"} | values
    return Client.from_settings(settings, MemoryCredentials(secrets or {}))


def test_a_record_is_posted_signed_and_sent_again_under_its_key_when_it_changed(endpoint: Endpoint) -> None:
    client = _client(endpoint, {"signing_secret": "s3cret", "bearer_token": "tok"}, headers='{"X-Shop": "a"}')
    assert "answers (200)" in client.check()
    sent = client.create("/", {"email": "ada@example.com", "amount": 30})
    client.update("orders", sent["id"], {"email": "ada@example.com", "amount": 31})

    (_, first), (_, second) = [(m, h) for m, _, h, _ in endpoint.received if m == "POST"]
    posts = [r for r in endpoint.received if r[0] == "POST"]
    assert [(m, p) for m, p, _, _ in posts] == [("POST", "/in"), ("POST", "/in/orders")]
    assert posts[0][3] == b'{"email":"ada@example.com","amount":30}'
    assert first["authorization"] == "Bearer tok" and first["x-shop"] == "a"
    assert first["idempotency-key"] == second["idempotency-key"] == sent["id"]
    assert signing.verify("s3cret", first, posts[0][3]) and signing.verify("s3cret", second, posts[1][3])
    assert not signing.verify("other", first, posts[0][3])
    assert sent["reply"] == {"accepted": True}


def test_the_check_sends_nothing_but_a_head_with_the_token(endpoint: Endpoint) -> None:
    client = _client(endpoint, {"bearer_token": "tok"})
    endpoint.answers[:] = [(501, {}), (401, {})]
    assert "answers (501)" in client.check(), "a server without HEAD is still there"
    with pytest.raises(Invalid):
        client.check()
    assert [(m, h["authorization"]) for m, _, h, _ in endpoint.received] == [("HEAD", "Bearer tok")] * 2


def test_put_and_unsigned(endpoint: Endpoint) -> None:
    client = _client(endpoint, method="put")
    client.create("x", {"a": 1})
    ((method, path, headers, _),) = endpoint.received
    assert (method, path) == ("PUT", "/in/x")
    assert "authorization" not in headers and signing.SIGNATURE.lower() not in headers


def test_failures_are_classified(endpoint: Endpoint) -> None:
    client = _client(endpoint)
    endpoint.answers[:] = [(429, {"Retry-After": "7"}), (429, {}), (503, {}), (401, {}), (422, {}), (404, {})]
    with pytest.raises(RateLimited) as limited:
        client.create("/", {"a": 1})
    assert limited.value.retry_after == 7 and limited.value.request and limited.value.response
    with pytest.raises(RateLimited) as unsaid:
        client.create("/", {"a": 1})
    assert unsaid.value.retry_after == Client.default_retry_after
    with pytest.raises(Transient):
        client.create("/", {"a": 1})
    with pytest.raises(Invalid):  # a refused token is not retried, nor "refreshed"
        client.create("/", {"a": 1})
    with pytest.raises(Invalid) as invalid:
        client.create("/", {"a": 1})
    assert invalid.value.response and invalid.value.response["status"] == 422
    with pytest.raises(Exception, match="404"):
        client.create("/", {"a": 1})
    closed = Client.from_settings({"base_url": "http://127.0.0.1:9"}, MemoryCredentials({}))
    with pytest.raises(Transient):
        closed.create("/", {"a": 1})


def test_settings_are_checked() -> None:
    plain, secrets = catalog.split(
        "http", {"base_url": "http://x", "signing_secret": "s", "bearer_token": "t"}
    )
    assert plain["method"] == "POST" and set(secrets) == {"signing_secret", "bearer_token"}
    for bad in ('["X-A"]', "{nope"):
        with pytest.raises(ValueError, match="headers must be a JSON object"):
            Client.from_settings({"base_url": "http://x", "headers": bad}, MemoryCredentials({}))
    with pytest.raises(ValueError, match="method"):
        Client.from_settings({"base_url": "http://x", "method": "DELETE"}, MemoryCredentials({}))
    with pytest.raises(Invalid):
        Client.from_settings({"base_url": "http://x"}, MemoryCredentials({})).list_changed("orders")
