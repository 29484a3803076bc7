"""``isao worker``, ``isao dlq …`` and ``isao schedules``."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from isao.cli.common import console, id_column, open_db
from isao.cli.errors import Usage, found
from isao.config import get_settings
from isao.queue import deadletters, scheduler
from isao.runtime import Runtime
from isao.timeutil import format_iso, utcnow

dlq_app = typer.Typer(help="The dead-letter queue: failed jobs kept with what was sent and received.")
schedules_app = typer.Typer(help="Periodic jobs.", invoke_without_command=True)

Ids = Annotated[list[str] | None, typer.Argument(help="Dead-letter (job) ids; none means every match")]
Kind = Annotated[str | None, typer.Option(help="Only jobs of this kind, e.g. webhook.deliver")]
ErrorClass = Annotated[str | None, typer.Option("--error", help="Only this error class, e.g. Invalid")]
Company = Annotated[str | None, typer.Option(help="Only this company's id")]
Hours = Annotated[float | None, typer.Option(help="Only those that died in the last N hours")]


def worker(
    concurrency: Annotated[int, typer.Option(help="Worker threads in this process")] = 4,
) -> None:
    """Run queue workers until interrupted (they share the queue with every other worker)."""
    settings = get_settings()
    runtime = Runtime(settings, open_db())
    pool = runtime.pool(concurrency)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    pool.start()
    console.print(f"{concurrency} workers running as {runtime.worker().name}; Ctrl-C stops them.")
    stopped.wait()
    console.print("Stopping: finishing the jobs in hand…")
    pool.stop()
    runtime.close()


def _filter(
    ids: list[str] | None, kind: str | None, error: str | None, company: str | None, hours: float | None
) -> deadletters.Filter:
    since = utcnow() - timedelta(hours=hours) if hours else None
    return deadletters.Filter(company_id=company, kind=kind, error_class=error, since=since, ids=ids or None)


@dlq_app.command("list")
def dlq_list(
    kind: Kind = None, error: ErrorClass = None, company: Company = None, hours: Hours = None, limit: int = 50
) -> None:
    db = open_db()
    with db.read() as session:
        rows, total = deadletters.list_(session, _filter(None, kind, error, company, hours), limit=limit)
        table = Table(id_column(), "kind", "attempts", "error", "died", title=f"{total} dead letter(s)")
        for row in rows:
            summary = deadletters.summary(row)
            table.add_row(
                row.id,
                row.kind,
                str(row.attempts),
                f"{row.error_class}: {summary['error'][:80]}",
                format_iso(row.finished_at),
            )
    console.print(table)


@dlq_app.command("show")
def dlq_show(job_id: Annotated[str, typer.Argument(help="Dead-letter (job) id")]) -> None:
    """The inbound payload, the request ISAO sent, the response it got, and every attempt, as JSON."""
    db = open_db()
    with db.read() as session:
        job = found(deadletters.get(session, job_id), "dead letter", job_id, "See `isao dlq list`.")
        print(json.dumps(deadletters.detail(session, job), indent=2, default=str))


All = Annotated[bool, typer.Option("--all", help="Act on every dead letter when no id or filter is given")]


def _acting(
    verb: str, act: Callable[[Session, deadletters.Filter], int], done: str, doc: str
) -> Callable[..., None]:
    """``isao dlq replay`` and ``isao dlq discard``: ``act`` on the dead letters named or matched."""

    def command(
        ids: Ids = None,
        kind: Kind = None,
        error: ErrorClass = None,
        company: Company = None,
        hours: Hours = None,
        all_: All = False,
    ) -> None:
        where = _filter(ids, kind, error, company, hours)
        if where == deadletters.Filter() and not all_:
            raise Usage(f"Name ids or a filter, or pass --all to {verb} every dead letter")
        with open_db().write() as session:
            count = act(session, where)
        console.print(f"{done} {count} dead letter(s).")

    command.__doc__ = doc
    return command


REPLAY = "Queue dead letters again, now, with a fresh attempt budget."
DISCARD = "Mark dead letters discarded (kept for the record, never retried)."
dlq_app.command("replay")(_acting("replay", deadletters.replay, "Replayed", REPLAY))
dlq_app.command("discard")(_acting("discard", deadletters.discard, "Discarded", DISCARD))


@schedules_app.callback()
def schedules_list(ctx: typer.Context) -> None:
    """List periodic jobs and when each runs next."""
    if ctx.invoked_subcommand:
        return
    db = open_db()
    table = Table("name", "cron", "kind", "next run", "last run", "enabled")
    with db.read() as session:
        for row in scheduler.list_(session):
            table.add_row(
                row.name,
                row.cron,
                row.kind,
                format_iso(row.next_run_at),
                format_iso(row.last_run_at) or "",
                "yes" if row.enabled else "no",
            )
    console.print(table)
