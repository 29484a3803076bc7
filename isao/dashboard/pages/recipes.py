"""Recipes: which integrations the company runs, enabling them on its connections, and running a flow now
(a poll or a backfill through the queue), previewing its writes, and reconciling both sides.

Everything that talks to a provider is a plain ``def`` endpoint (FastAPI runs it in its threadpool) or a
job for the server's workers; nothing waits on a provider in the event loop."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from isao import connections
from isao.dashboard.pages import recipe_forms as forms
from isao.dashboard.roles import AsOperator, audited
from isao.dashboard.session import CurrentViewer, Db, Viewer
from isao.dashboard.web import confirm, confirmed, form_values, not_found, problem, redirect, render
from isao.db import Database
from isao.db.models import IdLink, RecipeBinding, SyncConflict, SyncRun
from isao.errors import IsaoError
from isao.queue import jobs
from isao.sync import backfill, bindings, catalog
from isao.sync.engine import Engine
from isao.sync.preview import preview
from isao.sync.recipe import Flow, Recipe, RecipeError
from isao.sync.reconcile import Drift, reconcile

router = APIRouter()

CONFLICTS_SHOWN = 20

DONE = {
    "enabled": "Recipe enabled: its webhooks and polls now run.",
    "disabled": "Recipe disabled: its webhooks and polls stopped. Its ID map and cursors are kept.",
    "polled": "Queued an incremental poll of {flow}; the server's workers run it.",
}


@dataclass
class Found:
    recipe: Recipe
    binding: RecipeBinding | None


def _recipes_dir(request: Request) -> Path | None:
    directory: Path | None = request.app.state.settings.recipes_dir
    return directory


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.runtime.engine
    return engine


def _find(request: Request, viewer: Viewer, database: Database, name: str) -> Found | Response:
    """The recipe and this company's binding of it; a problem page if the recipe is missing or broken."""
    try:
        recipe = catalog.get(name, _recipes_dir(request))
    except KeyError:
        return not_found(request, "Recipe", "/recipes", f"There is no recipe called {name}.")
    except RecipeError as exc:
        return problem(request, 404, "This recipe does not load", str(exc), "/recipes")
    with database.read() as session:
        binding = bindings.get(session, viewer.company_id, name)
        if binding is not None:
            session.expunge(binding)
    return Found(recipe, binding)


def _bound(request: Request, found: Found, *, enabled: bool = True) -> RecipeBinding | Response:
    """Runs need the company's binding (and, for jobs, an enabled one: workers skip a disabled binding)."""
    binding = found.binding
    if binding is None or (enabled and not binding.enabled):
        name = found.recipe.name
        message = f"{name} is not enabled for this company."
        return problem(request, 409, "Enable the recipe first", message, f"/recipes/{name}")
    return binding


def _runnable(
    request: Request, viewer: Viewer, database: Database, name: str, flow: str, *, enabled: bool = True
) -> tuple[Found, RecipeBinding, Flow] | Response:
    """The recipe, the company's binding and the flow to run it with; else the problem page saying why not."""
    found = _find(request, viewer, database, name)
    if isinstance(found, Response):
        return found
    chosen = next((f for f in found.recipe.flows if f.name == flow), None)
    if chosen is None:
        return not_found(request, "Flow", f"/recipes/{name}", f"{name} has no flow {flow}.")
    bound = _bound(request, found, enabled=enabled)
    if isinstance(bound, Response):
        return bound
    return found, bound, chosen


# --- The list and one recipe --------------------------------------------------------------------------


@router.get("/recipes")
def index(request: Request, viewer: CurrentViewer, database: Db) -> Response:
    with database.read() as session:
        states = {row.recipe: row.enabled for row in bindings.list_(session, viewer.company_id)}
    rows: list[dict[str, Any]] = []
    for name in catalog.files(_recipes_dir(request)):
        try:
            recipe = catalog.get(name, _recipes_dir(request))
        except RecipeError as exc:
            rows.append({"name": name, "error": str(exc)})
            continue
        roles = [f"{role}: {forms.provider_name(p)}" for role, p in recipe.connections.items()]
        rows.append({"name": name, "recipe": recipe, "roles": roles, "enabled": states.get(name)})
    return render(request, "recipes/index.html", title="Recipes", rows=rows)


def _detail(
    request: Request, viewer: Viewer, database: Database, found: Found, *,
    form: forms.EnableForm | None = None, errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None, flashes: list[tuple[str, str]] | None = None, status: int = 200,
) -> Response:  # fmt: skip
    with database.read() as session:
        rows = list(connections.list_(session, viewer.company_id))
        runs, conflicts = [], []
        if found.binding is not None:
            runs = list(session.scalars(
                select(SyncRun).where(
                    SyncRun.binding_id == found.binding.id, SyncRun.company_id == viewer.company_id
                ).order_by(SyncRun.started_at.desc()).limit(10)
            ))  # fmt: skip
            conflicts = _conflicts(session, viewer.company_id, found.binding.id)
    return render(
        request, "recipes/detail.html", status_code=status, title=found.recipe.title, recipe=found.recipe,
        binding=found.binding, form=form or forms.enable_form(found.recipe, found.binding, rows), runs=runs,
        conflicts=conflicts, errors=errors or {}, values=values or {}, flashes=flashes or [],
        provider_name=forms.provider_name,
    )  # fmt: skip


def _conflicts(session: Session, company_id: str, binding_id: str) -> list[Any]:
    """The latest records both sides changed, with how the recipe's policy settled each: the operator's
    one place to see that a two-way sync kept one side's edit over the other's."""
    query = (
        select(SyncConflict, IdLink.source_object, IdLink.source_id, IdLink.target_object, IdLink.target_id)
        .outerjoin(IdLink, IdLink.id == SyncConflict.link_id)
        .where(SyncConflict.binding_id == binding_id, SyncConflict.company_id == company_id)
        .order_by(SyncConflict.created_at.desc())
        .limit(CONFLICTS_SHOWN)
    )
    return list(session.execute(query))


@router.get("/recipes/{name}")
def detail(
    request: Request, name: str, viewer: CurrentViewer, database: Db, done: str | None = None,
    flow: str | None = None,
) -> Response:  # fmt: skip
    found = _find(request, viewer, database, name)
    if isinstance(found, Response):
        return found
    flashes = []
    if done in DONE and (done != "polled" or any(f.name == flow for f in found.recipe.flows)):
        flashes.append(("ok", DONE[done].format(flow=flow)))
    return _detail(request, viewer, database, found, flashes=flashes)


@router.post("/recipes/{name}/enable")
async def enable(request: Request, name: str, viewer: AsOperator, database: Db) -> Response:
    found = _find(request, viewer, database, name)
    if isinstance(found, Response):
        return found
    values = await form_values(request)
    with database.read() as session:
        rows = list(connections.list_(session, viewer.company_id))
    form = forms.enable_form(found.recipe, found.binding, rows)
    roles, options = forms.read_enable(form, values)
    if not form.errors:
        try:
            with database.write() as session:
                bindings.enable(session, viewer.company_id, found.recipe, roles, options)
                audited(
                    session,
                    viewer,
                    "recipe.enabled",
                    f"Enabled {name}",
                    target=("recipe", name),
                    details={"connections": roles, "options": options},
                )
            return redirect(f"/recipes/{name}?done=enabled")
        except ValueError as exc:  # a connection removed between the form and the submit
            form.errors["form"] = str(exc)
    return _detail(request, viewer, database, found, form=form, status=400)


@router.post("/recipes/{name}/disable")
async def disable(request: Request, name: str, viewer: AsOperator, database: Db) -> Response:
    found = _find(request, viewer, database, name)
    if isinstance(found, Response):
        return found
    if isinstance(bound := _bound(request, found, enabled=False), Response):
        return bound
    if not confirmed(await form_values(request)):
        return confirm(
            request, f"Disable {found.recipe.title}?",
            "Its webhooks stop being routed and its polls stop running until it is enabled again. "
            "Its ID map and cursors are kept, so enabling it later resumes where it stopped; changes made "
            "meanwhile are picked up by the next poll.",
            action=f"/recipes/{name}/disable", button="Disable recipe", cancel=f"/recipes/{name}",
        )  # fmt: skip
    with database.write() as session:
        binding = bindings.get(session, viewer.company_id, name)
        assert binding is not None
        bindings.disable(session, binding)
        audited(session, viewer, "recipe.disabled", f"Disabled {name}", target=("recipe", name))
    return redirect(f"/recipes/{name}?done=disabled")


# --- Running a flow -------------------------------------------------------------------------------------


@router.post("/recipes/{name}/flows/{flow}/run")
def run_now(request: Request, name: str, flow: str, viewer: AsOperator, database: Db) -> Response:
    runnable = _runnable(request, viewer, database, name, flow)
    if isinstance(runnable, Response):
        return runnable
    _, bound, _ = runnable
    with database.write() as session:
        bindings.poll_now(session, bound, flow)
        audited(session, viewer, "recipe.polled", f"Ran a poll of {name}/{flow}", target=("recipe", name))
    return redirect(f"/recipes/{name}?done=polled&flow={flow}")


@router.post("/recipes/{name}/flows/{flow}/backfill")
async def start_backfill(
    request: Request, name: str, flow: str, viewer: AsOperator, database: Db
) -> Response:
    runnable = _runnable(request, viewer, database, name, flow)
    if isinstance(runnable, Response):
        return runnable
    found, bound, chosen = runnable
    values = await form_values(request)
    try:
        since = forms.read_since(values.get("since"))
    except ValueError as exc:
        errors = {f"backfill-{flow}-since": str(exc)}
        return _detail(request, viewer, database, found, errors=errors, values=values, status=400)
    run = backfill.enqueue(database, bound, chosen, since, restart=values.get("restart") == "on")
    with database.write() as session:
        audited(
            session,
            viewer,
            "recipe.backfill",
            f"Started a backfill of {name}/{flow}" + (f" since {since}" if since else ""),
            target=("run", run.id),
        )
    return redirect(f"/recipes/{name}/runs/{run.id}")


@dataclass
class Standing:
    """A backfill as the progress bar shows it: records finished of those enqueued so far."""

    run: SyncRun
    states: dict[str, int]
    reader: str | None

    @property
    def total(self) -> int:
        return int(self.run.counts.get("enqueued", 0))

    @property
    def failed(self) -> int:
        return self.states.get(jobs.DEAD, 0)

    @property
    def synced(self) -> int:
        return self.states.get(jobs.DONE, 0)

    @property
    def waiting(self) -> int:
        return self.states.get(jobs.QUEUED, 0) + self.states.get(jobs.RUNNING, 0)

    @property
    def reading(self) -> bool:
        return self.run.status == backfill.RUNNING and self.reader != jobs.DEAD

    @property
    def stalled(self) -> bool:
        """Reading the source failed for good (its job is a dead letter): backfill again to resume."""
        return self.run.status == backfill.RUNNING and self.reader == jobs.DEAD

    @property
    def settled(self) -> bool:
        return not self.reading and self.waiting == 0


def _standing(database: Database, viewer: Viewer, name: str, run_id: str) -> Standing | None:
    with database.read() as session:
        run = session.scalars(
            select(SyncRun).join(RecipeBinding, RecipeBinding.id == SyncRun.binding_id).where(
                SyncRun.id == run_id, SyncRun.company_id == viewer.company_id, RecipeBinding.recipe == name
            )
        ).one_or_none()  # fmt: skip
        reader = backfill.reader(session, run_id) if run is not None else None
    if run is None:
        return None
    return Standing(run, backfill.outcome(database, run_id), reader)


@router.get("/recipes/{name}/runs/{run_id}")
def run_page(request: Request, name: str, run_id: str, viewer: CurrentViewer, database: Db) -> Response:
    found = _find(request, viewer, database, name)
    if isinstance(found, Response):
        return found
    standing = _standing(database, viewer, name, run_id)
    if standing is None:
        return not_found(request, "Run", f"/recipes/{name}", f"{name} has no run {run_id}.")
    title = f"Backfill of {standing.run.flow}"
    return render(
        request, "recipes/run.html", title=title, recipe=found.recipe, recipe_name=name, standing=standing
    )


@router.get("/recipes/{name}/runs/{run_id}/progress")
def run_progress(request: Request, name: str, run_id: str, viewer: CurrentViewer, database: Db) -> Response:
    standing = _standing(database, viewer, name, run_id)
    if standing is None:
        return Response("No such run", status_code=404, media_type="text/plain")
    return render(request, "recipes/_progress.html", recipe_name=name, standing=standing)


# --- Dry run and reconciliation -----------------------------------------------------------------------


def _text(value: Any) -> str:
    """A field's value in a table cell: text as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)


@router.get("/recipes/{name}/flows/{flow}/preview")
def dry_run(
    request: Request, name: str, flow: str, viewer: AsOperator, database: Db, limit: str | None = None,
    since: str | None = None,
) -> Response:  # fmt: skip
    runnable = _runnable(request, viewer, database, name, flow, enabled=False)
    if isinstance(runnable, Response):
        return runnable
    found, bound, chosen = runnable
    values = {"limit": limit or str(forms.PREVIEW_LIMIT), "since": since or ""}
    errors: dict[str, str] = {}
    context: dict[str, Any] = {"recipe": found.recipe, "flow": chosen, "values": values, "errors": errors}
    title = f"Preview of {flow} (dry run)"
    try:
        count = forms.read_limit(limit)
    except ValueError as exc:
        errors["limit"] = str(exc)
    try:
        after = forms.read_since(since)
    except ValueError as exc:
        errors["since"] = str(exc)
    if errors:
        return render(request, "recipes/preview.html", status_code=400, title=title, **context)
    try:
        planned = preview(_engine(request), bound, found.recipe, chosen, after, count)
    except IsaoError as exc:
        flashes = [("error", f"The preview stopped: {type(exc).__name__}: {exc}")]
        return render(
            request, "recipes/preview.html", status_code=502, title=title, flashes=flashes, **context
        )
    writes = [
        (write, [(key, _text(value)) for key, value in write.fields.items()]) for write in planned.writes
    ]
    return render(request, "recipes/preview.html", title=title, planned=planned, writes=writes, **context)


def _reconcile(
    request: Request, viewer: Viewer, database: Database, name: str, flow: str, repair: bool
) -> Response:
    runnable = _runnable(request, viewer, database, name, flow, enabled=False)
    if isinstance(runnable, Response):
        return runnable
    found, bound, chosen = runnable
    title = f"Reconciliation of {flow}"
    context: dict[str, Any] = {"recipe": found.recipe, "flow": chosen, "repair": repair}
    try:
        drifts: list[Drift] = list(reconcile(_engine(request), bound, found.recipe, chosen, repair=repair))
    except IsaoError as exc:
        flashes = [("error", f"The comparison stopped: {type(exc).__name__}: {exc}")]
        return render(request, "recipes/reconcile.html", status_code=502, title=title, flashes=flashes,
                      drifts=None, **context)  # fmt: skip
    flashes = []
    if repair:
        with database.write() as session:
            audited(
                session,
                viewer,
                "recipe.repaired",
                f"Repaired {len(drifts)} differences of {name}/{flow}",
                target=("recipe", name),
            )
        noun = "difference" if len(drifts) == 1 else "differences"
        flashes.append(("ok", f"Repaired {len(drifts)} {noun}." if drifts else "Nothing needed repairing."))
    rows = [
        (drift, [(key, _text(want), _text(have)) for key, (want, have) in drift.fields.items()])
        for drift in drifts
    ]
    return render(request, "recipes/reconcile.html", title=title, drifts=rows, flashes=flashes, **context)


@router.get("/recipes/{name}/flows/{flow}/reconcile")
def reconcile_report(request: Request, name: str, flow: str, viewer: AsOperator, database: Db) -> Response:
    return _reconcile(request, viewer, database, name, flow, repair=False)


@router.post("/recipes/{name}/flows/{flow}/reconcile")
def reconcile_repair(request: Request, name: str, flow: str, viewer: AsOperator, database: Db) -> Response:
    return _reconcile(request, viewer, database, name, flow, repair=True)
