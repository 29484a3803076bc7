"""What to do after a failed attempt, decided from the error class alone.

| error          | action                                                         |
|----------------|----------------------------------------------------------------|
| RateLimited    | retry no sooner than ``Retry-After`` (never earlier)           |
| Transient      | retry after full-jitter exponential back-off, up to a cap      |
| AuthExpired    | refresh the connection's token (the worker does), retry now    |
| Invalid etc.   | dead-letter at once: retrying cannot fix a rejected request    |
| anything else  | treated as Transient: a bug fixed and redeployed gets its retry |
Attempts exhausted → dead-letter, whatever the class.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from isao.errors import AuthExpired, Conflict, Invalid, NotFound, RateLimited


@dataclass(frozen=True)
class Decision:
    retry_at: datetime | None  # None: dead-letter
    reason: str


@dataclass
class RetryPolicy:
    base: float = 2.0
    cap: float = 3600.0
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        """Full jitter (AWS architecture blog): uniform in [0, min(cap, base·2^(attempt-1))]."""
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** max(0, attempt - 1)))

    def decide(self, error: BaseException, attempt: int, max_attempts: int, now: datetime) -> Decision:
        if isinstance(error, Invalid | NotFound | Conflict):
            return Decision(None, "permanent error: not retried")
        if attempt >= max_attempts:
            return Decision(None, f"gave up after {attempt} attempts")
        if isinstance(error, RateLimited):
            wait = max(error.retry_after, self.backoff(attempt) if error.retry_after <= 0 else 0)
            return Decision(now + timedelta(seconds=wait), f"rate limited: retry in {wait:.1f}s")
        if isinstance(error, AuthExpired):
            return Decision(now, "token refreshed: retry now")
        wait = self.backoff(attempt)
        return Decision(now + timedelta(seconds=wait), f"retry in {wait:.1f}s")


@dataclass
class ScheduledRetryPolicy(RetryPolicy):
    """A fixed schedule (±10 % jitter), for deliveries that must keep trying for about a day."""

    delays: Sequence[float] = ()

    def backoff(self, attempt: int) -> float:
        if not self.delays:
            return super().backoff(attempt)
        delay = self.delays[min(attempt, len(self.delays)) - 1]
        return delay * self.rng.uniform(0.9, 1.1)
