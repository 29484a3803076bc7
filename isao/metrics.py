"""Prometheus metrics. Counters live in each process; queue depth is read from the database at scrape."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from isao.db import Database
from isao.db.models import Job

EVENTS_RECEIVED = Counter("isao_events_received_total", "Inbound webhooks stored", ["provider"])
EVENTS_DUPLICATE = Counter(
    "isao_events_duplicate_total", "Inbound webhooks dropped as duplicates", ["provider"]
)
EVENTS_REJECTED = Counter("isao_events_rejected_total", "Inbound webhooks refused", ["provider", "reason"])
SYNC_STEPS = Counter(
    "isao_sync_steps_total", "Recipe steps run, by outcome (created, updated, unchanged, echo…)",
    ["recipe", "flow", "action"],
)  # fmt: skip
JOBS = Counter("isao_jobs_total", "Job attempts by outcome (done, retried, dead)", ["kind", "outcome"])
JOB_DURATION = Histogram("isao_job_duration_seconds", "Time a handler ran", ["kind"])
JOB_LATENCY = Histogram(
    "isao_job_latency_seconds",
    "From enqueue to done",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, float("inf")),
)
RATE_LIMIT_WAITS = Counter("isao_rate_limit_waits_total", "Times a worker waited for a token", ["bucket"])
RATE_LIMIT_WAIT_SECONDS = Counter(
    "isao_rate_limit_wait_seconds_total", "Seconds spent waiting for tokens", ["bucket"]
)


class QueueDepth(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("isao_queue_depth", "Jobs by state", labels=["status"])
        with self.db.read() as session:
            counts = dict(
                session.execute(select(Job.status, func.count()).group_by(Job.status)).tuples().all()
            )
        for status in ("queued", "running", "dead"):
            gauge.add_metric([status], counts.get(status, 0))
        yield gauge


def watch_queue(db: Database, registry: CollectorRegistry = REGISTRY) -> QueueDepth:
    collector = QueueDepth(db)
    registry.register(collector)
    return collector


def bucket_label(rate_key: str) -> str:
    """``connection:conn_…`` → ``connection``: bounded label values."""
    return rate_key.split(":", 1)[0]
