"""The official ``stripe`` package drives the Stripe sandbox with ``api_base`` pointed at it: objects,
paging, expand, search, idempotency, errors and signed webhooks, as the package reads them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from isao.sandbox.stripe import API_KEY
from tests.conftest import serve
from tests.sandboxes import RunningSandbox, running

pytestmark = pytest.mark.no_database


@pytest.fixture(scope="module")
def live() -> Iterator[RunningSandbox]:
    with running("stripe") as sandbox:
        yield sandbox


@pytest.fixture
def client(live: RunningSandbox) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": live.url}, max_network_retries=0)


@pytest.fixture(autouse=True)
def module_api(live: RunningSandbox) -> Iterator[None]:
    saved = stripe.api_key, stripe.api_base, stripe.max_network_retries
    stripe.api_key, stripe.api_base, stripe.max_network_retries = API_KEY, live.url, 0
    yield
    stripe.api_key, stripe.api_base, stripe.max_network_retries = saved


def test_customers_created_read_updated_and_listed_newest_first() -> None:
    first = stripe.Customer.create(email="ada@example.com", name="Ada Lovelace", metadata={"shop": "1"})
    second = stripe.Customer.create(email="grace@example.com", name="Grace Hopper")
    assert (
        first.id.startswith("cus_")
        and first.object == "customer"
        and first.to_dict()["metadata"]["shop"] == "1"
    )
    fetched = stripe.Customer.retrieve(first.id)
    assert fetched.email == "ada@example.com"
    updated = stripe.Customer.modify(first.id, phone="+441234567", metadata={"shop": "", "tier": "gold"})
    assert updated.phone == "+441234567" and updated.to_dict()["metadata"] == {"tier": "gold"}
    page = stripe.Customer.list(limit=1)
    assert page.data[0].id == second.id and page.has_more
    following = stripe.Customer.list(limit=1, starting_after=second.id)
    assert following.data[0].id == first.id
    emails = {c.email for c in stripe.Customer.list(limit=1).auto_paging_iter()}
    assert {"ada@example.com", "grace@example.com"} <= emails
    assert stripe.Customer.list(email="GRACE@example.com").data[0].id == second.id


def test_search_finds_by_email_and_pages() -> None:
    for n in range(3):
        stripe.Customer.create(email="searched@example.com", name=f"Searched {n}")
    found = stripe.Customer.search(query="email:'searched@example.com'", limit=2)
    assert len(found.data) == 2 and found.has_more and found.next_page
    rest = stripe.Customer.search(query="email:'searched@example.com'", limit=2, page=found.next_page)
    assert len(rest.data) == 1 and not rest.has_more
    assert len(list(stripe.Customer.search(query="name~'Searched'").auto_paging_iter())) == 3
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe.Customer.search(query="email:")
    assert caught.value.code == "search_query_invalid"


def test_a_payment_intent_confirms_into_a_charge_and_refunds(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"email": "pay@example.com"})
    product = stripe.Product.create(name="Mug")
    price = stripe.Price.create(product=product.id, unit_amount=1250, currency="eur")
    assert price.unit_amount == 1250 and price.currency == "eur"
    intent = stripe.PaymentIntent.create(
        amount=2500, currency="eur", customer=customer.id, payment_method="pm_card_visa", confirm=True,
        metadata={"order_id": "1001"}, expand=["customer", "latest_charge"],
    )  # fmt: skip
    assert intent.status == "succeeded" and intent.amount_received == 2500
    assert isinstance(intent.customer, stripe.Customer) and intent.customer.email == "pay@example.com"
    assert isinstance(intent.latest_charge, stripe.Charge) and intent.latest_charge.paid
    charges = stripe.Charge.list(payment_intent=intent.id)
    assert charges.data[0].amount == 2500
    refund = stripe.Refund.create(payment_intent=intent.id, amount=1000)
    assert refund.status == "succeeded" and stripe.Charge.retrieve(charges.data[0].id).amount_refunded == 1000
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe.Refund.create(payment_intent=intent.id, amount=5000)
    assert caught.value.code == "amount_too_large"
    with pytest.raises(stripe.CardError) as declined:
        stripe.PaymentIntent.create(
            amount=500, currency="eur", payment_method="pm_card_chargeDeclined", confirm=True
        )
    assert declined.value.code == "card_declined" and declined.value.http_status == 402


def test_invoices_have_lines_and_move_through_their_statuses() -> None:
    customer = stripe.Customer.create(email="billed@example.com", name="Billed")
    price = stripe.Price.create(
        product=stripe.Product.create(name="Plan").id, unit_amount=900, currency="usd"
    )
    invoice = stripe.Invoice.create(customer=customer.id, description="March")
    stripe.InvoiceItem.create(
        customer=customer.id, invoice=invoice.id, pricing={"price": price.id}, quantity=2
    )
    stripe.InvoiceItem.create(customer=customer.id, invoice=invoice.id, amount=300, currency="usd",
                              description="Shipping")  # fmt: skip
    lines = stripe.Invoice.list_lines(invoice.id)
    assert [line.amount for line in lines.data] == [1800, 300] and lines.data[0].quantity == 2
    finalized = stripe.Invoice.finalize_invoice(invoice.id)
    assert finalized.status == "open" and finalized.number and finalized.total == 2100
    paid = stripe.Invoice.pay(invoice.id)
    assert paid.status == "paid" and paid.amount_paid == 2100
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Invoice.void_invoice(invoice.id)


def test_errors_come_in_stripes_envelope(live: RunningSandbox) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe.Customer.retrieve("cus_missing")
    assert caught.value.http_status == 404 and caught.value.code == "resource_missing"
    assert caught.value.param == "id"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        stripe.Customer.create(favourite_colour="blue")  # type: ignore[call-arg]
    assert unknown.value.code == "parameter_unknown" and unknown.value.param == "favourite_colour"
    with pytest.raises(stripe.AuthenticationError):
        stripe.Customer.list(api_key="sk_test_wrong")
    live.faults(rate_limit=1, rate_window=30)
    try:
        stripe.Customer.list()
        with pytest.raises(stripe.RateLimitError) as limited:
            stripe.Customer.list()
        body: Any = limited.value.json_body
        assert limited.value.http_status == 429 and body["error"]["code"] == "rate_limit"
    finally:
        live.faults(rate_limit=None)


def test_idempotency_keys_replay_and_refuse_other_parameters() -> None:
    first = stripe.Customer.create(email="once@example.com", idempotency_key="order-1001")
    again = stripe.Customer.create(email="once@example.com", idempotency_key="order-1001")
    assert (
        again.id == first.id
        and again.last_response is not None
        and again.last_response.headers["Idempotent-Replayed"] == "true"
    )
    with pytest.raises(stripe.IdempotencyError):
        stripe.Customer.create(email="other@example.com", idempotency_key="order-1001")
    assert len(stripe.Customer.list(email="once@example.com").data) == 1


def test_webhooks_are_signed_so_the_sdk_accepts_them(live: RunningSandbox) -> None:
    received: list[tuple[bytes, str]] = []

    async def hook(request: Request) -> PlainTextResponse:
        received.append((await request.body(), request.headers["stripe-signature"]))
        return PlainTextResponse("ok")

    with serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as receiver:
        endpoint = stripe.WebhookEndpoint.create(
            url=f"{receiver.url}/hook", enabled_events=["customer.created", "payment_intent.succeeded"]
        )
        assert endpoint.secret is not None and endpoint.secret.startswith("whsec_")
        customer = stripe.Customer.create(email="hooked@example.com")
        stripe.Customer.modify(customer.id, name="Not delivered")  # customer.updated is not enabled
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    body, signature = received[0]
    event = stripe.Webhook.construct_event(body, signature, endpoint.secret)
    assert event.type == "customer.created" and event.data.object.id == customer.id
    assert len(received) == 1
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, signature, "whsec_wrong")
    listed: Any = stripe.Event.list(type="customer.*", limit=100)
    assert {"customer.created", "customer.updated"} <= {e.type for e in listed.data}
