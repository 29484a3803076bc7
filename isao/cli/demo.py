"""``isao demo``: ISAO and the provider sandboxes in one process, the shipped recipes enabled for the demo
company, a few WooCommerce orders, and a live table of them arriving in the CRMs.

Everything lives under ``ISAO_DATA_DIR``, the sandboxes' records included (``sandboxes/``), so a second run
continues the first: ISAO's ID map and the sandboxes' records stay in step, and nothing is set up twice."""

from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Annotated, cast

import typer

from isao import connections
from isao.cli import demo_servers, demo_setup, demo_watch
from isao.cli.common import console
from isao.cli.demo_company import DEMO_COMPANY, ensure_demo, ensure_demo_admin
from isao.config import Settings, get_settings
from isao.connectors.base import RecordApi
from isao.db import Database
from isao.errors import ProviderError
from isao.timeutil import utcnow


def demo(
    orders: Annotated[
        int, typer.Option(min=1, max=100, help="Orders to create in the WooCommerce sandbox")
    ] = 5,
    port: Annotated[int | None, typer.Option(help="ISAO's port (default ISAO_PORT)")] = None,
    port_offset: Annotated[
        int, typer.Option(help="Add this to every port, ISAO's and the sandboxes' (run beside another set)")
    ] = 0,
    exit_: Annotated[
        bool,
        typer.Option(
            "--exit", help="Stop once the orders arrived; exit 1 with what is missing after --timeout"
        ),
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the orders to arrive")] = 180,
) -> None:
    """Start ISAO and the sandboxes, enable the recipes, create WooCommerce orders and watch them arrive."""
    from isao.api.app import create_app

    signal.signal(signal.SIGTERM, _interrupt)  # stop as cleanly on `kill` as on Ctrl-C
    settings = _settings(port, port_offset)
    api = create_app(settings)
    try:
        servers = demo_servers.start(api, settings.port, port_offset, settings.data_dir / "sandboxes")
    except (demo_servers.PortInUse, RuntimeError) as exc:
        console.print(f"[red]Cannot start: {exc}[/red] (is `isao serve` or `isao sandbox up` running? "
                      "Try --port-offset 100)")  # fmt: skip
        raise typer.Exit(1) from None
    try:
        company_id, token = ensure_demo(api.state.db)
        login = ensure_demo_admin(api.state.db, company_id)
        setup = demo_setup.prepare(api.state.db, company_id, servers.isao_url, servers.sandboxes,
                                   settings.recipes_dir)  # fmt: skip
        _banner(servers, DEMO_COMPANY, company_id, token, login, setup)
        arrived = _run(api.state.db, company_id, setup, orders, timeout)
        if exit_:
            raise typer.Exit(0 if arrived else 1)
        _serve(servers, token)
    except (ProviderError, demo_watch.OutOfStock) as exc:
        console.print(f"[red]{type(exc).__name__}: {exc}[/red]")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("Stopping.")
    finally:
        servers.stop()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _settings(port: int | None, port_offset: int) -> Settings:
    """The embedded default on 127.0.0.1; quieter logs (unless ISAO_LOG_LEVEL says otherwise), so the table
    stays readable."""
    settings = get_settings()
    update: dict[str, object] = {"host": demo_servers.HOST, "port": (port or settings.port) + port_offset}
    if "log_level" not in settings.model_fields_set:
        update["log_level"] = "WARNING"
    return settings.model_copy(update=update)


def _banner(
    servers: demo_servers.Servers,
    company: str,
    company_id: str,
    token: str,
    login: tuple[str, str],
    setup: demo_setup.Setup,
) -> None:
    api = f"{servers.isao_url}/api/external"
    console.print(
        f"\n[bold green]ISAO demo[/bold green]: ISAO and the provider sandboxes on {demo_servers.HOST}"
    )
    console.print(f"  ISAO API:     {api}  (docs {servers.isao_url}/docs)")
    console.print(f"  Demo company: {company} ({company_id})")
    console.print(f"  API key:      [bold]{token}[/bold]")
    console.print(f"  Dashboard:    {servers.isao_url}/")
    console.print(f"  Log in as:    {login[0]} / [bold]{login[1]}[/bold]")
    for provider, box in servers.sandboxes.items():
        console.print(f"  {demo_setup.TITLES[provider] + ' sandbox:':<21}{box.base_url}")
    console.print("Connections: " + ", ".join(f"{p} {c}" for p, c in setup.connections.items()))
    console.print("Recipes enabled: " + (", ".join(e.recipe.name for e in setup.enabled) or "none"))
    for line in setup.skipped:
        console.print(f"  [yellow]not enabled[/yellow] {line}")
    console.print("Webhooks:")
    for line in setup.hooks:
        console.print(f"  {line}")


def _run(database: Database, company_id: str, setup: demo_setup.Setup, count: int, timeout: float) -> bool:
    """Create the orders and watch them; print whether every one arrived, and what is missing if not."""
    shop_id = setup.connections["woocommerce"]
    wanted = demo_watch.columns(setup.enabled, shop_id)
    if not wanted:
        console.print("[yellow]No enabled recipe reads the shop's orders: nothing to watch.[/yellow]")
        return True
    since, started = utcnow(), time.monotonic()
    shop = cast(RecordApi, connections.open_client(database, shop_id))
    try:
        created = demo_watch.create_orders(shop, count)
    finally:
        shop.close()
    console.print(f"Created {len(created)} orders in the WooCommerce sandbox; watching them arrive…")
    journeys = demo_watch.watch(database, company_id, shop_id, created, wanted, since, timeout)
    if all(journey.arrived for journey in journeys):
        made = ", ".join(f"{len(journeys)} {column.title}s" for column in wanted)
        took = time.monotonic() - started
        console.print(f"[green]All {len(journeys)} orders arrived[/green] in {took:.1f} s: {made}.")
        return True
    done = sum(journey.arrived for journey in journeys)
    console.print(f"[red]{done} of {len(journeys)} orders arrived[/red]; missing:")
    for line in demo_watch.missing(journeys):
        console.print(f"  {line}")
    if any(journey.errors for journey in journeys):
        console.print("See `isao dlq list` and `isao dlq show job_…` for the dead letters.")
    return False


def _serve(servers: demo_servers.Servers, key: str) -> None:
    """Print what to try next, then keep serving until Ctrl-C."""
    api, boxes = f"{servers.isao_url}/api/external", servers.sandboxes
    woo, hub, zoho = (boxes[p].credentials() for p in ("woocommerce", "hubspot", "zohocrm"))
    token = (
        f"curl -s -X POST '{zoho['accounts_url']}/oauth/v2/token?grant_type=refresh_token"
        f"&client_id={zoho['client_id']}&client_secret={zoho['client_secret']}"
        f"&refresh_token={zoho['refresh_token']}' | python3 -c "
        """'import json,sys; print(json.load(sys.stdin)["access_token"])'"""
    )
    order = (
        '{"status":"processing","billing":{"first_name":"Hedy","last_name":"Lamarr",'
        '"email":"hedy@example.com"},"line_items":[{"product_id":10,"quantity":1}]}'
    )
    lines = [
        f'curl -s -H "Authorization: Bearer {key}" "{api}/deals?limit=5"',
        f"curl -s -u {woo['consumer_key']}:{woo['consumer_secret']} -X POST "
        f"{woo['base_url']}/wp-json/wc/v3/orders -H 'Content-Type: application/json' -d '{order}'",
        f"curl -s '{hub['base_url']}/crm/v3/objects/deals?properties=dealname,amount,dealstage' "
        f"-H 'Authorization: Bearer {hub['access_token']}'",
        f"TOKEN=$({token})",
        f"curl -s '{zoho['base_url']}/crm/v4/Deals?fields=Deal_Name,Amount,Stage' "
        '-H "Authorization: Zoho-oauthtoken $TOKEN"',
        f"curl -s {woo['base_url']}/_sandbox/deliveries    # the webhooks the shop sent to ISAO",
        "isao dlq list    # what failed, and why",
    ]
    console.print(
        "\nServing until Ctrl-C. Try:",
        *(f"  {line}" for line in lines),
        sep="\n",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
    while True:
        time.sleep(3600)
