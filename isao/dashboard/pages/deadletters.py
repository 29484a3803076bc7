"""Dead letters: the company's dead jobs, what they sent and got back, and replaying or discarding them.

Every action goes through ``isao.queue.deadletters`` with a filter pinned to the viewer's company, so an
id of another company's job matches nothing and is reported like one already gone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from isao.crm.schemas import Input
from isao.dashboard.roles import AsAdmin, AsOperator, audited
from isao.dashboard.session import CurrentViewer, Db, Viewer
from isao.dashboard.web import not_found, redirect, render, validate
from isao.db import Database
from isao.db.models import Job
from isao.queue import deadletters

router = APIRouter()

PAGE_SIZE = 25
MAX_SELECTED = 1000
HEADLINE = 120


class Filters(Input):
    kind: Annotated[str | None, Field(max_length=64)] = None
    error_class: Annotated[str | None, Field(max_length=40)] = None
    page: Annotated[int, Field(ge=1, le=1_000_000)] = 1

    def where(self, company_id: str) -> deadletters.Filter:
        return deadletters.Filter(
            company_id=company_id, kind=self.kind or None, error_class=self.error_class or None
        )

    def query(self, **extra: str | int) -> str:
        """The list's URL with these filters (page 1 unless asked) and any flash keys."""
        pairs = {"kind": self.kind or "", "error_class": self.error_class or ""} | extra
        text = urlencode({key: value for key, value in pairs.items() if value not in ("", None, 0)})
        return "/dead-letters" + (f"?{text}" if text else "")


def headline(error: str | None) -> str:
    """One line of the error for the table: a traceback's last line says what happened, not its first."""
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1] if lines[0].startswith("Traceback") else lines[0]
    return line if len(line) <= HEADLINE else line[: HEADLINE - 1] + "…"


def _row(job: Job) -> dict[str, Any]:
    return deadletters.summary(job) | {"headline": headline(job.last_error), "died": job.finished_at}


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _flashes(params: Mapping[str, str]) -> list[tuple[str, str]]:
    """Only known keys and numbers become messages: a crafted link cannot put words on the page."""
    count, missing = params.get("count", ""), params.get("missing", "")
    flashes: list[tuple[str, str]] = []
    if count.isdigit():
        done = params.get("done")
        if done == "replayed":
            flashes.append(("ok", f"Replayed {_plural(int(count), 'job', 'jobs')}"))
        elif done == "discarded":
            flashes.append(("ok", f"Discarded {_plural(int(count), 'dead letter', 'dead letters')}"))
    if missing.isdigit() and int(missing) > 0:
        flashes.append(("error", _missing(int(missing))))
    return flashes


def _missing(count: int) -> str:
    return (
        f"{_plural(count, 'selected dead letter was', 'selected dead letters were')} not found "
        "(replayed or discarded already?) and left alone."
    )


def _listing(
    request: Request,
    viewer: Viewer,
    database: Database,
    filters: Filters,
    *,
    errors: dict[str, str] | None = None,
    flashes: Sequence[tuple[str, str]] = (),
    status_code: int = 200,
) -> Response:
    errors = errors or {}
    with database.read() as session:
        kinds, classes = deadletters.facets(session, deadletters.Filter(company_id=viewer.company_id))
        rows: list[dict[str, Any]] = []
        total = 0
        if not errors:
            found, total = deadletters.list_(
                session,
                filters.where(viewer.company_id),
                offset=(filters.page - 1) * PAGE_SIZE,
                limit=PAGE_SIZE,
            )
            rows = [_row(job) for job in found]
    options = {
        "kind": _options(kinds, filters.kind, "Any kind"),
        "error_class": _options(classes, filters.error_class, "Any error"),
    }
    return render(
        request,
        "deadletters/index.html",
        status_code=status_code,
        title="Dead letters",
        flashes=list(flashes),
        rows=rows,
        total=total,
        any_at_all=bool(kinds),
        filtered=bool(filters.kind or filters.error_class),
        filters=filters,
        values={"kind": filters.kind or "", "error_class": filters.error_class or ""},
        errors=errors,
        options=options,
        page=filters.page,
        pages=max(1, -(-total // PAGE_SIZE)),
        base=filters.query(),
    )


def _options(present: list[str], current: str | None, any_label: str) -> list[tuple[str, str]]:
    """The values present, and the one asked for even if none is left, so the menu shows the truth."""
    names = sorted(set(present) | ({current} if current else set()))
    return [("", any_label)] + [(name, name) for name in names]


def _filters(values: Mapping[str, Any]) -> tuple[Filters, dict[str, str]]:
    given = {key: value for key, value in values.items() if isinstance(value, str) and value.strip()}
    filters, errors = validate(Filters, given)
    return filters or Filters(), errors


def _ids(form: FormData) -> list[str]:
    ids = (value.strip() for value in form.getlist("ids") if isinstance(value, str))
    return list(dict.fromkeys(value for value in ids if value))


@router.get("/dead-letters")
def index(request: Request, viewer: CurrentViewer, database: Db) -> Response:
    filters, errors = _filters(request.query_params)
    return _listing(
        request,
        viewer,
        database,
        filters,
        errors=errors,
        flashes=_flashes(request.query_params),
        status_code=400 if errors else 200,
    )


def _refuse(request: Request, viewer: Viewer, database: Database, filters: Filters, message: str) -> Response:
    return _listing(request, viewer, database, filters, flashes=[("error", message)], status_code=400)


NOTHING_SELECTED = "Select at least one dead letter first, then choose an action."
TOO_MANY = f"Select at most {MAX_SELECTED} dead letters at a time, or replay all matching the filter."
UNTICKED = "Tick the box to confirm: discarded jobs are never retried."
NONE_FOUND = "None of the selected dead letters were found; they may have been replayed or discarded already."


def _unusable(ids: list[str]) -> str | None:
    """Why a selection cannot be acted on, if it cannot."""
    if not ids:
        return NOTHING_SELECTED
    if len(ids) > MAX_SELECTED:
        return TOO_MANY
    return None


def _audit(session: Session, viewer: Viewer, action: str, summary: str, ids: list[str] | None = None) -> None:
    details = {"ids": ids[:MAX_SELECTED]} if ids else {}
    audited(session, viewer, action, summary, details=details)


@router.post("/dead-letters/replay")
async def replay(request: Request, viewer: AsOperator, database: Db) -> Response:
    form = await request.form()
    filters, errors = _filters(form)
    if errors:
        return _listing(request, viewer, database, filters, errors=errors, status_code=400)
    if form.get("scope") == "filter":
        with database.write() as session:
            count = deadletters.replay(session, filters.where(viewer.company_id))
            _audit(
                session, viewer, "deadletters.replayed", f"Replayed {count} dead letters matching the filter"
            )
        if count == 0:
            return _refuse(request, viewer, database, filters, "No dead letters match the filter.")
        return redirect(filters.query(done="replayed", count=count))
    ids = _ids(form)
    if problem := _unusable(ids):
        return _refuse(request, viewer, database, filters, problem)
    with database.write() as session:
        count = deadletters.replay(session, deadletters.Filter(company_id=viewer.company_id, ids=ids))
        _audit(session, viewer, "deadletters.replayed", f"Replayed {count} dead letters", ids)
    if count == 0:
        return _refuse(request, viewer, database, filters, NONE_FOUND)
    return redirect(filters.query(done="replayed", count=count, missing=len(ids) - count))


@router.post("/dead-letters/discard")
async def discard(request: Request, viewer: AsAdmin, database: Db) -> Response:
    """Two steps: the first shows what would be discarded and asks for a tick; the second discards."""
    form = await request.form()
    filters, errors = _filters(form)
    if errors:
        return _listing(request, viewer, database, filters, errors=errors, status_code=400)
    ids = _ids(form)
    if problem := _unusable(ids):
        return _refuse(request, viewer, database, filters, problem)
    where = deadletters.Filter(company_id=viewer.company_id, ids=ids)
    confirming = form.get("step") == "confirm"
    if confirming and form.get("confirm") == "yes":
        with database.write() as session:
            count = deadletters.discard(session, where)
            _audit(session, viewer, "deadletters.discarded", f"Discarded {count} dead letters", ids)
        if count == 0:
            return _refuse(request, viewer, database, filters, NONE_FOUND)
        return redirect(filters.query(done="discarded", count=count, missing=len(ids) - count))
    with database.read() as session:
        found, _ = deadletters.list_(session, where, limit=MAX_SELECTED)
        rows = [_row(job) for job in found]
    if not rows:
        return _refuse(request, viewer, database, filters, NONE_FOUND)
    return render(
        request,
        "deadletters/confirm.html",
        status_code=400 if confirming else 200,
        title="Discard dead letters?",
        rows=rows,
        filters=filters,
        missing=_missing(len(ids) - len(rows)) if len(rows) < len(ids) else None,
        errors={"confirm": UNTICKED} if confirming else {},
    )


@router.get("/dead-letters/{job_id}")
def detail(request: Request, job_id: str, viewer: CurrentViewer, database: Db) -> Response:
    with database.read() as session:
        job = deadletters.get(session, job_id, viewer.company_id)
        if job is None:
            message = "There is no such dead letter: it may have been replayed already."
            return not_found(request, "Dead letter", "/dead-letters", message)
        entry = deadletters.detail(session, job)
        died, created = job.finished_at, job.created_at
    return render(
        request,
        "deadletters/detail.html",
        title=f"Dead letter {entry['kind']}",
        entry=entry,
        died=died,
        created=created,
    )
