"""Requests a client is waiting on in this process: webhook acknowledgements.

In-process workers share one GIL with the server's event loop, so a job that runs while a provider
waits for its 2xx makes the provider wait for the job too. Before each job a worker therefore gives way
for up to ``ISAO_ACK_PRIORITY_MS`` while acknowledgements are in flight. Nothing waits for long: the
events are already stored, and the workers drain them as soon as the burst eases (or the wait ends).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

_POLL = 0.0005


class Foreground:
    def __init__(self, max_wait: float = 0.05) -> None:
        self.active = 0
        """Acknowledgements in flight; changed only on the event loop's thread, read by workers."""
        self.max_wait = max_wait

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1

    def give_way(self) -> None:
        if not self.active or self.max_wait <= 0:
            return
        deadline = time.monotonic() + self.max_wait
        while self.active and time.monotonic() < deadline:
            time.sleep(_POLL)


foreground = Foreground()
