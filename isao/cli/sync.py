"""``isao recipes …`` (what can run, and for whom) and ``isao sync run`` (run a recipe now)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
import yaml
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.syntax import Syntax
from rich.table import Table
from sqlalchemy import func, select

from isao.cli.common import console, find_company, open_db, pairs
from isao.config import get_settings
from isao.db import Database
from isao.db.models import Job, RecipeBinding
from isao.errors import IsaoError
from isao.queue import jobs
from isao.runtime import Runtime
from isao.sync import backfill, bindings, catalog
from isao.sync.engine import RECORD
from isao.sync.preview import preview
from isao.sync.recipe import Flow, Recipe, RecipeError
from isao.sync.reconcile import reconcile
from isao.timeutil import utcnow

recipes_app = typer.Typer(help="Recipes: the integrations ISAO can run.", no_args_is_help=True)
sync_app = typer.Typer(help="Run a recipe now: incremental, backfill, or a dry run.", no_args_is_help=True)

CompanyOption = Annotated[str, typer.Option(help="Company id or name")]


def _recipe(name: str) -> Recipe:
    try:
        return catalog.get(name, get_settings().recipes_dir)
    except (KeyError, RecipeError) as exc:
        console.print(f"[red]{exc.args[0] if isinstance(exc, KeyError) else exc}[/red]")
        raise typer.Exit(2) from None


@recipes_app.command("list")
def list_() -> None:
    """Every recipe (shipped, then yours in ISAO_RECIPES_DIR) and the companies that enabled it."""
    db = open_db()
    with db.read() as session:
        enabled: dict[str, list[str]] = {}
        for binding in bindings.list_(session):
            state = "" if binding.enabled else " (disabled)"
            enabled.setdefault(binding.recipe, []).append(binding.company_id + state)
    table = Table("name", "title", "needs", "enabled for")
    for name, path in catalog.files(get_settings().recipes_dir).items():
        try:
            recipe = catalog.get(name, get_settings().recipes_dir)
        except RecipeError as exc:
            table.add_row(name, f"[red]does not load: {exc}[/red]", str(path), "")
            continue
        needs = ", ".join(f"{role}: {provider}" for role, provider in recipe.connections.items())
        table.add_row(name, recipe.title, needs, "\n".join(enabled.get(name, [])))
    console.print(table)


@recipes_app.command("show")
def show(name: Annotated[str, typer.Argument(help="Recipe name")]) -> None:
    """The recipe's YAML."""
    _recipe(name)
    path = catalog.files(get_settings().recipes_dir)[name]
    console.print(f"# {path}")
    console.print(Syntax(path.read_text(encoding="utf-8"), "yaml", word_wrap=True))


@recipes_app.command("enable")
def enable(
    name: Annotated[str, typer.Argument(help="Recipe name")],
    company: CompanyOption,
    connection: Annotated[
        list[str] | None, typer.Option(help="role=conn_… for each role the recipe names (repeat)")
    ] = None,
    option: Annotated[list[str] | None, typer.Option(help="name=value overriding a recipe option")] = None,
) -> None:
    """Bind the recipe's roles to the company's connections; its webhooks and polls start to run."""
    recipe = _recipe(name)
    db = open_db()
    company_id = find_company(db, company)
    try:
        with db.write() as session:
            binding = bindings.enable(
                session,
                company_id,
                recipe,
                pairs(connection, "--connection"),
                pairs(option, "--option", yaml.safe_load),
            )
            binding_id = binding.id
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"Enabled {name} for {company} ({binding_id}).")
    for flow in recipe.flows:
        triggers = [*flow.trigger.webhook, *([f"poll {flow.trigger.poll}"] if flow.trigger.poll else [])]
        console.print(f"  flow {flow.name}: {flow.source.object} on {', '.join(triggers) or 'demand'}")


@recipes_app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="Recipe name")], company: CompanyOption) -> None:
    """Stop routing its webhooks and running its polls (its ID map and cursors are kept)."""
    db = open_db()
    company_id = find_company(db, company)
    with db.write() as session:
        binding = bindings.get(session, company_id, name)
        if binding is None:
            console.print(f"[red]{name} is not enabled for {company}[/red]")
            raise typer.Exit(1)
        bindings.disable(session, binding)
    console.print(f"Disabled {name} for {company}.")


def _binding(db: Database, company: str, recipe: Recipe) -> RecipeBinding:
    company_id = find_company(db, company)
    with db.read() as session:
        binding = bindings.get(session, company_id, recipe.name)
        if binding is None:
            console.print(f"[red]{recipe.name} is not enabled for {company}[/red] (`isao recipes enable`)")
            raise typer.Exit(1)
        session.expunge(binding)
    return binding


@sync_app.command("run")
def run(
    name: Annotated[str, typer.Argument(help="Recipe name")],
    company: CompanyOption,
    flow_name: Annotated[str | None, typer.Option("--flow", help="Only this flow (default: all)")] = None,
    backfill_all: Annotated[bool, typer.Option("--backfill", help="Everything the source holds")] = False,
    since: Annotated[str | None, typer.Option(help="Records changed since this ISO 8601 time")] = None,
    dry_run: Annotated[bool, typer.Option(help="Print the writes it would make; change nothing")] = False,
    limit: Annotated[int, typer.Option(help="Records a dry run looks at")] = 20,
    workers: Annotated[int, typer.Option(help="Worker threads working the jobs in this process")] = 4,
    restart: Annotated[bool, typer.Option(help="Start the backfill over instead of resuming it")] = False,
    batch: Annotated[
        bool, typer.Option("--batch", help="Backfill pages of 100 through the destination's batch endpoints")
    ] = False,
) -> None:
    """Run a recipe now. Without --backfill or --since, one incremental poll from the stored cursor.
    A backfill resumes where an interrupted one stopped; jobs run here (and in any other worker)."""
    recipe = _recipe(name)
    flows = [f for f in recipe.flows if flow_name in (None, f.name)]
    if not flows:
        console.print(
            f"[red]{name} has no flow {flow_name!r}[/red] ({', '.join(f.name for f in recipe.flows)})"
        )
        raise typer.Exit(2)
    runtime = Runtime(get_settings(), open_db())
    binding = _binding(runtime.db, company, recipe)
    try:
        for flow in flows:
            if dry_run:
                _dry_run(runtime, binding, recipe, flow, since, limit)
            elif backfill_all or since:
                _backfill(runtime, binding, flow, since, workers, restart, batch)
            else:
                _poll(runtime, binding, flow, workers)
    except IsaoError as exc:
        console.print(f"[red]{type(exc).__name__}: {exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        runtime.close()


def _dry_run(
    runtime: Runtime, binding: RecipeBinding, recipe: Recipe, flow: Flow, since: str | None, limit: int
) -> None:
    table = Table(
        "source", "step", "would", "target", "fields", title=f"{recipe.name} / {flow.name} (dry run)"
    )
    planned = preview(runtime.engine, binding, recipe, flow, since, limit)
    for write in planned.writes:
        fields = ", ".join(f"{k}={v!r}" for k, v in write.fields.items())
        table.add_row(write.source_id, write.step, write.action, write.target_id or "", fields)
    console.print(table)
    console.print(f"{planned.records} source records looked at; nothing was written.")


def _backfill(
    runtime: Runtime, binding: RecipeBinding, flow: Flow, since: str | None, workers: int, restart: bool,
    batch: bool = False,
) -> None:  # fmt: skip
    run = backfill.start(runtime.db, binding, flow, since, restart=restart)
    if run.cursor:
        console.print(
            f"Resuming backfill {run.id} of {flow.name} after {run.counts.get('enqueued', 0)} records."
        )
    pool = runtime.pool(workers) if workers else None
    if pool is not None:
        pool.start()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console) as progress:
            reading = progress.add_task(f"{flow.name}: reading", total=None)
            working = progress.add_task(f"{flow.name}: synced", total=None)
            enqueued = run.counts.get("enqueued", 0)
            for step in backfill.pages(runtime.engine, binding, flow, run, batch=batch):
                enqueued = step.enqueued
                progress.update(reading, completed=step.pages, description=f"{flow.name}: pages read")
                _show(progress, working, runtime, run.id, enqueued)
            progress.update(reading, total=progress.tasks[reading].completed)
            while pool is not None and not _settled(runtime, run.id, progress, working, enqueued):
                time.sleep(0.5)
    except KeyboardInterrupt:
        backfill.interrupt(runtime.db, run.id)
        console.print(
            f"[yellow]Interrupted: `isao sync run {binding.recipe} --backfill` resumes {run.id}.[/yellow]"
        )
        raise typer.Exit(130) from None
    finally:
        if pool is not None:
            pool.stop()
    _report(runtime, run.id)


def _show(progress: Progress, task: Any, runtime: Runtime, run_id: str, enqueued: int) -> dict[str, int]:
    states = backfill.outcome(runtime.db, run_id)
    progress.update(task, total=enqueued, completed=states.get(jobs.DONE, 0) + states.get(jobs.DEAD, 0))
    return states


def _settled(runtime: Runtime, run_id: str, progress: Progress, task: Any, enqueued: int) -> bool:
    states = _show(progress, task, runtime, run_id, enqueued)
    return states.get(jobs.QUEUED, 0) + states.get(jobs.RUNNING, 0) == 0


def _report(runtime: Runtime, run_id: str) -> None:
    states = backfill.outcome(runtime.db, run_id)
    waiting = states.get(jobs.QUEUED, 0) + states.get(jobs.RUNNING, 0)
    line = f"Run {run_id}: {states.get(jobs.DONE, 0)} synced, {states.get(jobs.DEAD, 0)} dead"
    if waiting:
        line += f", {waiting} waiting for a worker (`isao worker`)"
    console.print(line + (" (see `isao dlq list`)." if states.get(jobs.DEAD) else "."))


def _poll(runtime: Runtime, binding: RecipeBinding, flow: Flow, workers: int) -> None:
    with runtime.db.write() as session:
        queued = bindings.poll_now(session, binding, flow.name)
    console.print(f"Queued an incremental poll of {flow.name} ({queued.id}).")
    if not workers:
        return
    with runtime.pool(workers):
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and _busy(runtime):
            time.sleep(0.5)
    console.print("Done: the poll and the records it found have been worked.")


def _busy(runtime: Runtime) -> bool:
    """Sync work is due or in hand (retries scheduled later do not keep the command waiting)."""
    with runtime.db.read() as session:
        waiting = session.scalar(
            select(func.count()).select_from(Job).where(
                Job.kind.in_([bindings.POLL, RECORD]), Job.status.in_([jobs.QUEUED, jobs.RUNNING]),
                Job.run_at <= utcnow(),
            )
        )  # fmt: skip
    return bool(waiting)


def reconcile_command(
    name: Annotated[str, typer.Argument(help="Recipe name")],
    company: CompanyOption,
    repair: Annotated[
        bool, typer.Option(help="Write the missing and different records, drop orphaned links")
    ] = False,
    flow_name: Annotated[str | None, typer.Option("--flow", help="Only this flow (default: all)")] = None,
) -> None:
    """Compare both sides of a recipe and report the drift: missing, different, orphaned."""
    recipe = _recipe(name)
    runtime = Runtime(get_settings(), open_db())
    binding = _binding(runtime.db, company, recipe)
    table = Table("flow", "step", "drift", "source", "target", "fields (wanted ≠ found)", "repaired")
    found = 0
    try:
        for flow in recipe.flows:
            if flow_name not in (None, flow.name):
                continue
            with console.status(f"Comparing {flow.name}…"):
                for drift in reconcile(runtime.engine, binding, recipe, flow, repair=repair):
                    found += 1
                    fields = "; ".join(
                        f"{k}: {want!r} ≠ {have!r}" for k, (want, have) in drift.fields.items()
                    )
                    table.add_row(drift.flow, drift.step, drift.kind, drift.source_id, drift.target_id or "",
                                  fields, "yes" if drift.repaired else "")  # fmt: skip
    except IsaoError as exc:
        console.print(f"[red]{type(exc).__name__}: {exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        runtime.close()
    if not found:
        console.print(f"[green]No drift:[/green] both sides of {name} agree.")
        return
    console.print(table)
    noun, them = ("difference", "it") if found == 1 else ("differences", "them")
    console.print(f"{found} {noun}" + (", repaired." if repair else f"; `--repair` fixes {them}."))
