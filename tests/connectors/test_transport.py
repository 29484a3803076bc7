"""The ``http.client`` transport under httpx, against real loopback servers: what httpx's own would do."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from isao.connectors.transport import StdlibTransport
from tests.conftest import LiveServer, serve

pytestmark = pytest.mark.no_database


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    async def echo(request: Request) -> Response:
        body = await request.body()
        return JSONResponse(
            {
                "method": request.method,
                "path": request.url.path,
                "query": str(request.query_params),
                "body": body.decode(),
                "headers": dict(request.headers),
                "peer": request.client.port if request.client else None,
            },
            status_code=int(request.query_params.get("status", 200)),
            headers={"X-Many": "a"},
        )

    async def zipped(_: Request) -> Response:
        return Response(gzip.compress(b'{"zipped": true}'), headers={"Content-Encoding": "gzip"})

    async def slow(_: Request) -> Response:
        time.sleep(0.5)  # blocks this test server's loop on purpose: the client must give up first
        return Response(b"late")

    routes = [Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PUT"]), Route("/zipped", zipped),
              Route("/slow", slow)]  # fmt: skip
    with serve(Starlette(routes=routes)) as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(transport=StdlibTransport(), headers={"User-Agent": "ISAO/test"}) as http:
        yield http


def test_method_path_query_headers_and_body_arrive_as_httpx_built_them(
    live: LiveServer, client: httpx.Client
) -> None:
    answer = client.post(
        f"{live.url}/echo/a%20b/c", params={"q": "x y", "n": 1}, json={"ü": 1}, headers={"X-Extra": "1"}
    )
    assert answer.status_code == 200 and answer.headers["x-many"] == "a"
    seen = answer.json()
    assert seen["method"] == "POST" and seen["path"] == "/echo/a b/c" and seen["query"] == "q=x+y&n=1"
    assert orjson.loads(seen["body"]) == {"ü": 1}
    assert seen["headers"]["x-extra"] == "1" and seen["headers"]["user-agent"] == "ISAO/test"
    assert seen["headers"]["host"] == live.url.removeprefix("http://")
    assert answer.http_version == "HTTP/1.1" and answer.reason_phrase == "OK"
    assert client.get(f"{live.url}/echo/x", params={"status": 404}).status_code == 404


def test_keep_alive_reuses_one_connection(live: LiveServer, client: httpx.Client) -> None:
    peers = {client.get(f"{live.url}/echo/x").json()["peer"] for _ in range(5)}
    assert len(peers) == 1


def test_compressed_bodies_are_decoded_by_httpx(live: LiveServer, client: httpx.Client) -> None:
    assert client.get(f"{live.url}/zipped").json() == {"zipped": True}


def test_a_read_timeout_is_httpx_s(live: LiveServer) -> None:
    with (
        httpx.Client(transport=StdlibTransport(), timeout=0.1) as http,
        pytest.raises(httpx.ReadTimeout),
    ):
        http.get(f"{live.url}/slow")


def test_a_refused_connection_is_a_connect_error(client: httpx.Client) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # bound then closed: nothing listens there
    with pytest.raises(httpx.ConnectError):
        client.get(f"http://127.0.0.1:{port}/")


def test_a_connection_the_server_closed_while_idle_is_replaced_not_reused(client: httpx.Client) -> None:
    """A server that answers once per connection, then closes it without saying so (no
    ``Connection: close``): the next request must go out on a new connection, not fail."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    served: list[int] = []

    def answer_once_per_connection() -> None:
        for _ in range(2):
            conn, peer = listener.accept()
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            served.append(peer[1])
            conn.close()

    thread = threading.Thread(target=answer_once_per_connection, daemon=True)
    thread.start()
    try:
        assert client.get(f"http://127.0.0.1:{port}/").text == "ok"
        time.sleep(0.1)  # the close reaches the idle connection
        assert client.get(f"http://127.0.0.1:{port}/").text == "ok"
        thread.join(5)
        assert len(served) == 2 and served[0] != served[1]
    finally:
        listener.close()
