"""Token buckets kept in the database, so every worker on every machine draws from the same one.

``acquire`` reserves a token and says how long to wait for it: callers queue up in order instead of
all retrying at once, and a provider sees at most ``rate`` requests per second plus ``burst``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from isao import metrics
from isao.db import Database
from isao.db.models import RateBucket


def acquire(db: Database, key: str, rate: float, burst: float, now: float) -> float:
    """Reserve one token from ``key``'s bucket; returns the seconds to wait before using it."""
    try:
        wait = _acquire(db, key, rate, burst, now)
    except IntegrityError:  # two workers created the bucket at once; it exists now
        wait = _acquire(db, key, rate, burst, now)
    if wait > 0:
        label = metrics.bucket_label(key)
        metrics.RATE_LIMIT_WAITS.labels(label).inc()
        metrics.RATE_LIMIT_WAIT_SECONDS.labels(label).inc(wait)
    return wait


def _acquire(db: Database, key: str, rate: float, burst: float, now: float) -> float:
    with db.write() as session:
        bucket = session.scalar(select(RateBucket).where(RateBucket.key == key).with_for_update())
        if bucket is None:
            bucket = RateBucket(key=key, tokens=burst, updated=now)
            session.add(bucket)
        elapsed = max(0.0, now - bucket.updated)
        tokens = min(burst, bucket.tokens + elapsed * rate) - 1
        bucket.tokens = tokens
        bucket.updated = max(now, bucket.updated)
    return 0.0 if tokens >= 0 else -tokens / rate
