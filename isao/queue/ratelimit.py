"""Token buckets kept in the database, so every worker on every machine draws from the same one.

``acquire`` reserves a token and says how long to wait for it: callers queue up in order instead of
all retrying at once, and a provider sees at most ``rate`` requests per second plus ``burst``.

A fast bucket (``rate`` of 20/s and more) is drawn from ``HORIZON`` seconds at a time: one transaction
reserves the tokens due in the next tenth of a second for this process, and the threads here take them in
turn. The database's bucket is charged for all of them, so the other processes' tokens come after and the
ceiling holds across processes. A reserved token nobody here took when it came due is dropped (a token's
time later), as the bucket would have dropped it, so unused tokens never pile up into a burst; the price is
that a process going idle can leave up to ``HORIZON`` seconds of tokens unused by anyone.
"""

from __future__ import annotations

import math
import threading
from collections import deque

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from isao import metrics
from isao.db import Database
from isao.db.models import RateBucket

HORIZON = 0.1
"""Seconds of tokens a process reserves in one transaction (one token per transaction below 20/s)."""
MAX_RESERVED = 50

STEP_BACK = 1.0
"""A clock that went back further than this (an NTP step, a test's fake clock) voids the tokens reserved."""

_reserved: dict[tuple[str, str], deque[float]] = {}
_reserved_at: dict[tuple[str, str], float] = {}
_locks: dict[tuple[str, str], threading.Lock] = {}
_guard = threading.Lock()


def acquire(db: Database, key: str, rate: float, burst: float, now: float) -> float:
    """Reserve one token from ``key``'s bucket; returns the seconds to wait before using it."""
    size = max(1, min(MAX_RESERVED, math.floor(rate * HORIZON)))
    if size == 1:
        wait = _charged(db, key, rate, burst, now, 1)[0] - now
    else:
        wait = _local(db, key, rate, burst, now, size) - now
    wait = max(0.0, wait)
    if wait > 0:
        label = metrics.bucket_label(key)
        metrics.RATE_LIMIT_WAITS.labels(label).inc()
        metrics.RATE_LIMIT_WAIT_SECONDS.labels(label).inc(wait)
    return wait


def _local(db: Database, key: str, rate: float, burst: float, now: float, size: int) -> float:
    """The next of this process's reserved tokens (their due times), reserving more when none is left."""
    slot = (db.url, key)
    with _guard:
        lock = _locks.setdefault(slot, threading.Lock())
        due = _reserved.setdefault(slot, deque())
    with lock:
        if now < _reserved_at.get(slot, now) - STEP_BACK:
            due.clear()  # reserved on a clock that has since gone back: their due times are not ours
        while due and due[0] < now - 1 / rate:
            due.popleft()  # came due a token's time ago and nobody took it: gone, as a full bucket's overflow
        if not due:
            due.extend(_charged(db, key, rate, burst, now, size))
            _reserved_at[slot] = now
        return due.popleft()


def _charged(db: Database, key: str, rate: float, burst: float, now: float, count: int) -> list[float]:
    try:
        return _charge(db, key, rate, burst, now, count)
    except IntegrityError:  # two workers created the bucket at once; it exists now
        return _charge(db, key, rate, burst, now, count)


def _charge(db: Database, key: str, rate: float, burst: float, now: float, count: int) -> list[float]:
    """Take ``count`` tokens from the bucket; the moment each one is (or was) due."""
    with db.write() as session:
        bucket = session.scalar(select(RateBucket).where(RateBucket.key == key).with_for_update())
        if bucket is None:
            bucket = RateBucket(key=key, tokens=burst, updated=now)
            session.add(bucket)
        elapsed = max(0.0, now - bucket.updated)
        level = min(burst, bucket.tokens + elapsed * rate)
        bucket.tokens = level - count
        bucket.updated = max(now, bucket.updated)
    return [now + max(0.0, (n - level) / rate) for n in range(1, count + 1)]
