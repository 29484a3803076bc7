"""The engine runs a recipe's flow on source records, against the sandboxes over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from isao import connections
from isao.connectors import catalog as connectors
from isao.crm import companies
from isao.db import Database
from isao.sync import bindings, catalog
from isao.sync.engine import Engine
from tests.sandboxes import RunningSandbox


def _connect(db: Database, company_id: str, live: RunningSandbox, **settings: str) -> str:
    values = live.sandbox.credentials() | {"base_url": live.url} | settings
    if live.sandbox.name == "zohocrm":
        values["accounts_url"] = live.url
    names = {setting.name for setting in connectors.settings(live.sandbox.name)}
    plain, secrets = connectors.split(live.sandbox.name, {k: v for k, v in values.items() if k in names})
    with db.write() as session:
        return connections.create(
            session, company_id, live.sandbox.name, live.sandbox.name, config=plain, secrets=secrets
        ).id


@pytest.fixture
def shop_and_crm(qdb: Database, sandbox_factory: Callable[..., RunningSandbox]):
    woo, zoho = sandbox_factory("woocommerce"), sandbox_factory("zohocrm")
    with qdb.write() as session:
        company_id = companies.create(session, f"Shop {time.monotonic_ns()}").id
    shop, crm = _connect(qdb, company_id, woo), _connect(qdb, company_id, zoho)
    recipe = catalog.get("woocommerce-to-zohocrm")
    with qdb.write() as session:
        binding = bindings.enable(session, company_id, recipe, {"shop": shop, "crm": crm})
        session.expunge(binding)
    engine = Engine(qdb)
    yield engine, binding, woo, zoho
    engine.close()


def _order(woo: RunningSandbox, email: str, company: str = "") -> dict:
    credentials = woo.sandbox.credentials()
    auth = (credentials["consumer_key"], credentials["consumer_secret"])
    body = {
        "status": "processing",
        "billing": {"first_name": "Ada", "last_name": "Lovelace", "email": email, "company": company,
                    "phone": "+33 1 23 45 67 89", "city": "Paris", "country": "FR"},
        "line_items": [{"product_id": 10, "quantity": 2}, {"product_id": 11, "quantity": 1}],
        "shipping_lines": [{"method_id": "flat_rate", "method_title": "Flat", "total": "5.00"}],
    }  # fmt: skip
    response = httpx.post(f"{woo.url}/wp-json/wc/v3/orders", json=body, auth=auth)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _zoho(zoho: RunningSandbox, module: str) -> list[dict]:
    return zoho.sandbox.store.all(module)


def test_an_order_becomes_account_contact_and_deal_once(shop_and_crm) -> None:
    engine, binding, woo, zoho = shop_and_crm
    recipe = engine.recipe(binding.recipe)
    flow = recipe.flows[0]
    order = _order(woo, "ada@example.com", company="Analytical Engines Ltd")

    results = engine.run(None, binding, recipe, flow, order)
    assert [(r.step, r.action) for r in results] == [
        ("account", "created"),
        ("contact", "created"),
        ("deal", "created"),
    ]
    [account], [contact], [deal] = _zoho(zoho, "Accounts"), _zoho(zoho, "Contacts"), _zoho(zoho, "Deals")
    assert contact["Email"] == "ada@example.com" and contact["Account_Name"]["id"] == account["id"]
    assert deal["Deal_Name"] == f"WooCommerce Order #{order['id']} (Ada Lovelace)"
    assert deal["Stage"] == "Closed Won" and deal["Contact_Name"]["id"] == contact["id"]
    assert float(deal["Amount"]) == float(order["total"])

    again = engine.run(None, binding, recipe, flow, order)  # the same order delivered twice
    assert [r.action for r in again] == ["unchanged", "unchanged", "unchanged"]
    second = _order(woo, "ada@example.com", company="Analytical Engines Ltd")
    engine.run(None, binding, recipe, flow, second)
    assert len(_zoho(zoho, "Contacts")) == 1 and len(_zoho(zoho, "Deals")) == 2
    assert len(_zoho(zoho, "Accounts")) == 1


def test_a_changed_connection_gets_a_new_client(shop_and_crm) -> None:
    """A connection moved to another URL (``isao connections set``, the demo on other ports) is not
    called at the old one by a client made before the change."""
    engine, binding, woo, _ = shop_and_crm
    shop = binding.connections["shop"]
    first = engine.client(shop)
    assert engine.client(shop) is first, "one client per connection while nothing changes"
    with engine.db.write() as session:
        row = connections.get(session, shop)
        assert row is not None
        row.config = {**row.config, "base_url": "http://127.0.0.1:9"}
        connections.touch(row)
    moved = engine.client(shop)
    assert moved is not first and moved.base_url == "http://127.0.0.1:9"

    # Changed by another process: the row's stamp moves, and it is looked at again within RECHECK seconds.
    with engine.db.write() as session:
        row = connections.get(session, shop)
        assert row is not None
        row.config = {**row.config, "base_url": woo.url}
        row.updated_at = row.updated_at.replace(year=row.updated_at.year + 1)
    assert engine.client(shop) is moved, "not looked at again before RECHECK"
    engine._clients[shop].until = 0.0  # RECHECK seconds later
    assert engine.client(shop).base_url == woo.url
