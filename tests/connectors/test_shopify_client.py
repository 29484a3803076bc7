"""The Shopify client against the sandbox over real HTTP: GraphQL reads in the REST shape webhooks carry,
paced by the returned cost; customers upserted by email; expiring offline tokens refreshed; webhook
subscriptions; failures classified."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from isao.connectors.base import MemoryCredentials
from isao.connectors.shopify import Client
from isao.errors import Conflict, Invalid, RateLimited
from isao.sandbox.shopify import ShopifySandbox
from tests.sandboxes import RunningSandbox, running

pytestmark = pytest.mark.no_database


@pytest.fixture(scope="module")
def live() -> Iterator[RunningSandbox]:
    with running("shopify") as sandbox:
        yield sandbox


def shop(live: RunningSandbox) -> ShopifySandbox:
    assert isinstance(live.sandbox, ShopifySandbox)
    return live.sandbox


@pytest.fixture
def client(live: RunningSandbox) -> Iterator[Client]:
    api = Client(live.url, MemoryCredentials({"access_token": live.sandbox.credentials()["access_token"]}))
    yield api
    api.close()


def test_orders_read_in_the_webhooks_shape(live: RunningSandbox, client: Client) -> None:
    assert "ISAO sandbox" in client.check()
    made = shop(live).create_order(
        {
            "email": "ada@example.com",
            "customer": {"first_name": "Ada"},
            "line_items": [{"title": "Mug", "sku": "MUG-1", "price": "12.50", "quantity": 2}],
        }
    )
    got = client.get("orders", str(made["id"]))
    assert got is not None
    assert {k: got[k] for k in ("id", "name", "email", "total_price", "currency", "financial_status")} == {
        k: made[k] for k in ("id", "name", "email", "total_price", "currency", "financial_status")
    }
    assert got["line_items"][0] | {"id": 0} == {
        "id": 0,
        "title": "Mug",
        "name": "Mug",
        "sku": "MUG-1",
        "quantity": 2,
        "price": "12.50",
        "variant_id": None,
        "product_id": None,
    }
    assert got["customer"]["email"] == "ada@example.com"
    page = client.list_changed("orders", since="2000-01-01T00:00:00Z", limit=1)
    assert page.records and client.modified_at(page.records[0])


def test_customers_upserted_by_email(client: Client) -> None:
    record, created = client.upsert(
        "customers", "email", {"email": "grace@example.com", "first_name": "Grace"}
    )
    assert created and record["first_name"] == "Grace"
    again, created = client.upsert(
        "customers", "email", {"email": "GRACE@example.com", "last_name": "Hopper"}
    )
    assert not created and again["id"] == record["id"] and again["last_name"] == "Hopper"
    with pytest.raises(Conflict):
        client.create("customers", {"email": "grace@example.com"})
    with pytest.raises(Invalid):
        client.create("customers", {"email": "not an email"})


def test_reads_are_paced_by_the_returned_cost(live: RunningSandbox, client: Client) -> None:
    client.check()
    bucket = shop(live).bucket
    bucket.take(bucket.available - 5)
    client.check()  # learns how little is left
    with pytest.raises(RateLimited) as waited:
        client.list_changed("orders", limit=100)
    assert waited.value.retry_after > 1
    bucket.give_back(bucket.size)


def test_expiring_tokens_are_refreshed_and_rotated(live: RunningSandbox) -> None:
    creds = live.sandbox.credentials()
    secrets = MemoryCredentials({k: creds[k] for k in ("client_id", "client_secret", "refresh_token")})
    api = Client(live.url, secrets)
    assert "ISAO sandbox" in api.check()
    stored = secrets.load()
    assert (
        stored["access_token"] and stored["refresh_token"] != creds["refresh_token"] and stored["expires_at"]
    )
    shop(live).tokens.expire_all()
    assert "ISAO sandbox" in api.check() and secrets.refreshes == 2
    api.close()


def test_webhook_subscriptions_and_parsing(live: RunningSandbox, client: Client) -> None:
    made = client.subscribe(["orders/create", "orders/updated"], "http://127.0.0.1:9/hooks/conn_1")
    assert {m["topic"] for m in made} == {"ORDERS_CREATE", "ORDERS_UPDATED"}
    assert client.subscribe(["orders/create"], "http://127.0.0.1:9/hooks/conn_1") == []  # kept, not doubled
    body = b'{"id": 7, "email": "x@example.com", "updated_at": "2024-03-01T10:00:00+00:00"}'
    (change,) = client.parse_webhook({"X-Shopify-Topic": "orders/create"}, body)
    assert (change.object, change.id, change.action) == ("orders", "7", "created")
    assert client.parse_webhook({"X-Shopify-Topic": "app/uninstalled"}, b"{}") == []
