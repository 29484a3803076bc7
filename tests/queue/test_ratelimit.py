"""Token buckets in the database: the ceiling holds across threads and processes, whatever the clocks do."""

from __future__ import annotations

import time

import pytest

from isao.db import Database
from isao.db.models import RateBucket
from isao.queue import ratelimit


def test_a_fast_bucket_reserves_tokens_ahead_yet_keeps_the_ceiling_across_processes(qdb: Database) -> None:
    """The rate ceiling the batch and per-record backfills run under: a process draws a tenth of a second
    of a fast bucket's tokens per transaction, still one after the other at the bucket's rate."""
    key, rate, now = f"conn:reserved-{time.monotonic_ns()}", 300.0, 1_000.0

    waits = [ratelimit.acquire(qdb, key, rate, 1.0, now) for _ in range(45)]

    assert waits == pytest.approx([n / rate for n in range(45)])
    with qdb.read() as session:
        bucket = session.get(RateBucket, key)
        assert bucket is not None and bucket.tokens == 1 - 60, "two reservations of 30 charged"
    mine = ratelimit._reserved.pop((qdb.url, key))  # what another process would see: none of them
    assert ratelimit.acquire(qdb, key, rate, 1.0, now) == pytest.approx(60 / rate), "after this one's 60"
    ratelimit._reserved[(qdb.url, key)] = mine
    later = [ratelimit.acquire(qdb, key, rate, 1.0, now + 10) for _ in range(2)]
    assert later == pytest.approx([0.0, 1 / rate]), "its 15 unused tokens were dropped, not burst out"


def test_tokens_reserved_before_the_clock_went_back_are_void(qdb: Database) -> None:
    """A reservation made at a later time (an NTP step back, a fake clock) must not stall the caller."""
    key, rate = f"conn:stepback-{time.monotonic_ns()}", 20.0
    assert ratelimit.acquire(qdb, key, rate, 1.0, 1_060.0) == 0.0  # reserves two; one is left over

    assert ratelimit.acquire(qdb, key, rate, 1.0, 1_000.0) < 1.0, "not the leftover due at 1,060"
