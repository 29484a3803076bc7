"""Companies, users and API keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from isao.cli.common import console, find_company, id_column, open_db
from isao.cli.errors import found
from isao.crm import companies, keys
from isao.dashboard import admins
from isao.timeutil import format_iso

companies_app = typer.Typer(help="Companies (tenants).", no_args_is_help=True)
users_app = typer.Typer(help="Users of a company (deal owners).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for the External API.", no_args_is_help=True)
admin_app = typer.Typer(help="Dashboard logins.", no_args_is_help=True)


@companies_app.command("create")
def companies_create(name: Annotated[str, typer.Argument(help="Company name")]) -> None:
    db = open_db()
    with db.write() as session:
        company = companies.create(session, name)
    console.print(f"Created company [bold]{company.name}[/bold]: {company.id}")


@companies_app.command("list")
def companies_list() -> None:
    db = open_db()
    table = Table(id_column(), "name", "created")
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
    db = open_db()
    company_id = find_company(db, company)
    with db.write() as session:
        user = companies.create_user(session, company_id, name, email)
    console.print(f"Created user {user.name} <{user.email}>: {user.id} (use as a deal's assignedToId)")


@users_app.command("list")
def users_list(company: Annotated[str, typer.Option(help="Company id or name")]) -> None:
    db = open_db()
    company_id = find_company(db, company)
    table = Table(id_column(), "name", "email")
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
    db = open_db()
    company_id = find_company(db, company)
    with db.write() as session:
        row, token = keys.create(session, company_id, name, scope_list)
    console.print(f"Created key {row.id} ({', '.join(row.scopes)}). Store it now, it is not shown again:")
    print(token)


@keys_app.command("list")
def keys_list(
    company: Annotated[str | None, typer.Option(help="Only this company (id or name)")] = None,
) -> None:
    db = open_db()
    company_id = find_company(db, company) if company else None
    table = Table(id_column(), "company", "name", "prefix", "scopes", "created", "last used", "revoked")
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
    db = open_db()
    with db.write() as session:
        found(keys.revoke(session, key_id), "key", key_id, "See `isao keys list`.")
    console.print(f"Revoked {key_id}; requests with it now answer 401.")


def _password(given: str | None) -> str:
    return given or typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Option(help="The login")],
    company: Annotated[
        str | None, typer.Option(help="Company id or name the admin sees (default: the only company)")
    ] = None,
    password: Annotated[
        str | None, typer.Option(envvar="ISAO_ADMIN_PASSWORD", help="Prompted for when not given")
    ] = None,
    role: Annotated[str, typer.Option(help="owner, admin, operator or viewer")] = "owner",
) -> None:
    """Create a dashboard login for one company (creating the company when the installation has none)."""
    db = open_db()
    if company:
        company_id = find_company(db, company)
    else:
        with db.write() as session:
            existing = companies.list_(session)
            if len(existing) > 1:
                console.print("[red]Several companies exist; say which with --company[/red]")
                raise typer.Exit(2)
            company_id = existing[0].id if existing else companies.create(session, "My Company").id
    secret = _password(password)
    try:
        with db.write() as session:
            row = admins.create(session, company_id, email, secret, role)
            email, name = row.email, row.company.name
    except admins.AdminError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"Created {role} {email} for {name}. Log in at the server's /login page.")


@admin_app.command("password")
def admin_password(
    email: Annotated[str, typer.Option(help="The login")],
    password: Annotated[
        str | None, typer.Option(envvar="ISAO_ADMIN_PASSWORD", help="Prompted for when not given")
    ] = None,
) -> None:
    """Set a new password for an admin."""
    db = open_db()
    try:
        with db.write() as session:
            row = admins.set_password(session, email, _password(password))
    except admins.AdminError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    found(row, "admin", email, "See `isao admin list`.")
    console.print(f"Password changed for {email}.")


@admin_app.command("list")
def admin_list() -> None:
    db = open_db()
    table = Table("email", "company", "role", "created", "last login")
    with db.read() as session:
        for row in admins.list_(session):
            table.add_row(
                row.email,
                row.company.name,
                row.role,
                format_iso(row.created_at),
                format_iso(row.last_login_at) or "",
            )
    console.print(table)
