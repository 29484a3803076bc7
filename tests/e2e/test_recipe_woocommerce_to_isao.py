"""Seed 000's PHP integration end to end: WooCommerce customers and orders reach ISAO's own CRM through
its External API, over real HTTP, from signed webhooks and from the daily abandoned-cart scan."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from isao import connections
from isao.api.app import create_app
from isao.config import Settings
from isao.connectors import catalog as connectors
from isao.db import Database
from isao.queue import jobs
from isao.runtime import Runtime
from isao.sync import bindings, catalog
from isao.sync.transforms import days_after
from tests.conftest import empty_queue, make_tenant, serve
from tests.e2e.test_recipe_woocommerce_zohocrm import _drain
from tests.sandboxes import RunningSandbox
from tests.sync.test_engine import _connect


@dataclass
class Shop:
    woo: httpx.Client
    crm: httpx.Client
    binding_id: str
    runtime: Runtime

    def deals(self) -> list[dict[str, Any]]:
        return list(self.crm.get("/deals", params={"limit": 100}).json()["data"])

    def contacts(self) -> list[dict[str, Any]]:
        return list(self.crm.get("/contacts", params={"limit": 100}).json()["data"])


@pytest.fixture
def shop(
    queue_settings: Settings, qdb: Database, runtime: Runtime, sandbox_factory: Callable[..., RunningSandbox]
) -> Iterator[Shop]:
    empty_queue(qdb)
    woo = sandbox_factory("woocommerce")
    with serve(create_app(queue_settings, db=qdb, workers=0)) as isao:
        tenant = make_tenant(qdb, isao.api, f"Shop {time.monotonic_ns()}")
        shop_id = _connect(qdb, tenant.company_id, woo)
        plain, secrets = connectors.split("isao", {"base_url": isao.api, "api_key": tenant.token})
        with qdb.write() as session:
            crm_id = connections.create(
                session, tenant.company_id, "isao", "crm", config=plain, secrets=secrets
            ).id
            row = connections.get(session, shop_id)
            assert row is not None
            connections.set_secrets(row, {"webhook_secret": "wh-secret"})
            roles = {"shop": shop_id, "crm": crm_id}
            options = {"vip_lifetime_value": 100, "abandoned_after_hours": 0}
            recipe = catalog.get("woocommerce-to-isao")
            binding = bindings.enable(session, tenant.company_id, recipe, roles, options)
            binding_id = binding.id
        credentials = woo.sandbox.credentials()
        auth = (credentials["consumer_key"], credentials["consumer_secret"])
        with (
            httpx.Client(base_url=f"{woo.url}/wp-json/wc/v3", auth=auth) as woo_api,
            httpx.Client(base_url=isao.api, headers=tenant.headers) as crm_api,
        ):
            for topic in ("customer.created", "customer.updated", "order.created", "order.updated"):
                hook = {"topic": topic, "delivery_url": f"{isao.url}/hooks/{shop_id}", "secret": "wh-secret"}
                assert woo_api.post("/webhooks", json=hook).status_code == 201
            yield Shop(woo_api, crm_api, binding_id, runtime)


BILLING = {
    "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "01 23 45 67 89",
    "city": "Paris", "country": "FR",
}  # fmt: skip


def _order(shop: Shop, **fields: Any) -> dict[str, Any]:
    body = {
        "status": "processing", "billing": BILLING,
        "line_items": [{"product_id": 13, "quantity": 3}],  # 3 Zip Hoodies at 45.00
        "shipping_lines": [{"method_id": "flat_rate", "method_title": "Flat", "total": "5.00"}],
    } | fields  # fmt: skip
    response = shop.woo.post("/orders", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_customers_and_orders_become_contacts_and_deals_that_follow_the_order(shop: Shop) -> None:
    person = {"email": "Ada@Example.com", "first_name": "Ada", "last_name": "Lovelace", "billing": BILLING}
    customer = shop.woo.post("/customers", json=person).json()
    _drain(shop.runtime)
    (contact,) = shop.contacts()
    assert (contact["name"], contact["email"], contact["phoneNumber"]) == ("Ada Lovelace", "ada@example.com",
                                                                          "+33123456789")  # fmt: skip
    assert sorted(contact["tags"]) == ["customer", "ecommerce"], "no orders yet: not a VIP"

    order = _order(shop, customer_id=customer["id"])
    _drain(shop.runtime)
    (deal,) = shop.deals()
    assert deal["title"] == f"Order #{order['number']}"
    assert deal["value"] == pytest.approx(float(order["total"]) - float(order["total_tax"]) - 5.0) == 135.0
    assert (deal["stage"], deal["status"]) == ("processing", "open")
    assert (deal["probability"], deal["priority"]) == (90, "low")
    assert deal["expectedCloseDate"].startswith(days_after(order["date_created_gmt"], 3) or "?")
    assert deal["contact"]["id"] == contact["id"] and deal["source"] == "ecommerce"
    assert "Zip Hoodie (x3)" in deal["description"]

    shop.woo.put(f"/orders/{order['id']}", json={"status": "completed"})
    _drain(shop.runtime)
    (deal,) = shop.deals()  # the same order, created then updated: still one deal
    assert (deal["stage"], deal["status"], deal["probability"]) == ("completed", "won", 100)
    assert deal["actualCloseDate"]

    shop.woo.put(f"/customers/{customer['id']}", json={"last_name": "King"})
    _drain(shop.runtime)
    (contact,) = shop.contacts()
    assert contact["name"] == "Ada King" and "vip" in contact["tags"], "140.00 completed > the 100 threshold"

    shop.woo.put(f"/orders/{order['id']}", json={"status": "refunded"})
    _drain(shop.runtime)
    (deal,) = shop.deals()
    assert (deal["status"], deal["probability"]) == ("lost", 0)


def test_abandoned_carts_become_lost_deals_once(shop: Shop) -> None:
    cart = _order(
        shop, status="pending", billing=BILLING | {"email": "cart@example.com", "phone": "0611223344"}
    )
    paid = _order(
        shop, status="processing", billing=BILLING | {"email": "paid@example.com", "phone": "0655667788"}
    )
    time.sleep(1.1)  # older than "0 hours" to the second

    def scan() -> None:
        with shop.runtime.db.write() as session:
            jobs.enqueue(session, bindings.POLL, {"binding_id": shop.binding_id, "flow": "abandoned-carts"})
        _drain(shop.runtime)

    scan()
    scan()
    abandoned = [d for d in shop.deals() if d["source"] == "ecommerce-abandoned"]
    assert [d["title"] for d in abandoned] == [f"Abandoned Cart #{cart['id']}"]
    assert (abandoned[0]["status"], abandoned[0]["stage"], abandoned[0]["probability"]) == (
        "lost",
        "abandoned",
        0,
    )
    by_email = {c["email"]: c["id"] for c in shop.contacts()}
    assert abandoned[0]["contact"]["id"] == by_email["cart@example.com"]
    assert f"Order #{paid['number']}" in [d["title"] for d in shop.deals()]
