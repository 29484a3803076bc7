"""Failed logins slow a password guesser down: after too many failures for one email, or from one client
address, within a window, further attempts are refused until the oldest failure ages out.

Counted in memory, per process: a restart forgets, and each ``isao serve`` process counts on its own,
which still caps guessing at a few attempts per window per process."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW = 15 * 60.0
PER_EMAIL = 5
PER_ADDRESS = 20
_MAX_KEYS = 10_000


@dataclass
class LoginThrottle:
    window: float = WINDOW
    per_email: int = PER_EMAIL
    per_address: int = PER_ADDRESS
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _keys(self, email: str, address: str) -> tuple[tuple[str, int], ...]:
        return ((f"email:{email.strip().lower()}", self.per_email), (f"address:{address}", self.per_address))

    def wait(self, email: str, address: str) -> float:
        """Seconds before another attempt for this email from this address is allowed (0: now)."""
        now, longest = self.clock(), 0.0
        with self._lock:
            for key, limit in self._keys(email, address):
                failures = self._recent(key, now)
                if len(failures) >= limit:
                    longest = max(longest, failures[-limit] + self.window - now)
        return longest

    def failed(self, email: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) > _MAX_KEYS:  # a flood of made-up emails must not grow this forever
                for key in [k for k, v in self._failures.items() if not v or v[-1] <= now - self.window]:
                    del self._failures[key]
            for key, _ in self._keys(email, address):
                self._failures.setdefault(key, deque(maxlen=max(self.per_email, self.per_address))).append(
                    now
                )

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._failures.pop(f"email:{email.strip().lower()}", None)

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures
