"""The ``isao`` command: serve the API and administer companies, users and API keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from isao.config import get_settings
from isao.crm import companies, keys
from isao.db import Database
from isao.db.migrate import upgrade
from isao.timeutil import format_iso

app = typer.Typer(help="ISAO: a self-hosted CRM and integration hub.", no_args_is_help=True)
companies_app = typer.Typer(help="Companies (tenants).", no_args_is_help=True)
users_app = typer.Typer(help="Users of a company (deal owners).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for the External API.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(companies_app, name="companies")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
console = Console()

DEMO_COMPANY = "Demo Company"


def _db() -> Database:
    settings = get_settings()
    url = settings.resolved_database_url()
    upgrade(url)
    return Database(url, pool_size=2)


def _company_id(db: Database, id_or_name: str) -> str:
    with db.read() as session:
        company = companies.find(session, id_or_name)
    if company is None:
        console.print(f"[red]No company with id or name {id_or_name!r}[/red] (see `isao companies list`)")
        raise typer.Exit(1)
    return company.id


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (``isao serve`` does this on start)."""
    settings = get_settings()
    upgrade(settings.resolved_database_url())
    console.print("Database is up to date.")


@companies_app.command("create")
def companies_create(name: Annotated[str, typer.Argument(help="Company name")]) -> None:
    db = _db()
    with db.write() as session:
        company = companies.create(session, name)
    console.print(f"Created company [bold]{company.name}[/bold]: {company.id}")


@companies_app.command("list")
def companies_list() -> None:
    db = _db()
    table = Table("id", "name", "created")
    with db.read() as session:
        for company in companies.list_(session):
            table.add_row(company.id, company.name, format_iso(company.created_at))
    console.print(table)


@users_app.command("create")
def users_create(
    company: Annotated[str, typer.Option(help="Company id or name")],
    name: Annotated[str, typer.Option(help="Full name")],
    email: Annotated[str, typer.Option(help="Email address")],
) -> None:
    db = _db()
    company_id = _company_id(db, company)
    with db.write() as session:
        user = companies.create_user(session, company_id, name, email)
    console.print(f"Created user {user.name} <{user.email}>: {user.id} (use as a deal's assignedToId)")


@users_app.command("list")
def users_list(company: Annotated[str, typer.Option(help="Company id or name")]) -> None:
    db = _db()
    company_id = _company_id(db, company)
    table = Table("id", "name", "email")
    with db.read() as session:
        for user in companies.list_users(session, company_id):
            table.add_row(user.id, user.name, user.email)
    console.print(table)


@keys_app.command("create")
def keys_create(
    company: Annotated[str, typer.Option(help="Company id or name")],
    scopes: Annotated[str, typer.Option(help=f"Comma-separated, or 'all': {', '.join(keys.SCOPES)}")] = "all",
    name: Annotated[str, typer.Option(help="A label for the key")] = "default",
) -> None:
    """Create a key. It is printed once and stored only as a hash."""
    try:
        scope_list = keys.parse_scopes(scopes)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    db = _db()
    company_id = _company_id(db, company)
    with db.write() as session:
        row, token = keys.create(session, company_id, name, scope_list)
    console.print(f"Created key {row.id} ({', '.join(row.scopes)}). Store it now, it is not shown again:")
    print(token)


@keys_app.command("list")
def keys_list(
    company: Annotated[str | None, typer.Option(help="Only this company (id or name)")] = None,
) -> None:
    db = _db()
    company_id = _company_id(db, company) if company else None
    table = Table("id", "company", "name", "prefix", "scopes", "created", "last used", "revoked")
    with db.read() as session:
        for row in keys.list_(session, company_id):
            table.add_row(
                row.id,
                row.company.name,
                row.name,
                row.prefix + "…",
                ", ".join(row.scopes),
                format_iso(row.created_at),
                format_iso(row.last_used_at) or "",
                format_iso(row.revoked_at) or "",
            )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="Key id (key_…)")]) -> None:
    db = _db()
    with db.write() as session:
        row = keys.revoke(session, key_id)
    if row is None:
        console.print(f"[red]No key {key_id}[/red]")
        raise typer.Exit(1)
    console.print(f"Revoked {key_id}; requests with it now answer 401.")


def ensure_demo(db: Database) -> tuple[str, str]:
    """The demo company with a sales user, and a fresh full-scope key (earlier demo keys are revoked)."""
    with db.write() as session:
        company = companies.find(session, DEMO_COMPANY) or companies.create(session, DEMO_COMPANY)
        if not companies.list_users(session, company.id):
            companies.create_user(session, company.id, "Sales Rep", "sales@demo.isao.local")
        for row in keys.list_(session, company.id):
            if row.name == "demo":
                keys.revoke(session, row.id)
        _, token = keys.create(session, company.id, "demo", list(keys.SCOPES))
        return company.id, token


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default ISAO_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default ISAO_PORT)")] = None,
    demo: Annotated[bool, typer.Option(help="Create the demo company and print a fresh API key")] = False,
) -> None:
    """Run the API server (migrations are applied first)."""
    import uvicorn

    from isao.api.app import create_app

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    api = create_app(settings)
    if demo:
        company_id, token = ensure_demo(api.state.db)
        base = f"http://{host}:{port}/api/external"
        console.print(
            f"\n[bold green]ISAO is starting[/bold green] on {base}\n"
            f"  Demo company: {DEMO_COMPANY} ({company_id})\n"
            f"  API key:      [bold]{token}[/bold]\n"
            f"  Docs:         http://{host}:{port}/docs\n\n"
            f'  Try: curl -H "Authorization: Bearer {token}" {base}/test\n'
        )
    uvicorn.run(api, host=host, port=port, log_level="info", access_log=False)


if __name__ == "__main__":
    app()
