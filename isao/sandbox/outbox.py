"""Webhook deliveries a sandbox makes to its subscribers, in the background of the request that caused them,
as the providers do. Every attempt is kept (bounded) for ``GET /_sandbox/deliveries`` and the tests."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx


@dataclass
class Delivery:
    url: str
    headers: dict[str, str]
    body: str
    at: float = field(default_factory=time.time)
    status: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ok": self.ok}


Callback = Callable[[Delivery], Awaitable[None] | None]


class Outbox:
    def __init__(self, timeout: float = 10.0, keep: int = 2000) -> None:
        self.timeout = timeout
        self.deliveries: deque[Delivery] = deque(maxlen=keep)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None
        self._pending: set[asyncio.Future[None]] = set()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)

    async def stop(self) -> None:
        await self.drain()
        if self._client is not None:
            await self._client.aclose()
        self._client = None

    def send(self, url: str, body: bytes, headers: dict[str, str], on_result: Callback | None = None) -> None:
        """POST ``body`` to ``url`` soon, from the sandbox's event loop (callable from any thread)."""
        if self._loop is None:
            raise RuntimeError("the sandbox's outbox is not started (serve the app with its lifespan)")
        future = asyncio.run_coroutine_threadsafe(self._post(url, body, headers, on_result), self._loop)
        wrapped = asyncio.wrap_future(future, loop=self._loop)
        self._loop.call_soon_threadsafe(self._track, wrapped)

    def _track(self, future: asyncio.Future[None]) -> None:
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait for every delivery started so far (and those they start)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def _post(self, url: str, body: bytes, headers: dict[str, str], on_result: Callback | None) -> None:
        delivery = Delivery(url, dict(headers), body.decode("utf-8", "replace"))
        assert self._client is not None
        try:
            response = await self._client.post(url, content=body, headers=headers)
            delivery.status = response.status_code
        except httpx.HTTPError as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
        self.deliveries.append(delivery)
        if on_result is not None:
            outcome = on_result(delivery)
            if asyncio.iscoroutine(outcome):
                await outcome
