"""The ``isao`` command: ``serve`` and ``worker``, and the administration sub-commands."""

from __future__ import annotations

from typing import Annotated

import typer

from isao.cli import admin, connections, demo, queue, sandbox, sync
from isao.cli.common import console
from isao.cli.demo_company import DEMO_COMPANY, ensure_demo, ensure_demo_admin
from isao.cli.errors import Commands
from isao.config import get_settings
from isao.db.migrate import upgrade

app = typer.Typer(cls=Commands, help="ISAO: a self-hosted CRM and integration hub.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(admin.companies_app, name="companies")
app.add_typer(admin.users_app, name="users")
app.add_typer(admin.keys_app, name="keys")
app.add_typer(admin.admin_app, name="admin")
app.add_typer(connections.app, name="connections")
app.add_typer(queue.dlq_app, name="dlq")
app.add_typer(queue.schedules_app, name="schedules")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(sync.recipes_app, name="recipes")
app.add_typer(sync.sync_app, name="sync")
app.command("reconcile")(sync.reconcile_command)
app.add_typer(db_app, name="db")
app.command("worker")(queue.worker)
app.command("demo")(demo.demo)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (``isao serve`` does this on start)."""
    settings = get_settings()
    upgrade(settings.resolved_database_url())
    console.print("Database is up to date.")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default ISAO_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default ISAO_PORT)")] = None,
    demo: Annotated[bool, typer.Option(help="Create the demo company and print a fresh API key")] = False,
    workers: Annotated[
        bool, typer.Option(help="Run queue workers in this process (ISAO_WORKERS threads)")
    ] = True,
    sandboxes: Annotated[
        bool,
        typer.Option(help="Also serve the provider sandboxes on their local ports (as `isao sandbox up`)"),
    ] = False,
) -> None:
    """Run the API server and, unless --no-workers, the queue's workers (migrations are applied first)."""
    import uvicorn

    from isao.api.app import create_app

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    api = create_app(settings, workers=None if workers else 0)
    if demo:
        company_id, token = ensure_demo(api.state.db)
        email, password = ensure_demo_admin(api.state.db, company_id)
        base = f"http://{host}:{port}/api/external"
        console.print(
            f"\n[bold green]ISAO is starting[/bold green] on {base}\n"
            f"  Demo company: {DEMO_COMPANY} ({company_id})\n"
            f"  API key:      [bold]{token}[/bold]\n"
            f"  Dashboard:    http://{host}:{port}/\n"
            f"  Log in as:    {email} / [bold]{password}[/bold]\n"
            f"  Docs:         http://{host}:{port}/docs\n\n"
            f'  Try: curl -H "Authorization: Bearer {token}" {base}/test\n'
        )
    if sandboxes:
        sandbox.describe(sandbox.start_in_background())
    uvicorn.run(api, host=host, port=port, log_level="info", access_log=False)


if __name__ == "__main__":
    app()
