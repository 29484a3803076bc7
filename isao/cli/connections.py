"""``isao connections``: a company's accounts at providers, secrets encrypted at rest."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from isao import connections
from isao.cli.common import console, find_company, id_column, open_db, pairs
from isao.cli.errors import Missing, found
from isao.config import get_settings
from isao.connectors import catalog
from isao.db.models import Connection
from isao.sandbox.runner import sandbox_class
from isao.timeutil import format_iso

app = typer.Typer(
    help="Connections to providers (WooCommerce, HubSpot, Zoho CRM, Shopify, Stripe).", no_args_is_help=True
)


_LIST = "See `isao connections list`."


def _stored(session: Session, connection_id: str) -> Connection:
    return found(connections.get(session, connection_id), "connection", connection_id, _LIST)


@app.command("add")
def add(
    provider: Annotated[str, typer.Argument(help=", ".join(connections.PROVIDERS))],
    company: Annotated[str, typer.Option(help="Company id or name")],
    name: Annotated[str, typer.Option(help="A label, unique in the company")],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="A setting as name=value (repeat); `isao connections settings` lists them"
        ),
    ] = None,
    sandbox: Annotated[
        bool, typer.Option(help="Fill the settings from the local sandbox's credentials (`isao sandbox up`)")
    ] = False,
    webhook_secret: Annotated[
        str | None, typer.Option(help="The secret the provider signs webhooks with")
    ] = None,
) -> None:
    """Add a connection; prints the URL to give the provider for its webhooks."""
    given = connections.known_settings(provider, sandbox_class(provider)().credentials()) if sandbox else {}
    given |= pairs(set_, "--set")
    if webhook_secret:
        given["webhook_secret"] = webhook_secret
    try:
        plain, secrets = connections.new_settings(provider, given)
        db = open_db()
        company_id = find_company(db, company)
        with db.write() as session:
            row = connections.create(session, company_id, provider, name, config=plain, secrets=secrets)
    except (ValueError, KeyError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    settings = get_settings()
    console.print(f"Created connection {row.id} ({provider}).")
    console.print(f"Webhook delivery URL: http://{settings.host}:{settings.port}/hooks/{row.id}")


@app.command("settings")
def settings_(provider: Annotated[str, typer.Argument(help=", ".join(catalog.MODULES))]) -> None:
    """The settings a connection to ``provider`` takes."""
    table = Table("name", "secret", "required", "default", "meaning")
    try:
        for setting in catalog.settings(provider):
            table.add_row(
                setting.name,
                "yes" if setting.secret else "",
                "yes" if setting.required else "",
                setting.default or "",
                setting.help,
            )
    except KeyError as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from None
    console.print(table)


@app.command("list")
def list_(company: Annotated[str | None, typer.Option(help="Only this company (id or name)")] = None) -> None:
    db = open_db()
    company_id = find_company(db, company) if company else None
    table = Table(id_column(), "provider", "name", "company", "created")
    with db.read() as session:
        for row in connections.list_(session, company_id):
            table.add_row(row.id, row.provider, row.name, row.company_id, format_iso(row.created_at))
    console.print(table)


@app.command("set")
def set_settings(
    connection_id: Annotated[str, typer.Argument(help="Connection id (conn_…)")],
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="A setting as name=value (repeat); the others are kept")
    ] = None,
    webhook_secret: Annotated[
        str | None, typer.Option(help="The secret the provider signs webhooks with")
    ] = None,
) -> None:
    """Change settings or rotate secrets, e.g. the webhook secret once the provider has shown it."""
    given = pairs(set_, "--set") | ({"webhook_secret": webhook_secret} if webhook_secret else {})
    if not given:
        console.print("[red]Nothing to change:[/red] give --set name=value or --webhook-secret")
        raise typer.Exit(2)
    db = open_db()
    with db.write() as session:
        row = _stored(session, connection_id)
        try:
            connections.update(row, given)
        except ValueError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    console.print(f"Updated {connection_id}: {', '.join(sorted(given))}.")


@app.command("show")
def show(connection_id: Annotated[str, typer.Argument(help="Connection id (conn_…)")]) -> None:
    """Settings, the names of the stored secrets (never their values) and the webhook URL."""
    db = open_db()
    with db.read() as session:
        row = _stored(session, connection_id)
        stored = connections.secrets(row)
        console.print(f"{row.id}  {row.provider}  {row.name!r}  company {row.company_id}")
        for key, value in sorted(row.config.items()):
            console.print(f"  {key} = {value}")
    for key in sorted(stored):
        console.print(f"  {key} = ******** (encrypted)")
    settings = get_settings()
    console.print(f"Webhook delivery URL: http://{settings.host}:{settings.port}/hooks/{connection_id}")


@app.command("test")
def test(connection_id: Annotated[str, typer.Argument(help="Connection id (conn_…)")]) -> None:
    """One authenticated call to the provider (refreshing the OAuth token if it is due)."""
    db = open_db()
    try:
        result = connections.check(db, connection_id)
    except (LookupError, KeyError) as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(1) from None
    if result.ok:
        console.print(f"[green]OK[/green] {result.message}")
        return
    console.print(f"[red]{result.error}[/red]: {result.message}")
    if result.response:
        console.print(f"  answered {result.response.get('status')}: {result.response.get('body')}")
    raise typer.Exit(1)


@app.command("remove")
def remove(connection_id: Annotated[str, typer.Argument(help="Connection id (conn_…)")]) -> None:
    db = open_db()
    with db.write() as session:
        removed = connections.delete(session, connection_id)
    if not removed:
        raise Missing("connection", connection_id, _LIST)
    console.print(f"Removed {connection_id} and the events received for it.")
