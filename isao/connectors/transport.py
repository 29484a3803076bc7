"""An httpx transport on the standard library's ``http.client``, for the clients ISAO makes itself.

Connectors keep httpx's requests, responses, timeouts and errors; only the wire underneath changes.
httpx's own transport (httpcore and h11) validated every response header with regular expressions and
cost about 0.21 ms of CPU per call on loopback, ``http.client`` about 0.07 ms (docs/decisions.md): at
a few hundred deliveries a second that is a sixth of a worker's CPU.

Bodies are read whole (every API call here reads its answer whole anyway), then decoded by httpx
(``Content-Encoding``). Idle keep-alive connections are pooled per origin; one the server has closed
meanwhile is noticed before reuse, as httpcore does, and never by resending a request.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading

import httpx

_MAX_IDLE = 16
"""Idle connections kept per origin: the worker threads of one process, with room to spare."""

Origin = tuple[str, str, int]
Timeouts = dict[str, float | None]
"""httpx's ``timeout`` request extension: ``connect``, ``read``, ``write``, ``pool`` in seconds."""


class StdlibTransport(httpx.BaseTransport):
    def __init__(self, *, verify: ssl.SSLContext | None = None, max_idle: int = _MAX_IDLE) -> None:
        self._verify = verify
        self._max_idle = max_idle
        self._idle: dict[Origin, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}", request=request)
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeouts: Timeouts = request.extensions.get("timeout", {})
        connection = self._checkout(origin, timeouts.get("connect"), request)
        try:
            answer, body = self._exchange(connection, request, timeouts)
        except BaseException:
            connection.close()
            raise
        if answer.will_close:
            connection.close()
        else:
            self._checkin(origin, connection)
        return response_of(answer, body, request)

    def _exchange(
        self, connection: http.client.HTTPConnection, request: httpx.Request, timeouts: Timeouts
    ) -> tuple[http.client.HTTPResponse, bytes]:
        target = url_target(request.url)
        content = request.read()
        assert connection.sock is not None
        connection.sock.settimeout(timeouts.get("write"))
        try:
            connection.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in request.headers.raw:
                connection.putheader(name.decode("latin-1"), value)
            connection.endheaders(content or None)
        except TimeoutError as exc:
            raise httpx.WriteTimeout(str(exc), request=request) from exc
        except OSError as exc:
            raise httpx.WriteError(str(exc), request=request) from exc
        connection.sock.settimeout(timeouts.get("read"))
        try:
            answer = connection.getresponse()
            body = answer.read()
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc), request=request) from exc
        except http.client.HTTPException as exc:  # a bad status line, a server gone before answering
            raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}", request=request) from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc), request=request) from exc
        return answer, body

    def _checkout(
        self, origin: Origin, connect_timeout: float | None, request: httpx.Request
    ) -> http.client.HTTPConnection:
        with self._lock:
            idle = self._idle.get(origin, [])
            while idle:
                connection = idle.pop()
                if connection.sock is not None and not _readable(connection.sock):
                    return connection
                connection.close()  # the server closed it while idle (or sent what nobody asked for)
        scheme, host, port = origin
        connection = (
            http.client.HTTPSConnection(host, port, timeout=connect_timeout, context=self._tls())
            if scheme == "https"
            else http.client.HTTPConnection(host, port, timeout=connect_timeout)
        )
        try:
            connection.connect()
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc), request=request) from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        assert connection.sock is not None
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _checkin(self, origin: Origin, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self._max_idle:
                idle.append(connection)
                return
        connection.close()

    def _tls(self) -> ssl.SSLContext:
        if self._verify is None:
            self._verify = httpx.create_ssl_context()
        return self._verify

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()


def url_target(url: httpx.URL) -> str:
    """The request line's target: the path and query as httpx encoded them."""
    return url.raw_path.decode("ascii")


def response_of(answer: http.client.HTTPResponse, body: bytes, request: httpx.Request) -> httpx.Response:
    """An httpx response around ``http.client``'s, its body decoded by httpx like any other."""
    return httpx.Response(
        answer.status,
        headers=answer.getheaders(),
        stream=httpx.ByteStream(body),
        request=request,
        extensions={"http_version": b"HTTP/1.1" if answer.version == 11 else b"HTTP/1.0",
                    "reason_phrase": answer.reason.encode("latin-1")},
    )  # fmt: skip


def _readable(sock: socket.socket) -> bool:
    """An idle connection with something to read has been closed by the server (or is out of step)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))
