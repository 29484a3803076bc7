"""A fixed-window request limit per API key, kept in this process.

Several API processes each enforce the limit on their own: put a sticky load balancer in front, or
divide ``ISAO_RATE_LIMIT`` by the process count (see docs/decisions.md).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # epoch seconds

    def headers(self, now: float) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after(now))
        return headers

    def retry_after(self, now: float) -> int:
        return max(1, math.ceil(self.reset_at - now))


class RateLimiter:
    def __init__(self, limit: int, window: int, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> Decision:
        now = self.clock()
        start = now - now % self.window
        with self._lock:
            window_start, count = self._windows.get(key, (start, 0))
            if window_start != start:
                window_start, count = start, 0
            allowed = count < self.limit
            if allowed:
                count += 1
                self._windows[key] = (window_start, count)
            if len(self._windows) > 100_000:  # forget windows that have ended
                self._windows = {k: v for k, v in self._windows.items() if v[0] == start}
        return Decision(allowed, self.limit, self.limit - count, window_start + self.window)
