"""Reading a flow's source from the start (or from ``since``) into ``sync.record`` jobs, page by page,
resumable: each page's jobs and the run's position commit together, so an interrupted backfill continues
from the page after the last one committed and enqueues nothing twice.

With ``batch``, each page becomes one ``sync.batch`` job (``isao.sync.batch``) instead of a job per record;
the run's counts and ``outcome`` are still per record.

The command line reads the pages itself; the dashboard hands the reading to the queue (``sync.backfill``,
``enqueue``), so a backfill started from a browser runs in the server's workers, not in its request."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from isao.db import Database
from isao.db.models import Job, RecipeBinding, SyncRun
from isao.ids import new_id
from isao.queue import jobs
from isao.queue.context import JobContext
from isao.sync import batch as batches
from isao.sync.engine import RECORD, Engine
from isao.sync.recipe import Flow
from isao.timeutil import utcnow

RUNNING, DONE, INTERRUPTED = "running", "done", "interrupted"
BACKFILL = "sync.backfill"
JOB_PAGES = 20
"""Pages one ``sync.backfill`` job reads before handing over to its successor (short jobs, fresh leases)."""


@dataclass
class Progress:
    run_id: str
    pages: int
    enqueued: int
    finished: bool


def start(
    db: Database, binding: RecipeBinding, flow: Flow, since: str | None, *, restart: bool = False
) -> SyncRun:
    """The unfinished backfill of this flow to resume, or a new one."""
    with db.write() as session:
        unfinished = session.scalars(
            select(SyncRun).where(
                SyncRun.binding_id == binding.id, SyncRun.flow == flow.name, SyncRun.mode == "backfill",
                SyncRun.status.in_([RUNNING, INTERRUPTED]),
            ).order_by(SyncRun.started_at.desc())
        ).first()  # fmt: skip
        if unfinished is not None and not restart and unfinished.report.get("since") == since:
            unfinished.status = RUNNING
            session.flush()
            session.expunge(unfinished)
            return unfinished
        if unfinished is not None:
            unfinished.status = INTERRUPTED
        run = SyncRun(
            id=new_id("run"), company_id=binding.company_id, binding_id=binding.id, flow=flow.name,
            mode="backfill", status=RUNNING, cursor=None, counts={"pages": 0, "enqueued": 0},
            report={"since": since},
        )  # fmt: skip
        session.add(run)
        session.flush()
        session.expunge(run)
        return run


def pages(
    engine: Engine, binding: RecipeBinding, flow: Flow, run: SyncRun, *, batch: bool = False
) -> Iterator[Progress]:
    """Read and enqueue page after page (as one ``sync.batch`` job each with ``batch``); yields after each
    committed page."""
    client = engine.client(binding.connections[flow.source.connection])
    since = run.report.get("since")
    cursor = run.cursor
    counts = dict(run.counts)
    while True:
        page = client.list_changed(flow.source.object, since=since, cursor=cursor, limit=batches.PAGE)
        number = counts["pages"] + 1
        rows = []
        if batch and page.records:
            whole: dict[str, Any] = {"binding_id": binding.id, "flow": flow.name, "run": run.id,
                                     "records": page.records}  # fmt: skip
            key = batches.page_key(run.id, number, len(page.records))
            rows.append(jobs.values(batches.BATCH, whole, company_id=binding.company_id, dedupe_key=key))
        elif not batch:
            for record in page.records:
                record_id = client.record_id(record)
                payload = {"binding_id": binding.id, "flow": flow.name, "id": record_id, "data": record}
                key = f"sync:{run.id}:{record_id}"
                rows.append(jobs.values(RECORD, payload, company_id=binding.company_id, dedupe_key=key))
        counts = {"pages": number, "enqueued": counts["enqueued"] + len(page.records)}
        finished = page.cursor is None or page.cursor == cursor
        with engine.db.write() as session:
            jobs.enqueue_unique(session, rows)
            row = session.get(SyncRun, run.id)
            assert row is not None
            row.cursor, row.counts = page.cursor, counts
            if finished:
                row.status, row.finished_at = DONE, utcnow()
        yield Progress(run.id, counts["pages"], counts["enqueued"], finished)
        if finished:
            return
        cursor = page.cursor


def interrupt(db: Database, run_id: str) -> None:
    with db.write() as session:
        row = session.get(SyncRun, run_id)
        if row is not None and row.status == RUNNING:
            row.status = INTERRUPTED


def outcome(db: Database, run_id: str) -> dict[str, int]:
    """How many of the run's records are in each state (``queued``, ``running``, ``done``, ``dead``…).

    A record job counts one; a batch job counts its records, less those it handed to jobs of their own
    when it was done (those count by their own job's state)."""
    prefix = f"sync:{run_id}:"
    handed = Job.dedupe_key.startswith(batches.handoff_prefix(run_id), autoescape=True)
    with db.read() as session:  # batches first: one finishing in between shows its hand-offs as waiting
        pages = session.execute(
            select(Job.status, Job.dedupe_key).where(
                Job.kind == batches.BATCH, Job.dedupe_key.startswith(prefix, autoescape=True)
            )
        ).all()
        records = session.execute(
            select(Job.status, handed, func.count())
            .where(Job.kind == RECORD, Job.dedupe_key.startswith(prefix, autoescape=True))
            .group_by(Job.status, handed)
        ).all()
    states: Counter[str] = Counter()
    for status, handoff, count in records:
        states[str(status)] += int(count)
        if handoff:
            states[jobs.DONE] -= int(count)
    for status, key in pages:
        states[str(status)] += batches.records_of(str(key))
    return {status: count for status, count in states.items() if count}


def _reader_key(run_id: str) -> str:
    return f"backfill:{run_id}:"


def enqueue(
    db: Database, binding: RecipeBinding, flow: Flow, since: str | None, *, restart: bool = False,
    batch: bool = False,
) -> SyncRun:  # fmt: skip
    """Start (or resume) a backfill whose pages a worker reads: the run, and its ``sync.backfill`` job
    unless one is already queued or reading it."""
    run = start(db, binding, flow, since, restart=restart)
    with db.write() as session:
        if reader(session, run.id) in (None, jobs.DONE, jobs.DEAD):
            payload = {"binding_id": binding.id, "flow": flow.name, "run": run.id, "batch": batch}
            key = _reader_key(run.id) + new_id("page")
            jobs.enqueue(session, BACKFILL, payload, company_id=binding.company_id, dedupe_key=key)
    return run


def reader(session: Session, run_id: str) -> str | None:
    """The state of the run's latest ``sync.backfill`` job (None: its pages were read by a command)."""
    return session.scalars(
        select(Job.status)
        .where(Job.kind == BACKFILL, Job.dedupe_key.startswith(_reader_key(run_id), autoescape=True))
        .order_by(Job.dedupe_key.desc())  # the keys end in time-ordered ids
    ).first()


class Backfiller:
    """``sync.backfill``: ``{"binding_id", "flow", "run", "batch"}``, up to ``JOB_PAGES`` pages a job."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def handle(self, ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
        resolved = self.engine.resolve(payload)
        if isinstance(resolved, str):
            interrupt(ctx.db, payload["run"])
            return {"skipped": resolved}
        binding, _, flow = resolved
        with ctx.db.read() as session:
            run = session.get(SyncRun, payload["run"])
            if run is None or run.status != RUNNING:  # finished, or restarted as another run
                return {"skipped": f"run {payload['run']} is {run.status if run else 'gone'}"}
            session.expunge(run)
        first = run.counts.get("pages", 0)
        for step in pages(self.engine, binding, flow, run, batch=bool(payload.get("batch"))):
            if step.finished:
                return {"run": run.id, "pages": step.pages, "enqueued": step.enqueued}
            if step.pages - first >= JOB_PAGES:
                with ctx.transaction() as session:  # the successor exists iff this job is done
                    jobs.enqueue(session, BACKFILL, payload, company_id=binding.company_id,
                                 dedupe_key=_reader_key(run.id) + new_id("page"))  # fmt: skip
                return {"run": run.id, "pages": step.pages, "enqueued": step.enqueued, "continued": True}
            ctx.heartbeat()
        return {"run": run.id}
