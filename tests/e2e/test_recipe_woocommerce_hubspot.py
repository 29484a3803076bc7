"""Seed 003 end to end, both ways, over real HTTP between ISAO and the WooCommerce and HubSpot sandboxes:
what ISAO writes on one side never comes back as a change from the other."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from isao import connections
from isao.api.app import create_app
from isao.config import Settings
from isao.connectors.base import MemoryCredentials
from isao.connectors.hubspot import Client as HubSpotClient
from isao.crm import companies
from isao.db import Database
from isao.db.models import Job
from isao.queue import jobs
from isao.runtime import Runtime
from isao.sync import bindings, catalog
from tests.conftest import empty_queue, serve
from tests.e2e.test_recipe_woocommerce_zohocrm import _drain
from tests.sandboxes import RunningSandbox
from tests.sync.test_engine import _connect

CONTACT_FIELDS = ("email", "firstname", "lastname", "phone", "address", "city")
EVENTS = [
    "deal.creation", "deal.propertyChange:dealstage", "contact.creation",
    *(f"contact.propertyChange:{name}" for name in CONTACT_FIELDS),
]  # fmt: skip


PROPERTIES = {
    "contacts": "email,firstname,lastname,phone,city",
    "products": "hs_sku,name,price",
    "deals": "dealname,amount,dealstage,closedate",
}


@dataclass
class Both:
    woo: httpx.Client
    hub: httpx.Client
    db: Database
    runtime: Runtime
    binding_id: str

    def hubspot(self, object: str) -> list[dict[str, Any]]:
        params: dict[str, str | int] = {"limit": 100, "properties": PROPERTIES[object]}
        return list(self.hub.get(f"/crm/v3/objects/{object}", params=params).json()["results"])

    @staticmethod
    def steps(flow: str, action: str) -> float:
        """How many of ``flow``'s steps ended in ``action`` in this process so far."""
        labels = {"recipe": "woocommerce-hubspot", "flow": flow, "action": action}
        return REGISTRY.get_sample_value("isao_sync_steps_total", labels) or 0.0

    def poll(self, flow: str) -> None:
        with self.db.write() as session:
            jobs.enqueue(session, bindings.POLL, {"binding_id": self.binding_id, "flow": flow})
        _drain(self.runtime)


@pytest.fixture
def both(
    queue_settings: Settings, qdb: Database, runtime: Runtime, sandbox_factory: Callable[..., RunningSandbox]
) -> Iterator[Both]:
    empty_queue(qdb)
    woo, hs = sandbox_factory("woocommerce"), sandbox_factory("hubspot")
    with qdb.write() as session:
        company_id = companies.create(session, f"Two-way {time.monotonic_ns()}").id
    shop, crm = _connect(qdb, company_id, woo), _connect(qdb, company_id, hs)
    with qdb.write() as session:
        row = connections.get(session, shop)
        assert row is not None
        connections.set_secrets(row, {"webhook_secret": "wh-secret"})
        recipe = catalog.get("woocommerce-hubspot")
        binding_id = bindings.enable(session, company_id, recipe, {"shop": shop, "crm": crm}).id
    creds = woo.sandbox.credentials()
    woo_auth = (creds["consumer_key"], creds["consumer_secret"])
    token = hs.sandbox.credentials()["access_token"]
    with (
        serve(create_app(queue_settings, db=qdb, workers=0)) as isao,
        httpx.Client(base_url=f"{woo.url}/wp-json/wc/v3", auth=woo_auth) as w,
        httpx.Client(base_url=hs.url, headers={"Authorization": f"Bearer {token}"}) as h,
    ):  # fmt: skip
        for topic in ("customer.created", "customer.updated", "order.created", "order.updated",
                      "product.created", "product.updated"):  # fmt: skip
            hook = {"topic": topic, "delivery_url": f"{isao.url}/hooks/{shop}", "secret": "wh-secret"}
            assert w.post("/webhooks", json=hook).status_code == 201
        hs_creds = hs.sandbox.credentials()
        hub = HubSpotClient.from_settings(hs_creds | {"base_url": hs.url}, MemoryCredentials(hs_creds))
        hub.subscribe(EVENTS, f"{isao.url}/hooks/{crm}")
        hub.close()
        yield Both(w, h, qdb, runtime, binding_id)


BILLING = {
    "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "+33123456789",
    "address_1": "1 rue de la Paix", "city": "Paris", "postcode": "75002", "country": "FR",
}  # fmt: skip
ADA = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "billing": BILLING}


def test_shop_records_reach_hubspot_and_do_not_come_back(both: Both) -> None:
    echoes = {flow: both.steps(flow, "echo") for flow in ("contacts", "deals")}
    written = {
        flow: both.steps(flow, action) for flow in ("contacts", "deals") for action in ("created", "updated")
    }
    customer = both.woo.post("/customers", json=ADA).json()
    _drain(both.runtime)
    (contact,) = both.hubspot("contacts")
    assert contact["properties"]["email"] == "ada@example.com"
    assert (contact["properties"]["phone"], contact["properties"]["city"]) == ("+33123456789", "Paris")
    assert both.steps("contacts", "echo") > echoes["contacts"], "ISAO's own contact write came back, dropped"

    both.poll("products")
    products = {p["properties"]["hs_sku"]: p["properties"] for p in both.hubspot("products")}
    assert products["MUG-1"]["name"] == "Ceramic Mug" and float(products["MUG-1"]["price"]) == 12.0

    paid = {"status": "processing", "customer_id": customer["id"], "billing": BILLING}
    order = both.woo.post("/orders", json=paid | {"line_items": [{"product_id": 10, "quantity": 2}]}).json()
    _drain(both.runtime)
    (deal,) = both.hubspot("deals")
    assert deal["properties"]["dealname"] == f"WooCommerce Order #{order['number']}"
    assert float(deal["properties"]["amount"]) == float(order["total"])
    assert deal["properties"]["dealstage"] == "closedwon", "paid (processing) → closed won"
    linked = both.hub.get(f"/crm/v4/objects/deals/{deal['id']}/associations/contacts").json()["results"]
    assert [str(a["toObjectId"]) for a in linked] == [contact["id"]]
    assert both.steps("deals", "echo") > echoes["deals"], "the deal ISAO created did not become an order"
    assert written == {f: both.steps(f, a) for f in ("contacts", "deals") for a in ("created", "updated")}
    assert len(both.woo.get("/orders").json()) == 1

    # The deal is lost in HubSpot: the order it came from follows, though the deal has no line items (the
    # checks are for orders made from deals, not for a deal the shop's order made).
    both.hub.patch(f"/crm/v3/objects/deals/{deal['id']}", json={"properties": {"dealstage": "closedlost"}})
    _drain(both.runtime)
    (moved,) = both.woo.get("/orders").json()
    assert (moved["id"], moved["status"]) == (order["id"], "cancelled")
    with both.db.read() as session:
        assert session.scalars(select(Job).where(Job.status == jobs.DEAD)).all() == []
    assert len(both.hubspot("deals")) == 1


def _hubspot_deal(both: Both, sku: str, quantity: int, price: str | None = None) -> dict[str, Any]:
    products = {p["properties"]["hs_sku"]: p for p in both.hubspot("products")}
    if sku in products:
        item: dict[str, Any] = {"hs_product_id": products[sku]["id"], "quantity": quantity}
    else:  # a custom line item: no product in HubSpot's library either
        item = {"hs_sku": sku, "name": sku, "price": "1.00", "quantity": quantity}
    if price is not None:
        item["price"] = price
    line = both.hub.post("/crm/v3/objects/line_items", json={"properties": item}).json()
    grace = {"email": f"grace.{time.monotonic_ns()}@example.com", "firstname": "Grace", "lastname": "Hopper"}
    buyer = both.hub.post("/crm/v3/objects/contacts", json={"properties": grace}).json()

    def to(id_: str, type_id: int) -> dict[str, Any]:
        return {
            "to": {"id": id_},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
        }

    properties = {
        "dealname": f"Upsell {sku}",
        "amount": "24.00",
        "dealstage": "qualifiedtobuy",
        "pipeline": "default",
    }
    body = {"properties": properties, "associations": [to(line["id"], 19), to(buyer["id"], 3)]}
    response = both.hub.post("/crm/v3/objects/deals", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_hubspot_deal_becomes_a_checked_order_once(both: Both) -> None:
    both.poll("products")
    echoes = both.steps("orders", "echo")
    deal = _hubspot_deal(both, "MUG-1", 2)
    _drain(both.runtime)
    (order,) = both.woo.get("/orders").json()
    assert [(i["product_id"], i["quantity"]) for i in order["line_items"]] == [(10, 2)]
    assert order["status"] == "pending" and order["billing"]["first_name"] == "Grace"
    assert f"HubSpot deal {deal['id']}" in order["customer_note"]
    assert both.steps("orders", "echo") > echoes, "the order ISAO created did not become a second deal"
    assert len(both.hubspot("deals")) == 1

    both.hub.patch(f"/crm/v3/objects/deals/{deal['id']}", json={"properties": {"dealstage": "closedwon"}})
    _drain(both.runtime)
    (order,) = both.woo.get("/orders").json()
    assert order["status"] == "processing", "the deal's stage moved the order it created"
    assert len(both.hubspot("deals")) == 1


def test_a_deal_the_shop_cannot_fill_is_a_dead_letter_with_the_reason(both: Both) -> None:
    both.poll("products")
    _hubspot_deal(both, "MUG-1", 1, price="9.00")
    _hubspot_deal(both, "NOPE-1", 1)
    _hubspot_deal(both, "HOODIE-1", 99)  # 10 in stock
    _drain(both.runtime)
    assert both.woo.get("/orders").json() == []
    with both.db.read() as session:
        dead = session.scalars(select(Job).where(Job.kind == "sync.record", Job.status == jobs.DEAD)).all()
        errors = sorted(job.last_error or "" for job in dead)
    assert len(errors) == 3
    assert any("prices differ" in e and "MUG-1 (deal 9.00, shop 12.00)" in e for e in errors), errors
    assert any("NOPE-1 (no such product)" in e for e in errors), errors
    assert any("HOODIE-1 (99 wanted, 10 in stock)" in e for e in errors), errors


def test_a_contact_changed_in_hubspot_updates_the_shop_customer(both: Both) -> None:
    echoes = both.steps("customers", "echo")
    customer = both.woo.post("/customers", json=ADA).json()
    _drain(both.runtime)
    (contact,) = both.hubspot("contacts")
    both.hub.patch(
        f"/crm/v3/objects/contacts/{contact['id']}", json={"properties": {"phone": "+33999999999"}}
    )
    _drain(both.runtime)
    changed = both.woo.get(f"/customers/{customer['id']}").json()
    assert changed["billing"]["phone"] == "+33999999999"
    assert len(both.woo.get("/customers").json()) == 1
    assert both.steps("customers", "echo") > echoes, "the customer update ISAO made did not go back"
