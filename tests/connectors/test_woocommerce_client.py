"""The WooCommerce API client against the WooCommerce sandbox over real HTTP on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from isao.connectors import woocommerce
from isao.connectors.base import Change, MemoryCredentials
from isao.connectors.woocommerce import Client
from isao.errors import Conflict, Invalid, NotFound, RateLimited, SignatureInvalid, Transient
from isao.sandbox.woocommerce import WooCommerceSandbox
from tests.conftest import serve
from tests.sandboxes import RunningSandbox, running

pytestmark = pytest.mark.no_database

WEBHOOK_SECRET = "whsec_isao"


@pytest.fixture
def store() -> Iterator[RunningSandbox]:
    with running("woocommerce") as live:
        yield live


def woo(live: RunningSandbox) -> WooCommerceSandbox:
    assert isinstance(live.sandbox, WooCommerceSandbox)
    return live.sandbox


def connect(live: RunningSandbox, http: httpx.Client | None = None, **values: str) -> Client:
    """The way ``isao connections add`` builds it: plain settings, and the secrets in credentials."""
    given = woo(live).credentials()
    secrets = {"consumer_key": given["consumer_key"], "consumer_secret": given["consumer_secret"]}
    return Client.from_settings(
        {"base_url": given["base_url"], **values},
        MemoryCredentials(secrets | {"webhook_secret": WEBHOOK_SECRET}),
        http=http,
    )


@pytest.fixture
def client(store: RunningSandbox) -> Iterator[Client]:
    made = connect(store)
    yield made
    made.close()


def test_check_and_every_crud_operation(client: Client) -> None:
    assert client.check() == f"WooCommerce store {client.base_url}: 0 orders"

    product = client.create("products", {"name": "Lamp", "sku": "LAMP-1", "regular_price": "30.00"})
    assert client.get("products", product["id"]) == product
    assert client.update("products", product["id"], {"regular_price": "25.00"})["price"] == "25.00"
    assert client.record_id(product) == str(product["id"])

    customer = client.create("customers", {"email": "ada@example.com", "first_name": "Ada"})
    order = client.create(
        "orders", {"customer_id": customer["id"], "line_items": [{"sku": "LAMP-1", "quantity": 2}]}
    )
    assert (order["total"], order["line_items"][0]["product_id"]) == ("50.00", product["id"])
    assert client.update("orders", order["id"], {"status": "completed"})["status"] == "completed"

    # Orders and products go to the trash; trashing twice is done, not an error; permanent removes them.
    client.delete("orders", order["id"])
    trashed = client.get("orders", order["id"])
    assert trashed is not None and trashed["status"] == "trash"
    client.delete("orders", order["id"])
    client.delete("orders", order["id"], permanent=True)
    assert client.get("orders", order["id"]) is None
    client.delete("customers", customer["id"])  # customers cannot be trashed: always permanent
    assert client.get("customers", customer["id"]) is None
    with pytest.raises(NotFound):
        client.delete("products", 987654)
    with pytest.raises(ValueError, match="unknown object"):
        client.get("coupons", 1)


def test_search_and_upsert_on_natural_keys(client: Client) -> None:
    created, was_created = client.upsert(
        "customers", "email", {"email": "grace@example.com", "first_name": "Grace"}
    )
    assert was_created
    again, was_created = client.upsert(
        "customers", "email", {"email": "GRACE@example.com", "last_name": "Hopper"}
    )
    assert not was_created and again["id"] == created["id"] and again["last_name"] == "Hopper"
    assert [c["id"] for c in client.search("customers", "email", "Grace@Example.com")] == [created["id"]]
    assert client.search("customers", "email", "not-an-email") == []
    assert client.search("customers", "email", "a@b") == []  # is_email() says no: WordPress answers 400

    product, was_created = client.upsert("products", "sku", {"sku": "MUG-1", "regular_price": "13.00"})
    assert not was_created and product["name"] == "Ceramic Mug" and product["price"] == "13.00"
    assert [p["sku"] for p in client.search("products", "name", "Zip Hoodie")] == ["HOODIE-1"]
    assert client.search("products", "sku", "NOPE") == []

    order = client.create(
        "orders", {"billing": {"email": "grace@example.com"}, "line_items": [{"sku": "MUG-1"}]}
    )
    assert [o["id"] for o in client.search("orders", "billing.email", "grace@example.com")] == [order["id"]]


def test_list_changed_pages_oldest_modified_first_from_since(store: RunningSandbox, client: Client) -> None:
    now = [int(time.time()) + 3600]
    woo(store).clock = lambda: now[0]
    made = []
    for n in range(5):
        made.append(client.create("products", {"name": f"P{n}", "sku": f"P-{n}"}))
        now[0] += 5
    client.update("products", made[0]["id"], {"description": "touched last"})
    since = client.modified_at(made[2])
    assert since.endswith("+00:00")

    seen: list[dict[str, Any]] = []
    cursors: list[str | None] = []
    cursor: str | None = None
    while True:
        page = client.list_changed("products", since=since, cursor=cursor, limit=2)
        seen += page.records
        cursors.append(page.cursor)
        if page.cursor is None:
            break
        assert page.cursor != cursor
        cursor = page.cursor
    # At-or-after since (the boundary record included), oldest first; the demo products are older.
    assert [p["name"] for p in seen] == ["P2", "P3", "P4", "P0"]
    assert cursors == ["2", None] and page.total == 4
    everything = client.list_changed("products", limit=100)
    assert everything.cursor is None and everything.total == 10


def test_list_changed_customers_filters_a_scan_by_id(store: RunningSandbox, client: Client) -> None:
    now = [int(time.time()) + 3600]
    woo(store).clock = lambda: now[0]
    old = client.create("customers", {"email": "old@example.com"})
    now[0] += 60
    new = client.create("customers", {"email": "new@example.com"})
    now[0] += 60
    client.update("customers", old["id"], {"first_name": "Changed"})

    since = client.modified_at(new)
    first = client.list_changed("customers", since=since, limit=1)
    second = client.list_changed("customers", since=since, cursor=first.cursor, limit=1)
    assert (first.cursor, second.cursor) == ("2", None)
    assert [c["email"] for c in first.records + second.records] == ["old@example.com", "new@example.com"]
    later = client.list_changed(
        "customers", since=client.modified_at(client.get("customers", old["id"]) or {})
    )
    assert [c["first_name"] for c in later.records] == ["Changed"]


def test_batches_keep_input_order_classify_item_errors_and_chunk_by_100(
    store: RunningSandbox, client: Client
) -> None:
    mug = client.search("products", "sku", "MUG-1")[0]
    result = client.batch_create(
        "products",
        [{"name": "A", "sku": "A-1"}, {"name": "Dup", "sku": "MUG-1"}, {"name": "B", "sku": "B-1"}],
    )
    assert [r.get("sku") for r in result.results] == ["A-1", None, "B-1"]
    assert result.results[1]["error"]["code"] == "product_invalid_sku"
    assert len(result.errors) == 1 and isinstance(result.errors[0], Conflict)
    assert result.errors[0].existing_id == str(mug["id"])
    assert result.errors[0].request is not None and result.errors[0].request["method"] == "POST"

    updated = client.batch_update("products", [{"id": mug["id"], "regular_price": "1.00"}, {"id": 999999}])
    assert updated.results[0]["price"] == "1.00"
    assert len(updated.errors) == 1 and isinstance(updated.errors[0], NotFound)

    upserted = client.batch_upsert(
        "customers", [{"email": "x@example.com", "first_name": "X"}, {"email": "y@example.com"}]
    )
    assert not upserted.errors
    again = client.batch_upsert(
        "customers", [{"email": "y@example.com", "first_name": "Y"}, {"email": "z@example.com"}]
    )
    assert [c["email"] for c in again.results] == ["y@example.com", "z@example.com"]
    assert again.results[0]["id"] == upserted.results[1]["id"] and again.results[0]["first_name"] == "Y"
    with pytest.raises(ValueError, match="no natural key"):
        client.batch_upsert("orders", [{}])

    before = store.stats()["faults"]["requests"]
    many = client.batch_create("products", [{"name": f"Bulk {n}", "sku": f"BULK-{n}"} for n in range(150)])
    assert len(many.results) == 150 and not many.errors
    assert [r["sku"] for r in many.results[98:102]] == ["BULK-98", "BULK-99", "BULK-100", "BULK-101"]
    assert store.stats()["faults"]["requests"] - before == 2


def test_rate_limited_with_and_without_retry_after() -> None:
    with running("woocommerce", rate_limit=1, rate_window=30) as live:
        client = connect(live)
        client.check()
        with pytest.raises(RateLimited) as limited:
            client.check()
        assert 0 < limited.value.retry_after <= 30
        assert limited.value.response is not None
        assert limited.value.retry_after == float(limited.value.response["headers"]["retry-after"])

        live.faults(retry_after=False)
        client.check()
        with pytest.raises(RateLimited) as bare:
            client.check()
        assert bare.value.retry_after == Client.default_retry_after


def test_server_errors_and_timeouts_are_transient(store: RunningSandbox, client: Client) -> None:
    store.faults(error_rate=1.0)
    for status in (500, 502, 503):
        with pytest.raises(Transient) as failed:
            client.get("orders", 1)
        assert failed.value.response is not None and failed.value.response["status"] == status

    store.faults(error_rate=0.0, timeout_rate=1.0, timeout_seconds=1.0)
    impatient = connect(store, http=httpx.Client(timeout=0.2))
    with pytest.raises(Transient, match="timed out"):
        impatient.check()
    impatient.close()


def test_client_errors_are_classified_with_request_and_response(
    store: RunningSandbox, client: Client
) -> None:
    with pytest.raises(Invalid) as invalid:
        client.create("orders", {"status": "shipped"})
    error = invalid.value
    assert error.details["code"] == "rest_invalid_param"
    assert error.request is not None and error.request["method"] == "POST"
    assert error.request["body"] == {"status": "shipped"}
    assert error.response is not None and error.response["status"] == 400

    with pytest.raises(Conflict) as duplicate:
        client.create("products", {"sku": "MUG-1"})
    assert duplicate.value.existing_id == str(client.search("products", "sku", "MUG-1")[0]["id"])
    client.create("customers", {"email": "dup@example.com"})
    with pytest.raises(Conflict):
        client.create("customers", {"email": "dup@example.com"})
    with pytest.raises(NotFound):  # WooCommerce answers 400 …_invalid_id to an update of an unknown id
        client.update("orders", 123456, {"status": "completed"})

    wrong = Client.from_settings(
        {"base_url": store.url}, MemoryCredentials({"consumer_key": "ck_x", "consumer_secret": "cs_x"})
    )
    with pytest.raises(Invalid, match="401 woocommerce_rest_cannot_view"):
        wrong.check()
    elsewhere = Client.from_settings({"base_url": store.url + "/blog"}, client.credentials)
    with pytest.raises(Invalid, match="check base_url"):
        elsewhere.check()
    with pytest.raises(Invalid, match="base_url"):
        Client.from_settings({"base_url": "shop.example.com"}, client.credentials)


def test_query_string_auth_and_secrets_kept_out_of_error_records(store: RunningSandbox) -> None:
    client = connect(store, query_string_auth="true")
    assert client.check().endswith("0 orders")
    with pytest.raises(NotFound) as missing:
        client.update("orders", 1, {})
    assert missing.value.request is not None
    assert "consumer_secret=%2A%2A%2A" in missing.value.request["url"]
    assert woo(store).credentials()["consumer_secret"] not in str(missing.value.request)
    # The base URL may be pasted with the API root; it is trimmed back to the store.
    assert (
        Client.from_settings({"base_url": store.url + "/wp-json/wc/v3/"}, client.credentials).base_url
        == store.url
    )


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        async def hook(request: Request) -> PlainTextResponse:
            body = await request.body()
            with self.lock:
                self.received.append((dict(request.headers), body))
            return PlainTextResponse("ok")

        return Starlette(routes=[Route("/hooks/conn_1", hook, methods=["POST"])])

    def wait_for(self, count: int) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + 5
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"expected {count} deliveries, got {len(self.received)}"
            time.sleep(0.01)
        with self.lock:
            return list(self.received)


@contextmanager
def receiving() -> Iterator[tuple[Receiver, str]]:
    sink = Receiver()
    with serve(sink.app()) as live:
        yield sink, f"{live.url}/hooks/conn_1"


def test_webhook_management_verification_and_parsing(client: Client) -> None:
    with receiving() as (sink, url):
        created = client.create_webhook("order.created", url, WEBHOOK_SECRET, name="ISAO orders")
        deleted_hook = client.create_webhook("order.deleted", url, WEBHOOK_SECRET)
        assert created["name"] == "ISAO orders" and created["status"] == "active"
        assert {h["id"] for h in client.list_webhooks()} == {created["id"], deleted_hook["id"]}

        ping_headers, ping = sink.wait_for(1)[0]
        assert woocommerce.is_ping(ping_headers, ping)
        assert client.parse_webhook(ping_headers, ping) == []

        order = client.create("orders", {"line_items": [{"sku": "MUG-1", "quantity": 1}]})
        headers, body = sink.wait_for(3)[2]
        woocommerce.verify_webhook(WEBHOOK_SECRET, headers, body, url=url, now=time.time())
        with pytest.raises(SignatureInvalid):
            woocommerce.verify_webhook("another secret", headers, body, url=url, now=time.time())
        (change,) = client.parse_webhook(headers, body)
        assert (change.object, change.id, change.action) == ("orders", str(order["id"]), "created")
        assert change.data == client.get("orders", order["id"])
        assert change.occurred_at is not None
        assert abs(change.occurred_at - time.time()) < 60

        client.delete("orders", order["id"])
        headers, body = sink.wait_for(4)[3]
        woocommerce.verify_webhook(WEBHOOK_SECRET, headers, body, url=url, now=time.time())
        assert client.parse_webhook(headers, body) == [
            Change("orders", str(order["id"]), "deleted", {"id": order["id"]}, None)
        ]

        client.delete_webhook(created["id"])
        assert [h["id"] for h in client.list_webhooks()] == [deleted_hook["id"]]
        with pytest.raises(NotFound):
            client.delete_webhook(created["id"])
