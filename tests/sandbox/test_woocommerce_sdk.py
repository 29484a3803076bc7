"""The WooCommerce sandbox driven by WooCommerce's official Python SDK (``woocommerce`` on PyPI).

Over http the SDK signs every request with OAuth 1.0a (HMAC-SHA256), so these tests also prove the sandbox
verifies signatures the way WooCommerce does. It returns ``requests.Response`` objects untouched, which is
what the assertions read: status, body, and headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from woocommerce import API  # type: ignore[import-untyped]
from woocommerce.oauth import OAuth  # type: ignore[import-untyped]

from isao.sandbox.woocommerce import CONSUMER_KEY, CONSUMER_SECRET, WooCommerceSandbox
from tests.conftest import serve
from tests.sandboxes import RunningSandbox

pytestmark = pytest.mark.no_database

Factory = Callable[..., RunningSandbox]
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


def sdk(
    running: RunningSandbox, key: str = CONSUMER_KEY, secret: str = CONSUMER_SECRET, **options: Any
) -> API:
    return API(
        url=running.url, consumer_key=key, consumer_secret=secret, version="wc/v3", timeout=5, **options
    )


def woo(running: RunningSandbox) -> WooCommerceSandbox:
    assert isinstance(running.sandbox, WooCommerceSandbox)
    return running.sandbox


@pytest.fixture
def store(sandbox_factory: Factory) -> RunningSandbox:
    return sandbox_factory("woocommerce")


@dataclass
class Receiver:
    """A webhook endpoint that keeps every request's headers and exact body bytes."""

    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def hook(request: Request) -> PlainTextResponse:
            body = await request.body()
            with self.lock:
                self.received.append((dict(request.headers), body))
            return PlainTextResponse("ok", status_code=self.status)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} deliveries, got {len(self.received)}")


@contextmanager
def receiver(status: int = 200) -> Iterator[tuple[Receiver, str]]:
    sink = Receiver(status)
    with serve(sink.app()) as live:
        yield sink, f"{live.url}/hook"


def signature(secret: bytes, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_create_product_customer_and_paid_order_as_woocommerce_computes_them(store: RunningSandbox) -> None:
    api = sdk(store)
    made = api.post(
        "products",
        {
            "name": "Field Guide",
            "sku": "BOOK-1",
            "regular_price": "15.50",
            "manage_stock": True,
            "stock_quantity": 10,
        },
    )
    assert made.status_code == 201
    product = made.json()
    assert made.headers["Location"] == f"{store.url}/wp-json/wc/v3/products/{product['id']}"
    assert (product["price"], product["regular_price"], product["stock_status"]) == (
        "15.50",
        "15.50",
        "instock",
    )
    assert DATE.match(product["date_created"]) and product["date_created"] == product["date_created_gmt"]
    assert product["permalink"] == f"{store.url}/product/field-guide/"

    customer = api.post(
        "customers", {"email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper"}
    )
    assert customer.status_code == 201
    assert customer.json()["username"] == "grace" and customer.json()["role"] == "customer"
    assert "orders_count" not in customer.json()  # a v2 field, dropped in v3

    created = api.post(
        "orders",
        {
            "customer_id": customer.json()["id"],
            "set_paid": True,
            "payment_method": "bacs",
            "line_items": [{"product_id": product["id"], "quantity": 3}],
            "shipping_lines": [{"method_id": "flat_rate", "method_title": "Flat rate", "total": "4.50"}],
        },
    )
    assert created.status_code == 201
    order = created.json()
    line = order["line_items"][0]
    assert (line["name"], line["sku"], line["quantity"], line["subtotal"], line["total"], line["price"]) == (
        "Field Guide",
        "BOOK-1",
        3,
        "46.50",
        "46.50",
        15.5,
    )
    assert (order["status"], order["total"], order["shipping_total"], order["discount_total"]) == (
        "processing",
        "51.00",
        "4.50",
        "0.00",
    )
    assert order["number"] == str(order["id"]) and order["order_key"].startswith("wc_order_")
    assert order["billing"]["email"] == "grace@example.com"  # taken from the customer, as WC_Order::save does
    assert order["date_paid"] is not None and order["currency"] == "USD"
    assert api.get(f"orders/{order['id']}").json() == order

    # Paid orders reduce stock and count sales; cancelling gives the stock back.
    after = api.get(f"products/{product['id']}").json()
    assert (after["stock_quantity"], after["total_sales"]) == (7, 3)
    assert api.get(f"customers/{customer.json()['id']}").json()["is_paying_customer"] is True
    assert api.put(f"orders/{order['id']}", {"status": "cancelled"}).json()["status"] == "cancelled"
    assert api.get(f"products/{product['id']}").json()["stock_quantity"] == 10


def test_pages_carry_totals_and_links_and_cover_every_record_once(store: RunningSandbox) -> None:
    woo(store).seed_products(7)
    api = sdk(store)
    everything = api.get("products", params={"per_page": 100}).json()
    assert len(everything) == 12
    newest_first = sorted(everything, key=lambda p: (p["date_created_gmt"], p["id"]), reverse=True)
    assert [p["id"] for p in everything] == [p["id"] for p in newest_first]

    pages = [api.get("products", params={"per_page": 5, "page": page}) for page in (1, 2, 3)]
    assert {(r.headers["X-WP-Total"], r.headers["X-WP-TotalPages"]) for r in pages} == {("12", "3")}
    assert [len(r.json()) for r in pages] == [5, 5, 2]
    assert [p["id"] for r in pages for p in r.json()] == [p["id"] for p in everything]
    assert 'rel="next"' in pages[0].headers["Link"] and 'rel="prev"' not in pages[0].headers["Link"]
    assert 'rel="prev"' in pages[1].headers["Link"] and 'rel="next"' in pages[1].headers["Link"]
    assert "page=2" in pages[2].headers["Link"] and 'rel="next"' not in pages[2].headers["Link"]
    assert api.get("products", params={"per_page": 5, "page": 9}).json() == []

    too_many = api.get("products", params={"per_page": 101})
    assert too_many.status_code == 400
    assert too_many.json()["code"] == "rest_invalid_param"
    assert too_many.json()["data"]["params"] == {
        "per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"
    }


def test_update_and_look_ups_by_search_email_and_sku(store: RunningSandbox) -> None:
    api = sdk(store)
    mug = api.get("products", params={"sku": "MUG-1"}).json()
    assert [p["sku"] for p in mug] == ["MUG-1"]
    renamed = api.put(f"products/{mug[0]['id']}", {"name": "Big Mug", "regular_price": "14.00"})
    assert renamed.status_code == 200 and (renamed.json()["name"], renamed.json()["price"]) == (
        "Big Mug",
        "14.00",
    )
    # WordPress routes accept POST (and PATCH) for updates too.
    assert api.post(f"products/{mug[0]['id']}", {"sale_price": "11.00"}).json()["price"] == "11.00"
    assert [p["name"] for p in api.get("products", params={"search": "big"}).json()] == ["Big Mug"]

    for email, first in (("ada@example.com", "Ada"), ("alan@example.com", "Alan")):
        api.post(
            "customers",
            {"email": email, "first_name": first, "last_name": "Lovelace" if first == "Ada" else "Turing"},
        )
    by_email = api.get("customers", params={"email": "ADA@Example.com"}).json()
    assert [c["first_name"] for c in by_email] == ["Ada"]
    assert {c["first_name"] for c in api.get("customers", params={"search": "a"}).json()} == {"Ada", "Alan"}
    assert [c["first_name"] for c in api.get("customers", params={"search": "turing"}).json()] == ["Alan"]
    # Customers sort by name, ascending, by default (not by date like posts).
    assert [c["first_name"] for c in api.get("customers").json()] == ["Ada", "Alan"]


def test_modified_after_is_exclusive_to_the_second_and_customers_have_no_date_filters(
    store: RunningSandbox,
) -> None:
    now = [int(time.time()) + 3600]
    woo(store).clock = lambda: now[0]
    api = sdk(store)
    first = api.post("products", {"name": "First", "sku": "F-1"}).json()
    second = api.post("products", {"name": "Second", "sku": "S-1"}).json()
    created_at = first["date_modified_gmt"]
    now[0] += 10
    api.put(f"products/{first['id']}", {"description": "changed"})

    changed = api.get("products", params={"modified_after": created_at, "dates_are_gmt": "true"}).json()
    assert [p["id"] for p in changed] == [first["id"]]
    older = api.get("products", params={"modified_before": changed[0]["date_modified_gmt"]}).json()
    assert second["id"] in [p["id"] for p in older] and first["id"] not in [p["id"] for p in older]
    ascending = api.get("products", params={"orderby": "modified", "order": "asc", "per_page": 100}).json()
    assert ascending[-1]["id"] == first["id"]
    assert api.get("products", params={"modified_after": "yesterday"}).json()["data"]["params"] == {
        "modified_after": "Invalid date."
    }

    api.post("customers", {"email": "kay@example.com"})
    # WordPress ignores parameters a route does not declare, and rejects undeclared orderby values.
    assert len(api.get("customers", params={"modified_after": "2999-01-01T00:00:00"}).json()) == 1
    assert api.get("customers", params={"orderby": "modified"}).status_code == 400


def test_batch_answers_per_item_and_refuses_more_than_100(store: RunningSandbox) -> None:
    api = sdk(store)
    mug = api.get("products", params={"sku": "MUG-1"}).json()[0]
    answer = api.post(
        "products/batch",
        {
            "create": [
                {"name": "Lamp", "sku": "LAMP-1", "regular_price": "30"},
                {"name": "Copy", "sku": "MUG-1"},
            ],
            "update": [{"id": mug["id"], "regular_price": "9.99"}, {"id": 99999, "name": "ghost"}],
        },
    )
    assert answer.status_code == 200
    body = answer.json()
    lamp = body["create"][0]
    assert lamp["sku"] == "LAMP-1" and lamp["price"] == "30"
    assert body["create"][1] == {
        "id": 0,
        "error": {
            "code": "product_invalid_sku",
            "message": "Invalid or duplicated SKU.",
            "data": {"status": 400, "resource_id": mug["id"], "unique_sku": "MUG-1-1"},
        },
    }
    assert body["update"][0]["price"] == "9.99"
    assert body["update"][1]["id"] == 99999
    assert body["update"][1]["error"]["code"] == "woocommerce_rest_product_invalid_id"
    assert body["update"][1]["error"]["data"] == {"status": 400}

    deleted = api.post("products/batch", {"delete": [lamp["id"]]}).json()
    assert deleted["delete"][0]["id"] == lamp["id"]
    assert api.get(f"products/{lamp['id']}").status_code == 404  # batch deletes are permanent

    count = api.get("products").headers["X-WP-Total"]
    too_big = api.post("products/batch", {"create": [{"name": f"P{n}"} for n in range(101)]})
    assert too_big.status_code == 413
    assert too_big.json() == {
        "code": "woocommerce_rest_request_entity_too_large",
        "message": "Unable to accept more than 100 items for this request.",
        "data": {"status": 413},
    }
    assert api.get("products").headers["X-WP-Total"] == count


def test_errors_come_back_as_wp_error_bodies(store: RunningSandbox) -> None:
    api = sdk(store)
    api.post("customers", {"email": "dup@example.com"})
    duplicate = api.post("customers", {"email": "dup@example.com"})
    assert duplicate.status_code == 400 and duplicate.json()["code"] == "registration-error-email-exists"
    assert api.post("customers", {"first_name": "No email"}).json() == {
        "code": "rest_missing_callback_param",
        "message": "Missing parameter(s): email",
        "data": {"status": 400, "params": ["email"]},
    }

    missing = api.get("orders/424242")
    assert (missing.status_code, missing.json()) == (
        404,
        {"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID.", "data": {"status": 404}},
    )
    update_missing = api.put("orders/424242", {"status": "completed"})
    assert (update_missing.status_code, update_missing.json()["code"]) == (
        400,
        "woocommerce_rest_shop_order_invalid_id",
    )
    bad_status = api.post("orders", {"status": "shipped"})
    assert bad_status.status_code == 400
    assert bad_status.json()["data"]["params"]["status"].startswith(
        "status is not one of pending, processing"
    )
    price_as_number = api.post("products", {"name": "Typed", "regular_price": 12})
    assert price_as_number.json()["data"]["params"] == {
        "regular_price": "regular_price is not of type string."
    }

    customer = api.get("customers", params={"email": "dup@example.com"}).json()[0]
    assert api.delete(f"customers/{customer['id']}").status_code == 501  # customers need force=true
    assert api.delete(f"customers/{customer['id']}", params={"force": "true"}).status_code == 200

    nowhere = api.get("nowhere")
    assert (nowhere.status_code, nowhere.json()["code"]) == (404, "rest_no_route")
    bad_json = httpx.post(
        f"{store.url}/wp-json/wc/v3/orders",
        content=b'{"status": ',
        headers={"Content-Type": "application/json"},
        auth=(CONSUMER_KEY, CONSUMER_SECRET),
    )
    assert (bad_json.status_code, bad_json.json()["code"]) == (400, "rest_invalid_json")


def test_rate_limit_answer_with_and_without_retry_after(sandbox_factory: Factory) -> None:
    running = sandbox_factory("woocommerce", rate_limit=1, rate_window=30)
    api = sdk(running)
    assert api.get("products").status_code == 200
    limited = api.get("products")
    assert limited.status_code == 429
    assert limited.json()["code"] == "woocommerce_rest_too_many_requests"
    assert limited.json()["data"] == {"status": 429}
    assert 0 < int(limited.headers["Retry-After"]) <= 30

    running.faults(retry_after=False)
    assert api.get("products").status_code == 200
    bare = api.get("products")
    assert bare.status_code == 429 and "Retry-After" not in bare.headers


def test_server_errors_and_a_stall_then_504(sandbox_factory: Factory) -> None:
    running = sandbox_factory("woocommerce", error_rate=1.0)
    api = sdk(running)
    answers = [api.get("orders") for _ in range(3)]
    assert [a.status_code for a in answers] == [500, 502, 503]
    assert answers[0].json()["code"] == "internal_server_error"
    assert "Bad Gateway" in answers[1].text and answers[2].headers["Retry-After"] == "600"

    running.faults(error_rate=0.0, timeout_rate=1.0, timeout_seconds=0.2)
    started = time.monotonic()
    stalled = api.get("orders")
    assert stalled.status_code == 504 and time.monotonic() - started >= 0.2


def test_bad_credentials_are_401_from_authentication_or_from_the_route(store: RunningSandbox) -> None:
    wrong_secret = sdk(store, secret="cs_wrong").get("orders")
    assert (wrong_secret.status_code, wrong_secret.json()["message"]) == (
        401,
        "Invalid signature - provided signature does not match.",
    )
    unknown_key = sdk(store, key="ck_unknown").get("orders")
    assert (unknown_key.status_code, unknown_key.json()["message"]) == (401, "Consumer key is invalid.")
    anonymous = requests.get(f"{store.url}/wp-json/wc/v3/orders", timeout=5)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "woocommerce_rest_cannot_view")
    basic = httpx.get(f"{store.url}/wp-json/wc/v3/orders", auth=(CONSUMER_KEY, "cs_wrong"))
    assert (basic.status_code, basic.json()["message"]) == (401, "Consumer secret is invalid.")
    assert basic.headers["WWW-Authenticate"].startswith('Basic realm="WooCommerce API.')

    # The SDK's own signer, with a timestamp outside the 15-minute window, then a replayed nonce.
    def signed(timestamp: int) -> str:
        url = f"{store.url}/wp-json/wc/v3/orders"
        return str(
            OAuth(
                url, CONSUMER_KEY, CONSUMER_SECRET, version="wc/v3", method="GET", oauth_timestamp=timestamp
            ).get_oauth_url()
        )

    stale = requests.get(signed(int(time.time()) - 16 * 60), timeout=5)
    assert (stale.status_code, stale.json()["message"]) == (401, "Invalid timestamp.")
    fresh = signed(int(time.time()))
    assert requests.get(fresh, timeout=5).status_code == 200
    replay = requests.get(fresh, timeout=5)
    assert (replay.status_code, replay.json()["message"]) == (
        401,
        "Invalid nonce - nonce has already been used.",
    )


def test_query_string_and_basic_auth(store: RunningSandbox) -> None:
    # Over http the SDK signs with OAuth even when asked for query-string auth...
    oauth = sdk(store, query_string_auth=True).get("products")
    assert oauth.status_code == 200
    assert "oauth_signature=" in oauth.request.url and "consumer_secret" not in oauth.request.url
    # ...so tell it TLS is terminated in front of the store, as the sandbox assumes.
    query = sdk(store, query_string_auth=True)
    query.is_ssl = True
    answer = query.get("products")
    assert answer.status_code == 200 and "consumer_secret=" in answer.request.url
    basic = sdk(store)
    basic.is_ssl = True
    answer = basic.get("products")
    assert answer.status_code == 200 and answer.request.headers["Authorization"].startswith("Basic ")
    # Plain permalinks route through ?rest_route=.
    plain = requests.get(
        f"{store.url}/",
        params={
            "rest_route": "/wc/v3/products",
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": CONSUMER_SECRET,
        },
        timeout=5,
    )
    assert plain.status_code == 200 and len(plain.json()) == 5


def test_webhook_ping_then_signed_deliveries(store: RunningSandbox) -> None:
    api = sdk(store)
    with receiver() as (sink, url):
        made = api.post(
            "webhooks", {"name": "Orders", "topic": "order.created", "delivery_url": url, "secret": "s3cret"}
        )
        assert made.status_code == 201
        hook = made.json()
        assert (hook["status"], hook["resource"], hook["event"], hook["hooks"]) == (
            "active",
            "order",
            "created",
            ["woocommerce_new_order"],
        )
        assert "secret" not in hook
        # The ping is sent before the create request answers: a form post, unsigned.
        headers, body = sink.received[0]
        assert body == f"webhook_id={hook['id']}".encode()
        assert headers["content-type"] == "application/x-www-form-urlencoded"
        assert (
            headers["user-agent"].startswith("WooCommerce/")
            and "Hookshot (WordPress/" in headers["user-agent"]
        )
        assert not [name for name in headers if name.startswith("x-wc-")]

        # A second webhook whose secret holds an HTML entity: WooCommerce keys the HMAC with it decoded.
        api.post("webhooks", {"topic": "order.updated", "delivery_url": url, "secret": "top&amp;secret"})
        sink.wait_for(2)

        product = api.get("products", params={"sku": "MUG-1"}).json()[0]
        order = api.post(
            "orders", {"set_paid": True, "line_items": [{"product_id": product["id"], "quantity": 1}]}
        ).json()
        deliveries = sink.wait_for(4)[2:]
        by_topic = {headers["x-wc-webhook-topic"]: (headers, body) for headers, body in deliveries}
        headers, body = by_topic["order.created"]
        assert headers["x-wc-webhook-signature"] == signature(b"s3cret", body)
        assert (headers["x-wc-webhook-resource"], headers["x-wc-webhook-event"]) == ("order", "created")
        assert headers["x-wc-webhook-id"] == str(hook["id"])
        assert headers["x-wc-webhook-source"] == store.url + "/"
        assert re.fullmatch(r"[0-9a-f]{32}", headers["x-wc-webhook-delivery-id"])
        assert headers["content-type"] == "application/json"
        # The body is the resource as GET returns it, encoded by wp_json_encode (escaped slashes).
        assert json.loads(body) == api.get(f"orders/{order['id']}").json()
        assert b"http:\\/\\/127.0.0.1" in body
        assert body == json.dumps(json.loads(body), separators=(",", ":")).replace("/", "\\/").encode()

        updated_headers, updated_body = by_topic["order.updated"]
        assert updated_headers["x-wc-webhook-signature"] == signature(b"top&secret", updated_body)
        assert json.loads(updated_body)["status"] == "processing"


def test_one_webhook_reuses_its_delivery_id_within_a_second(store: RunningSandbox) -> None:
    """WooCommerce's delivery id is wp_hash(webhook id . current second): distinct events delivered by one
    webhook in the same second carry the same id, so it cannot serve alone as a dedupe key."""
    woo(store).clock = lambda: 1_900_000_000
    api = sdk(store)
    with receiver() as (sink, url):
        api.post("webhooks", {"topic": "order.created", "delivery_url": url, "secret": "k"})
        first, second = (api.post("orders", {"customer_note": note}).json()["id"] for note in ("a", "b"))
        deliveries = sink.wait_for(3)[1:]
        assert {json.loads(body)["id"] for _, body in deliveries} == {first, second}
        assert len({headers["x-wc-webhook-delivery-id"] for headers, _ in deliveries}) == 1


def test_trashing_fires_deleted_with_the_id_and_permanent_deletes_fire_nothing(store: RunningSandbox) -> None:
    api = sdk(store)
    with receiver() as (sink, url):
        api.post("webhooks", {"topic": "order.deleted", "delivery_url": url, "secret": "k"})
        first, second = (api.post("orders", {"customer_note": note}).json() for note in ("a", "b"))
        trashed = api.delete(f"orders/{first['id']}")
        assert trashed.status_code == 200 and trashed.json()["status"] == "pending"  # the state before
        headers, body = sink.wait_for(2)[1]
        assert body == f'{{"id":{first["id"]}}}'.encode()
        assert headers["x-wc-webhook-signature"] == signature(b"k", body)
        assert api.get(f"orders/{first['id']}").json()["status"] == "trash"
        assert first["id"] not in [o["id"] for o in api.get("orders").json()]
        assert [o["id"] for o in api.get("orders", params={"status": "trash"}).json()] == [first["id"]]
        again = api.delete(f"orders/{first['id']}")
        assert (again.status_code, again.json()["code"]) == (410, "woocommerce_rest_already_trashed")

        assert api.delete(f"orders/{second['id']}", params={"force": "true"}).status_code == 200
        assert api.get(f"orders/{second['id']}").status_code == 404
        time.sleep(0.2)
        assert len(sink.received) == 2


def test_webhook_is_disabled_on_the_seventh_failure_in_a_row(store: RunningSandbox) -> None:
    api = sdk(store)
    mug = api.get("products", params={"sku": "MUG-1"}).json()[0]
    sandbox = woo(store)
    with receiver(status=500) as (sink, url):
        hook = api.post("webhooks", {"topic": "product.updated", "delivery_url": url, "secret": "k"}).json()
        assert hook["status"] == "active"  # a failed ping does not fail the creation

        def failures_are(count: int) -> Callable[[], bool]:
            return lambda: sandbox.failure_count(hook["id"]) == count

        for failures in range(1, 7):
            api.put(f"products/{mug['id']}", {"description": f"v{failures}"})
            wait_until(failures_are(failures))
        assert api.get(f"webhooks/{hook['id']}").json()["status"] == "active"
        api.put(f"products/{mug['id']}", {"description": "v7"})
        wait_until(lambda: api.get(f"webhooks/{hook['id']}").json()["status"] == "disabled")
        api.put(f"products/{mug['id']}", {"description": "v8"})
        time.sleep(0.2)
        assert len(sink.received) == 1 + 7  # the ping, then seven failed deliveries, then none

        sink.status = 200
        assert api.put(f"webhooks/{hook['id']}", {"status": "active"}).json()["status"] == "active"
        api.put(f"products/{mug['id']}", {"description": "v9"})
        sink.wait_for(9)


def test_webhooks_resource(store: RunningSandbox) -> None:
    api = sdk(store)
    with receiver() as (_, url):
        hook = api.post("webhooks", {"topic": "customer.created", "delivery_url": url}).json()
        assert hook["name"].startswith("Webhook created on ")
        listed = api.get("webhooks")
        assert listed.headers["X-WP-Total"] == "1" and listed.json()[0]["id"] == hook["id"]
        paused = api.put(f"webhooks/{hook['id']}", {"status": "paused", "name": "Renamed"}).json()
        assert (paused["status"], paused["name"]) == ("paused", "Renamed")
        assert [h["id"] for h in api.get("webhooks", params={"status": "paused"}).json()] == [hook["id"]]

        assert api.post("webhooks", {"topic": "order.shipped", "delivery_url": url}).json()["code"] == (
            "woocommerce_rest_shop_webhook_invalid_topic"
        )
        assert api.post("webhooks", {"topic": "order.created", "delivery_url": "ftp://x"}).status_code == 400
        unknown = api.get("webhooks/999")
        assert (unknown.status_code, unknown.json()["message"]) == (400, "ID is invalid.")
        assert api.delete(f"webhooks/{hook['id']}").status_code == 501
        assert api.delete(f"webhooks/{hook['id']}", params={"force": "true"}).status_code == 200
        assert api.get("webhooks").json() == []
