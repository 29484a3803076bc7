"""``isao demo`` as a user runs it: one process serving ISAO and the sandboxes, the recipes enabled, orders
created in the shop and followed until they are deals in Zoho CRM (and ISAO, and HubSpot), exactly once;
a second run in the same data directory sets nothing up twice."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from isao import connections
from isao.db import Database
from isao.db.models import Deal, IdLink
from isao.sandbox.runner import PROVIDERS, sandbox_class
from isao.sandbox.store import Store
from isao.sync import bindings
from tests.conftest import free_offset

ISAO = str(Path(sys.executable).with_name("isao"))
PORTS = (8000, *(sandbox_class(p).default_port for p in PROVIDERS))
"""ISAO's default port and the sandboxes' fixed ones; ``--port-offset`` moves them all."""

pytestmark = pytest.mark.no_database


def _demo(data: Path, orders: int, offset: int) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISAO_")}
    env |= {"ISAO_DATA_DIR": str(data), "COLUMNS": "200"}
    command = [ISAO, "demo", "--exit", "--orders", str(orders), "--port-offset", str(offset)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _records(data: Path, provider: str, collection: str) -> list[dict[str, Any]]:
    return Store(data / "sandboxes" / f"sandbox-{provider}.sqlite3").all(collection)


def _setup(db: Database) -> dict[str, Any]:
    """What the demo set up, by id: connections and bindings (with the connections they bind)."""
    with db.read() as session:
        made = sorted((c.id, c.provider, c.name) for c in connections.list_(session))
        bound = sorted((b.id, b.recipe, sorted(b.connections.items())) for b in bindings.list_(session))
    return {"connections": made, "bindings": bound}


def _deals_once(data: Path, db: Database, orders: list[dict[str, Any]]) -> None:
    """Each order is one deal in Zoho CRM and one in ISAO, and one ID-map link per destination."""
    zoho = Counter(deal["Deal_Name"].split(" (")[0] for deal in _records(data, "zohocrm", "Deals"))
    assert zoho == Counter(f"WooCommerce Order #{order['id']}" for order in orders)
    hubspot = Counter(deal["properties"]["dealname"] for deal in _records(data, "hubspot", "deals"))
    assert hubspot == Counter(f"WooCommerce Order #{order['number']}" for order in orders)
    with db.read() as session:
        titles = Counter(session.scalars(select(Deal.title)))
        links = session.execute(
            select(IdLink.binding_id, IdLink.source_id).where(
                IdLink.step == "deal", IdLink.source_object == "orders"
            )
        ).all()
    assert titles == Counter(f"Order #{order['number']}" for order in orders)
    assert set(Counter(links).values()) == {1}, "an order made two deals through one recipe"
    assert Counter(source for _binding, source in links) == Counter({str(o["id"]): 3 for o in orders})


def test_demo_orders_arrive_once_and_a_second_run_reuses_the_setup(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = _demo(data, 3, offset := free_offset(PORTS))
    assert "All 3 orders arrived" in first, first
    enabled = next(line for line in first.splitlines() if line.startswith("Recipes enabled:"))
    assert {"woocommerce-hubspot", "woocommerce-to-isao", "woocommerce-to-zohocrm"} <= set(
        enabled[17:].split(", ")
    )
    db = Database(f"sqlite:///{data / 'isao.db'}")
    try:
        orders = _records(data, "woocommerce", "orders")
        assert len(orders) == 3
        for order in orders:  # the live table shows each order with its Zoho CRM deal's id
            assert f"#{order['number']} " in first
        _deals_once(data, db, orders)
        set_up = _setup(db)
        assert [provider for _id, provider, _name in set_up["connections"]].count("woocommerce") == 1
        assert len(set_up["connections"]) == len(PROVIDERS) + 1  # and ISAO's own
        assert len(set_up["bindings"]) == len({recipe for _id, recipe, _roles in set_up["bindings"]}) >= 3
        hooks = _records(data, "woocommerce", "webhooks")
        subscriptions = _records(data, "hubspot", "webhook_subscriptions")

        second = _demo(data, 3, second_offset := free_offset(PORTS, after=offset))  # other ports, same data
        assert "All 3 orders arrived" in second, second
        orders = _records(data, "woocommerce", "orders")
        assert len(orders) == 6
        _deals_once(data, db, orders)
        assert _setup(db) == set_up, "the second run made a connection or a binding again"
        moved = _records(data, "woocommerce", "webhooks")
        assert sorted(h["topic"] for h in moved) == sorted(h["topic"] for h in hooks)
        assert {h["delivery_url"].split("/hooks/")[0] for h in moved} == {
            f"http://127.0.0.1:{8000 + second_offset}"
        }
        assert len(_records(data, "hubspot", "webhook_subscriptions")) == len(subscriptions)
    finally:
        db.dispose()
