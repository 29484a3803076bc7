from __future__ import annotations

from isao.api.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_fixed_window_resets_and_reports_retry_after() -> None:
    clock = Clock()
    limiter = RateLimiter(limit=2, window=60, clock=clock)
    assert [limiter.hit("k").allowed for _ in range(3)] == [True, True, False]
    denied = limiter.hit("k")
    assert denied.remaining == 0 and denied.retry_after(clock.now) == 20  # 1_000_000 % 60 == 40
    assert denied.headers(clock.now)["Retry-After"] == "20"
    clock.now += 20
    assert limiter.hit("k").allowed
    assert limiter.hit("other").remaining == 1
