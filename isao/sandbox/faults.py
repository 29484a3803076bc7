"""Fault injection shared by every sandbox: a rate ceiling, ratios of 5xx answers and of timeouts, and the
access-token lifetime, drawn from a seeded generator so a test that injects faults is repeatable.

A sandbox decides how each fault *looks* (its provider's 429 body and headers, its 5xx body); this module
only decides *when* one happens.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Faults(BaseModel):
    """The knobs, settable by ``isao sandbox up`` flags or ``PUT /_sandbox/faults``."""

    model_config = ConfigDict(extra="forbid")

    rate_limit: int | None = Field(None, ge=1, description="Requests allowed per window; none = no ceiling")
    rate_window: float = Field(10.0, gt=0, description="Seconds in a rate window")
    retry_after: bool = Field(True, description="Send Retry-After with a 429 (some providers do not)")
    search_rate_limit: int | None = Field(
        None, ge=1, description="Separate ceiling for search endpoints, per second (HubSpot: about 5)"
    )
    error_rate: float = Field(0.0, ge=0, le=1, description="Share of requests answered with a 5xx")
    throttle_rate: float = Field(
        0.0, ge=0, le=1, description="Share of requests answered 429 at random, as a provider under load does"
    )
    timeout_rate: float = Field(0.0, ge=0, le=1, description="Share of requests that stall, then 504")
    timeout_seconds: float = Field(30.0, ge=0, description="How long a stalled request stalls")
    token_ttl: int | None = Field(None, ge=1, description="Access-token lifetime in seconds")
    seed: int | None = Field(None, description="Seed of the generator that draws 5xx and timeouts")


@dataclass(frozen=True)
class Verdict:
    kind: Literal["rate_limited", "error", "timeout"]
    retry_after: int = 0
    """Whole seconds until the window resets (rate_limited only)."""


@dataclass(frozen=True)
class Window:
    limit: int
    remaining: int
    reset_seconds: float
    window_seconds: float


class _FixedWindow:
    def __init__(self, limit: int, seconds: float, now: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.started, self.used = now, 0

    def take(self, now: float) -> int | None:
        """None if a request is allowed, else the whole seconds until the window resets."""
        if now - self.started >= self.seconds:
            self.started, self.used = now, 0
        if self.used >= self.limit:
            return max(1, math.ceil(self.started + self.seconds - now))
        self.used += 1
        return None


class FaultGate:
    """Decides, request by request, whether to inject a fault; counts them for ``/_sandbox/stats``."""

    def __init__(self, faults: Faults | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.configure(faults or Faults())

    def configure(self, faults: Faults) -> None:
        """Replace the settings; windows, counters and the generator start afresh."""
        with self._lock:
            self.faults = faults
            now = self._clock()
            limit, search = faults.rate_limit, faults.search_rate_limit
            self._window = _FixedWindow(limit, faults.rate_window, now) if limit else None
            self._search = _FixedWindow(search, 1.0, now) if search else None
            self._random = random.Random(faults.seed)  # noqa: S311 - fault injection, not cryptography
            self.stats = {"requests": 0, "rate_limited": 0, "errors": 0, "timeouts": 0}

    def check(self, *, search: bool = False) -> Verdict | None:
        with self._lock:
            self.stats["requests"] += 1
            now = self._clock()
            for window in (self._window, self._search if search else None):
                wait = window.take(now) if window else None
                if wait is not None:
                    self.stats["rate_limited"] += 1
                    return Verdict("rate_limited", wait)
            draw, faults = self._random.random(), self.faults
            if draw < faults.error_rate:
                self.stats["errors"] += 1
                return Verdict("error")
            if draw < faults.error_rate + faults.timeout_rate:
                self.stats["timeouts"] += 1
                return Verdict("timeout")
            if draw < faults.error_rate + faults.timeout_rate + faults.throttle_rate:
                self.stats["rate_limited"] += 1
                return Verdict("rate_limited", 1)
            return None

    def window(self) -> Window | None:
        """The main window's state, for providers that send rate-limit headers on every answer."""
        with self._lock:
            if self._window is None:
                return None
            now = self._clock()
            window = self._window
            if now - window.started >= window.seconds:
                return Window(window.limit, window.limit, window.seconds, window.seconds)
            reset = window.started + window.seconds - now
            return Window(window.limit, max(0, window.limit - window.used), reset, window.seconds)

    def token_ttl(self, default: int) -> int:
        return self.faults.token_ttl or default
