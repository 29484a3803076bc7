"""``isao demo``'s orders, and the live view of their journey: for each order, the webhook ISAO received, the
state of its sync jobs and the record each recipe made of it, read from ISAO's own inbound events, jobs and
ID map (what the dashboard will show, not what the demo believes it did)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from rich.live import Live
from rich.table import Table
from sqlalchemy import select

from isao.cli.common import console
from isao.cli.demo_setup import TITLES, Enabled
from isao.connectors.base import RecordApi
from isao.db import Database
from isao.db.models import IdLink, InboundEvent, Job
from isao.queue import jobs
from isao.sync.engine import RECORD

BUYERS = (
    ("Ada", "Lovelace", "Analytical Engines Ltd"),
    ("Grace", "Hopper", ""),
    ("Alan", "Turing", "Bletchley Computing"),
    ("Katherine", "Johnson", ""),
    ("Edsger", "Dijkstra", ""),
    ("Margaret", "Hamilton", "Apollo Software"),
    ("Hedy", "Lamarr", ""),
)


class OutOfStock(Exception):
    pass


def create_orders(shop: RecordApi, count: int) -> list[dict[str, Any]]:
    """``count`` paid orders of the sandbox's products in stock, through the WooCommerce connector."""
    products = [p for p in shop.list_changed("products").records if p.get("stock_status") == "instock"]
    if not products:
        raise OutOfStock("the WooCommerce sandbox has no product in stock")
    orders = []
    for n in range(count):
        first, last, company = BUYERS[n % len(BUYERS)]
        billing = {"first_name": first, "last_name": last, "email": f"{first}.{last}@example.com".lower(),
                   "company": company, "city": "Paris", "country": "FR"}  # fmt: skip
        lines = [{"product_id": products[n % len(products)]["id"], "quantity": 1 + n % 3}]
        orders.append(
            shop.create("orders", {"status": "processing", "billing": billing, "line_items": lines})
        )
    return orders


RETRYING = "retrying"
GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Column:
    """A record a demo order should become: the last step of a recipe's flow over the shop's orders."""

    title: str
    binding_id: str
    flow: str
    step: str


def columns(enabled: list[Enabled], shop_id: str) -> list[Column]:
    found: list[Column] = []
    for item in enabled:
        for flow in item.recipe.flows:
            if item.roles[flow.source.connection] != shop_id or "order.created" not in flow.trigger.webhook:
                continue
            last = flow.steps[-1]
            title = f"{TITLES.get(item.recipe.connections[last.target.connection], '?')} {last.name}"
            if any(column.title == title for column in found):
                title += f" ({item.recipe.name})"
            found.append(Column(title, item.binding_id, flow.name, last.name))
    return found


@dataclass
class Journey:
    order: dict[str, Any]
    webhooks: list[str] = field(default_factory=list)
    jobs: Counter[str] = field(default_factory=Counter)
    targets: dict[Column, str | None] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.order["id"])

    @property
    def arrived(self) -> bool:
        return all(self.targets.values())

    @property
    def pending(self) -> int:
        """Jobs waiting or running (a retry included)."""
        return self.jobs[jobs.QUEUED] + self.jobs[RETRYING] + self.jobs[jobs.RUNNING]

    @property
    def settled(self) -> bool:
        """Arrived, or stopped short by a dead job with nothing left to run."""
        return self.arrived or (self.jobs[jobs.DEAD] > 0 and not self.pending)


def snapshot(
    db: Database, company_id: str, shop_id: str, orders: list[dict[str, Any]], wanted: list[Column],
    since: datetime,
) -> list[Journey]:  # fmt: skip
    journeys = {str(order["id"]): Journey(order, targets=dict.fromkeys(wanted)) for order in orders}
    flows = {(column.binding_id, column.flow) for column in wanted}
    with db.read() as session:
        events = session.execute(
            select(InboundEvent.topic, InboundEvent.body).where(
                InboundEvent.connection_id == shop_id, InboundEvent.received_at >= since
            )
        ).all()
        queued = session.execute(
            select(Job.id, Job.payload, Job.status, Job.attempts, Job.last_error).where(
                Job.kind == RECORD, Job.company_id == company_id, Job.created_at >= since
            )
        ).all()
        links = session.execute(
            select(IdLink.binding_id, IdLink.step, IdLink.source_id, IdLink.target_id).where(
                IdLink.source_connection == shop_id,
                IdLink.source_object == "orders",
                IdLink.source_id.in_(list(journeys)),
            )
        ).all()
    for topic, body in events:
        record = _json(body)
        if record is not None and str(record.get("id")) in journeys and str(topic).startswith("order."):
            journeys[str(record["id"])].webhooks.append(str(topic))
    for job_id, payload, status, attempts, error in queued:
        journey = journeys.get(str(payload.get("id")))
        if journey is None or (payload.get("binding_id"), payload.get("flow")) not in flows:
            continue
        journey.jobs[RETRYING if status == jobs.QUEUED and attempts else status] += 1
        if status == jobs.DEAD:
            journey.errors.append(f"job {job_id} dead: {error}")
    for binding_id, step, source_id, target_id in links:
        for column in wanted:
            if (column.binding_id, column.step) == (binding_id, step):
                journeys[source_id].targets[column] = target_id
    return list(journeys.values())


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def render(journeys: list[Journey], wanted: list[Column]) -> Table:
    table = Table(title="Demo orders: WooCommerce → ISAO → destinations")
    for header in ("order", "webhook", "sync jobs", *(column.title for column in wanted)):
        table.add_column(header, no_wrap=True)
    for journey in journeys:
        order, billing = journey.order, journey.order.get("billing") or {}
        label = (
            f"#{order.get('number') or order['id']} {billing.get('first_name')} {billing.get('last_name')}"
        )
        webhooks = ", ".join(sorted(set(journey.webhooks))) or "[dim]waiting[/dim]"
        states = (
            ", ".join(f"{n} {state}" for state, n in sorted(journey.jobs.items())) or "[dim]none yet[/dim]"
        )
        if journey.jobs[jobs.DEAD]:
            states = f"[red]{states}[/red]"
        cells = [
            target or ("[red]—[/red]" if journey.settled else "[dim]…[/dim]")
            for target in journey.targets.values()
        ]
        table.add_row(label, webhooks, states, *cells)
    return table


def watch(
    db: Database, company_id: str, shop_id: str, orders: list[dict[str, Any]], wanted: list[Column],
    since: datetime, timeout: float,
) -> list[Journey]:  # fmt: skip
    """Refresh the table until every order arrived (or stopped at a dead job), or ``timeout`` seconds; once
    they arrived, a few seconds more for the jobs still in hand (a second webhook for one order), so the
    last table shows them done."""
    deadline, grace = time.monotonic() + timeout, None
    journeys = snapshot(db, company_id, shop_id, orders, wanted, since)
    with Live(render(journeys, wanted), console=console, refresh_per_second=4) as live:
        while time.monotonic() < deadline:
            if all(journey.settled for journey in journeys):
                grace = grace or time.monotonic() + GRACE_SECONDS
                if time.monotonic() > grace or not any(journey.pending for journey in journeys):
                    break
            time.sleep(0.5)
            journeys = snapshot(db, company_id, shop_id, orders, wanted, since)
            live.update(render(journeys, wanted))
    if not console.is_terminal:
        console.line()  # Live ends a terminal's last line, not a pipe's
    return journeys


def missing(journeys: list[Journey]) -> list[str]:
    """What each order that did not arrive lacks, and why as far as ISAO knows."""
    lines = []
    for journey in journeys:
        if journey.arrived:
            continue
        lacks = ", ".join(column.title for column, target in journey.targets.items() if not target)
        states = ", ".join(f"{n} {state}" for state, n in sorted(journey.jobs.items()))
        received = "webhook received, no job yet" if journey.webhooks else "no webhook received yet"
        why = "; ".join(journey.errors) or (f"jobs: {states}" if states else received)
        lines.append(f"order {journey.id}: no {lacks} ({why})")
    return lines
