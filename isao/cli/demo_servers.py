"""ISAO and the provider sandboxes in one process for ``isao demo``: each server on its own thread and on a
socket bound before anything starts, so a port in use is reported at once and Ctrl-C stops them in order."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from isao.sandbox import runner
from isao.sandbox.base import Sandbox

HOST = "127.0.0.1"


class PortInUse(RuntimeError):
    pass


def bind(port: int) -> socket.socket:
    """A listening socket on the loopback port, handed to uvicorn already bound: no race for it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(f"port {port} on {HOST} is taken ({exc.strerror})") from None
    return sock


def _server(app: ASGIApp, port: int) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning", access_log=False))


@dataclass
class Servers:
    isao_url: str
    sandboxes: dict[str, Sandbox]
    _order: list[tuple[list[uvicorn.Server], threading.Thread]] = field(default_factory=list)

    def stop(self) -> None:
        """ISAO first (its workers finish their jobs), then the sandboxes."""
        for servers, thread in self._order:
            for server in servers:
                server.should_exit = True
            thread.join(timeout=30)


def start(api: ASGIApp, isao_port: int, port_offset: int, data_dir: Path) -> Servers:
    """Serve ``api`` and every sandbox (records kept in ``data_dir``); ``PortInUse`` names a taken port,
    ``RuntimeError`` a server that did not start."""
    ports = {
        provider: runner.sandbox_class(provider).default_port + port_offset for provider in runner.PROVIDERS
    }
    sockets: list[socket.socket] = []
    try:
        for port in (isao_port, *ports.values()):
            sockets.append(bind(port))
    except PortInUse:
        for sock in sockets:
            sock.close()
        raise
    data_dir.mkdir(parents=True, exist_ok=True)
    shared: dict[str, Any] = {}
    built = {
        p: runner.build(p, host=HOST, port=port, data_dir=data_dir, shared=shared)[0]
        for p, port in ports.items()
    }
    isao = _server(api, isao_port)
    boxes = [_server(sandbox.app(), ports[provider]) for provider, sandbox in built.items()]

    async def serve_sandboxes() -> None:
        await asyncio.gather(
            *(box.serve(sockets=[sock]) for box, sock in zip(boxes, sockets[1:], strict=True))
        )

    isao_thread = threading.Thread(
        target=isao.run, kwargs={"sockets": [sockets[0]]}, name="isao", daemon=True
    )
    box_thread = threading.Thread(
        target=lambda: asyncio.run(serve_sandboxes()), name="sandboxes", daemon=True
    )
    servers = Servers(f"http://{HOST}:{isao_port}", built, [([isao], isao_thread), (boxes, box_thread)])
    isao_thread.start()
    box_thread.start()
    deadline = time.monotonic() + 60
    while not all(server.started for server in (isao, *boxes)):
        if time.monotonic() > deadline or not (isao_thread.is_alive() and box_thread.is_alive()):
            servers.stop()
            raise RuntimeError("ISAO or a sandbox did not start (see the log above)")
        time.sleep(0.05)
    return servers
