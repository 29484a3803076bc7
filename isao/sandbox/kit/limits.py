"""Rate-limit accounting that providers report in their own headers and bodies, beside the fault gate's
injected ceilings:

- ``LeakyBucket``: Shopify's buckets (REST ``X-Shopify-Shop-Api-Call-Limit: 32/40``; GraphQL's cost
  points in ``extensions.cost.throttleStatus``), filled by each call and leaking at a fixed rate;
- ``Allotment``: a quota per rolling day (Salesforce's ``Sforce-Limit-Info: api-usage=18/15000``,
  HubSpot's ``X-HubSpot-RateLimit-Daily``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class LeakyBucket:
    def __init__(
        self, size: float, leak_per_second: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.size, self.rate, self._clock = size, leak_per_second, clock
        self._level, self._at = 0.0, clock()
        self._lock = threading.Lock()

    def _leak(self) -> None:
        now = self._clock()
        self._level = max(0.0, self._level - (now - self._at) * self.rate)
        self._at = now

    def take(self, cost: float) -> bool:
        """Add ``cost`` if it fits; False (and nothing added) if it does not."""
        with self._lock:
            self._leak()
            if self._level + cost > self.size:
                return False
            self._level += cost
            return True

    def give_back(self, amount: float) -> None:
        """Return what a call reserved but did not use (GraphQL: requested minus actual cost)."""
        with self._lock:
            self._level = max(0.0, self._level - amount)

    @property
    def used(self) -> float:
        with self._lock:
            self._leak()
            return self._level

    @property
    def available(self) -> float:
        return self.size - self.used

    def wait_for(self, cost: float) -> float:
        """Seconds until ``cost`` fits."""
        return max(0.0, (self.used + cost - self.size) / self.rate) if self.rate else float("inf")


class Allotment:
    def __init__(self, limit: int, period: float = 86400.0, clock: Callable[[], float] = time.time) -> None:
        self.limit, self.period, self._clock = limit, period, clock
        self._start, self.used = clock(), 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Count one call; False when the allotment was already used up (the call is refused)."""
        with self._lock:
            if self._clock() - self._start >= self.period:
                self._start, self.used = self._clock(), 0
            if self.used >= self.limit:
                return False
            self.used += 1
            return True
