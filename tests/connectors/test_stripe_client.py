"""The Stripe client against the sandbox over real HTTP: objects, search, changes from events, every
failure classified, creates made idempotent by their content, and webhooks parsed."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from isao.connectors.base import MemoryCredentials
from isao.connectors.stripe import Client
from isao.errors import AuthExpired, Invalid, NotFound, RateLimited
from tests.sandboxes import RunningSandbox, running

pytestmark = pytest.mark.no_database


@pytest.fixture(scope="module")
def live() -> Iterator[RunningSandbox]:
    with running("stripe") as sandbox:
        yield sandbox


@pytest.fixture
def client(live: RunningSandbox) -> Iterator[Client]:
    creds = live.sandbox.credentials()
    api = Client(live.url, MemoryCredentials({"api_key": creds["api_key"]}))
    yield api
    api.close()


def test_check_and_objects(client: Client) -> None:
    assert "Stripe account" in client.check()
    created = client.create("customers", {"email": "ada@example.com", "name": "Ada", "metadata": {"shop": 7}})
    assert created["id"].startswith("cus_") and created["metadata"] == {"shop": "7"}
    assert client.get("customers", created["id"])["email"] == "ada@example.com"  # type: ignore[index]
    updated = client.update("customers", created["id"], {"name": "Ada Lovelace"})
    assert updated["name"] == "Ada Lovelace"
    assert client.search("customers", "email", "ADA@example.com")[0]["id"] == created["id"]
    assert client.search("customers", "id", created["id"])[0]["email"] == "ada@example.com"
    client.delete("customers", created["id"])
    assert client.get("customers", created["id"]) is None


def test_a_create_sent_twice_is_made_once(client: Client) -> None:
    data = {"email": "twice@example.com", "name": "Twice"}
    assert client.create("customers", data)["id"] == client.create("customers", data)["id"]
    assert len(client.search("customers", "email", "twice@example.com")) == 1


def test_changes_come_from_events(client: Client) -> None:
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    customer = client.create("customers", {"email": "changes@example.com"})
    intent = client.create(
        "payment_intents",
        {
            "amount": 1999,
            "currency": "usd",
            "customer": customer["id"],
            "payment_method": "pm_card_visa",
            "confirm": True,
        },
    )
    page = client.list_changed("payment_intents", since=since, limit=1)
    seen = [(r["id"], r["status"]) for r in page.records]
    while page.cursor:
        page = client.list_changed("payment_intents", since=since, cursor=page.cursor, limit=1)
        seen += [(r["id"], r["status"]) for r in page.records]
    assert seen == [(intent["id"], "succeeded")] * 2  # one per event, each read as it is now
    assert client.modified_at(page.records[-1]) >= since.replace("Z", "+00:00")
    everything = client.list_changed("payment_intents")
    assert intent["id"] in {r["id"] for r in everything.records}


def test_failures_are_classified(live: RunningSandbox, client: Client) -> None:
    with pytest.raises(Invalid) as bad:
        client.create("payment_intents", {"currency": "usd"})
    assert bad.value.details["code"] == "parameter_missing"
    with pytest.raises(NotFound):
        client.update("customers", "cus_missing", {"name": "x"})
    wrong = Client(live.url, MemoryCredentials({"api_key": "sk_test_wrong"}))
    with pytest.raises(Invalid) as refused:
        wrong.check()
    assert not isinstance(refused.value, AuthExpired)  # a wrong key is not refreshed
    live.faults(rate_limit=1, rate_window=30)
    try:
        client.check()
        with pytest.raises(RateLimited):
            client.check()
    finally:
        live.faults(rate_limit=None)


def test_webhook_events_become_changes(client: Client) -> None:
    body = (
        b'{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1700000000,'
        b'"data":{"object":{"id":"pi_1","object":"payment_intent","status":"succeeded"}}}'
    )
    (change,) = client.parse_webhook({}, body)
    assert (change.object, change.id, change.action, change.topic) == (
        "payment_intents",
        "pi_1",
        "updated",
        "payment_intent.succeeded",
    )
    assert change.data is not None and change.data["status"] == "succeeded"
