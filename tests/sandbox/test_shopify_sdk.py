"""The official ``ShopifyAPI`` package drives the Shopify sandbox: its REST resources (customers, orders,
products, webhooks, ``Link`` paging, the call-limit header it reads) and ``shopify.GraphQL()`` (queries
with connections, the search syntax, cost, mutations with ``userErrors``, webhook subscriptions), and the
deliveries' signatures."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import shopify
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from isao.sandbox.kit.signing import hmac_b64
from isao.sandbox.shopify import ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, ShopifySandbox
from tests.conftest import serve
from tests.sandboxes import RunningSandbox, running

pytestmark = pytest.mark.no_database
VERSION = "2024-10"


@pytest.fixture(scope="module")
def live() -> Iterator[RunningSandbox]:
    with running("shopify") as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def session(live: RunningSandbox) -> Iterator[None]:
    shopify.ShopifyResource.activate_session(
        shopify.Session("isao-sandbox.myshopify.com", VERSION, ACCESS_TOKEN)
    )
    shopify.ShopifyResource.set_site(f"{live.url}/admin/api/{VERSION}")
    yield
    shopify.ShopifyResource.clear_session()


def graphql(query: str, **variables: Any) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(shopify.GraphQL().execute(query, variables or None))
    return answer


def test_rest_customers_through_the_packages_resources() -> None:
    ada = shopify.Customer.create({"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"})
    assert ada.id and ada.admin_graphql_api_id == f"gid://shopify/Customer/{ada.id}"
    found = shopify.Customer.find(ada.id)
    found.phone = "+441234567890"
    assert found.save()
    assert shopify.Customer.find(ada.id).phone == "+441234567890"
    [searched] = shopify.Customer.search(query="email:ada@example.com")
    assert searched.id == ada.id
    twin = shopify.Customer.create({"email": "ada@example.com"})
    assert twin.errors.full_messages() == ["email has already been taken"]
    # The package's ``Limits`` looks the header up in Shopify's spelling; uvicorn sends names in lower case.
    limit = shopify.Shop.connection.response.headers["x-shopify-shop-api-call-limit"]
    assert limit.endswith("/40") and 0 < int(limit.split("/")[0]) <= 40


def test_rest_orders_page_by_link_headers() -> None:
    mug = shopify.Product.create({"title": "Mug", "variants": [{"sku": "MUG-1", "price": "12.50"}]})
    variant = mug.variants[0]
    made = [
        shopify.Order.create({"email": f"buyer{n}@example.com", "financial_status": "paid",
                              "line_items": [{"variant_id": variant.id, "quantity": n + 1}]})
        for n in range(3)
    ]  # fmt: skip
    assert made[1].total_price == "25.00" and made[1].line_items[0].sku == "MUG-1"
    first = shopify.Order.find(limit=2, status="any")
    assert len(first) == 2 and first.has_next_page() and not first.has_previous_page()
    second = first.next_page()
    assert {o.id for o in [*first, *second]} >= {o.id for o in made} and second.has_previous_page()
    assert shopify.Order.find(made[0].id).customer.email == "buyer0@example.com"


def test_graphql_reads_connections_search_and_cost() -> None:
    for n in range(3):
        shopify.Order.create(
            {"email": "graph@example.com", "line_items": [{"title": f"Item {n}", "price": "5.00"}]}
        )
    query = """query ($cursor: String, $q: String) {
      orders(first: 2, after: $cursor, sortKey: UPDATED_AT, query: $q) {
        pageInfo { hasNextPage endCursor }
        edges { node { id name email totalPriceSet { shopMoney { amount currencyCode } }
                       customer { id email }
                       lineItems(first: 5) { edges { node { title quantity } } } } } } }"""
    page = graphql(query, q="email:graph@example.com")
    orders = page["data"]["orders"]
    assert len(orders["edges"]) == 2 and orders["pageInfo"]["hasNextPage"]
    assert orders["edges"][0]["node"]["totalPriceSet"]["shopMoney"] == {
        "amount": "5.00",
        "currencyCode": "USD",
    }
    rest = graphql(query, q="email:graph@example.com", cursor=orders["pageInfo"]["endCursor"])["data"][
        "orders"
    ]
    assert len(rest["edges"]) == 1 and not rest["pageInfo"]["hasNextPage"]
    cost = page["extensions"]["cost"]
    assert cost["requestedQueryCost"] >= cost["actualQueryCost"] > 0
    assert cost["throttleStatus"]["maximumAvailable"] == 2000 and cost["throttleStatus"]["restoreRate"] == 100
    recent = graphql(
        "{ customers(first: 5, query: \"updated_at:>'2000-01-01T00:00:00Z'\") { nodes { email } } }"
    )
    assert "graph@example.com" in {c["email"] for c in recent["data"]["customers"]["nodes"]}
    wrong = graphql("{ orders(first: 1) { edges { node { colour } } } }")
    assert "colour" in wrong["errors"][0]["message"] and "data" not in wrong


def test_graphql_mutations_answer_user_errors() -> None:
    mutation = """mutation ($input: CustomerInput!) {
      customerCreate(input: $input) { customer { id email firstName } userErrors { field message } } }"""
    created = graphql(mutation, input={"email": "grace@example.com", "firstName": "Grace"})["data"][
        "customerCreate"
    ]
    assert created["userErrors"] == [] and created["customer"]["firstName"] == "Grace"
    again = graphql(mutation, input={"email": "grace@example.com"})["data"]["customerCreate"]
    assert again["customer"] is None and again["userErrors"] == [
        {"field": ["email"], "message": "Email has already been taken"}
    ]
    update = """mutation ($input: CustomerInput!) {
      customerUpdate(input: $input) { customer { lastName } userErrors { message } } }"""
    updated = graphql(update, input={"id": created["customer"]["id"], "lastName": "Hopper"})
    assert updated["data"]["customerUpdate"]["customer"]["lastName"] == "Hopper"


def test_the_cost_bucket_throttles(live: RunningSandbox) -> None:
    sandbox = live.sandbox
    assert isinstance(sandbox, ShopifySandbox)
    sandbox.bucket.take(sandbox.bucket.available - 1)  # nearly empty, as after a burst
    throttled = graphql("{ orders(first: 50) { nodes { id name } } }")
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert throttled["extensions"]["cost"]["actualQueryCost"] is None
    sandbox.bucket.give_back(sandbox.bucket.size)
    too_big = graphql("{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { id } } } } }")
    assert too_big["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


def test_webhooks_are_signed_rest_json(live: RunningSandbox) -> None:
    received: list[tuple[bytes, dict[str, str]]] = []

    async def hook(request: Request) -> PlainTextResponse:
        received.append((await request.body(), dict(request.headers)))
        return PlainTextResponse("ok")

    with serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as receiver:
        created = graphql(
            """mutation ($url: URL!) { webhookSubscriptionCreate(topic: ORDERS_CREATE,
                 webhookSubscription: {callbackUrl: $url, format: JSON}) { webhookSubscription { id topic }
                 userErrors { message } } }""",
            url=f"{receiver.url}/hook",
        )["data"]["webhookSubscriptionCreate"]
        assert created["userErrors"] == [] and created["webhookSubscription"]["topic"] == "ORDERS_CREATE"
        order = shopify.Order.create(
            {"email": "hooked@example.com", "line_items": [{"title": "Tea", "price": "3.00"}]}
        )
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    body, headers = received[0]
    assert headers["x-shopify-hmac-sha256"] == hmac_b64(CLIENT_SECRET, body)
    assert headers["x-shopify-topic"] == "orders/create" and headers["x-shopify-webhook-id"]
    assert headers["x-shopify-shop-domain"] == "isao-sandbox.myshopify.com" and headers["x-shopify-event-id"]
    payload = json.loads(body)
    assert payload["id"] == order.id and payload["admin_graphql_api_id"] == f"gid://shopify/Order/{order.id}"


def test_expiring_offline_tokens_refresh_and_rotate(live: RunningSandbox) -> None:
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "refresh_token",
            "refresh_token": REFRESH_TOKEN}  # fmt: skip
    first = httpx.post(f"{live.url}/admin/oauth/access_token", json=form).json()
    assert first["expires_in"] == 3600 and first["refresh_token"] != REFRESH_TOKEN
    answer = httpx.post(f"{live.url}/admin/api/{VERSION}/graphql.json", json={"query": "{ shop { name } }"},
                        headers={"X-Shopify-Access-Token": first["access_token"]})  # fmt: skip
    assert answer.json()["data"]["shop"]["name"] == "ISAO sandbox"
    reused = httpx.post(f"{live.url}/admin/oauth/access_token", json=form)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    second = httpx.post(f"{live.url}/admin/oauth/access_token",
                        json=form | {"refresh_token": first["refresh_token"]}).json()  # fmt: skip
    assert second["access_token"] != first["access_token"]
    refused = httpx.get(
        f"{live.url}/admin/api/{VERSION}/orders.json", headers={"X-Shopify-Access-Token": "shpat_x"}
    )
    assert refused.status_code == 401 and "Invalid API key" in refused.json()["errors"]
