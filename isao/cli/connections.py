"""``isao connections``: a company's accounts at providers, secrets encrypted at rest."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from isao import connections
from isao.cli.common import console, find_company, open_db
from isao.config import get_settings
from isao.timeutil import format_iso

app = typer.Typer(
    help="Connections to providers (WooCommerce, HubSpot, Zoho CRM, Shopify, Stripe).", no_args_is_help=True
)


@app.command("add")
def add(
    provider: Annotated[str, typer.Argument(help=", ".join(connections.PROVIDERS))],
    company: Annotated[str, typer.Option(help="Company id or name")],
    name: Annotated[str, typer.Option(help="A label, unique in the company")],
    webhook_secret: Annotated[
        str | None, typer.Option(help="The secret the provider signs webhooks with")
    ] = None,
) -> None:
    """Add a connection; prints the URL to give the provider for its webhooks."""
    db = open_db()
    company_id = find_company(db, company)
    secrets = {"webhook_secret": webhook_secret} if webhook_secret else {}
    try:
        with db.write() as session:
            row = connections.create(session, company_id, provider, name, secrets=secrets)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    settings = get_settings()
    console.print(f"Created connection {row.id} ({provider}).")
    console.print(f"Webhook delivery URL: http://{settings.host}:{settings.port}/hooks/{row.id}")


@app.command("list")
def list_(company: Annotated[str | None, typer.Option(help="Only this company (id or name)")] = None) -> None:
    db = open_db()
    company_id = find_company(db, company) if company else None
    table = Table("id", "provider", "name", "company", "created")
    with db.read() as session:
        for row in connections.list_(session, company_id):
            table.add_row(row.id, row.provider, row.name, row.company_id, format_iso(row.created_at))
    console.print(table)


@app.command("remove")
def remove(connection_id: Annotated[str, typer.Argument(help="Connection id (conn_…)")]) -> None:
    db = open_db()
    with db.write() as session:
        removed = connections.delete(session, connection_id)
    if not removed:
        console.print(f"[red]No connection {connection_id}[/red]")
        raise typer.Exit(1)
    console.print(f"Removed {connection_id} and the events received for it.")
