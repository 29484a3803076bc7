"""The ISAO External API as a connector, against a live ISAO over HTTP."""

from __future__ import annotations

import time

import orjson
import pytest

from isao.connectors import isao as isao_connector
from isao.connectors.base import MemoryCredentials
from isao.connectors.isao import Client
from isao.errors import Conflict, Invalid, NotFound, SignatureInvalid
from isao.hooks import signing
from tests.conftest import LiveServer, Tenant


@pytest.fixture
def client(server: LiveServer, tenant: Tenant):
    opened = Client.from_settings({"base_url": server.api}, MemoryCredentials({"api_key": tenant.token}))
    yield opened
    opened.close()


def test_every_operation_on_contacts_and_deals(client: Client, tenant: Tenant) -> None:
    assert tenant.company_id in client.check()
    email = f"ada.{time.monotonic_ns()}@example.com"
    contact = client.create("contacts", {"name": "Ada Lovelace", "email": email, "tags": ["vip"]})
    assert client.search("contacts", "email", email.upper())[0]["id"] == contact["id"]
    assert (client.get("contacts", contact["id"]) or {}).get("email") == email
    assert client.get("contacts", "contact_nope") is None
    updated = client.update("contacts", contact["id"], {"currentCompany": "Analytical Engines"})
    assert updated["currentCompany"] == "Analytical Engines" and updated["name"] == "Ada Lovelace"
    again, created = client.upsert("contacts", "email", {"name": "Ada L.", "email": email})
    assert (again["id"], created, again["name"]) == (contact["id"], False, "Ada L.")

    deal = client.create("deals", {"title": "Order #1", "value": 98.25, "contactId": contact["id"]})
    won = client.update("deals", deal["id"], {"status": "won", "stage": "closed-won", "value": 100})
    assert (won["status"], won["stage"], won["value"]) == ("won", "closed-won", 100)
    assert won["actualCloseDate"]

    since = client.modified_at(updated)
    changed = client.list_changed("contacts", since=since)
    assert contact["id"] in [row["id"] for row in changed.records]
    assert all(client.modified_at(row) >= since for row in changed.records)
    client.delete("deals", deal["id"])
    with pytest.raises(NotFound):
        client.update("deals", deal["id"], {"title": "gone"})


def test_failures_are_classified_with_what_was_sent(client: Client, server: LiveServer) -> None:
    email = f"dup.{time.monotonic_ns()}@example.com"
    first = client.create("contacts", {"name": "First", "email": email})
    with pytest.raises(Conflict) as duplicate:
        client.create("contacts", {"name": "Second", "email": email})
    assert duplicate.value.existing_id == first["id"]
    with pytest.raises(Invalid) as invalid:
        client.create("deals", {"title": "", "value": -1})
    assert invalid.value.response and invalid.value.response["status"] == 422
    assert invalid.value.details == {
        "title": "Title cannot be empty",
        "value": "Value must be a positive number",
    }
    assert invalid.value.request and invalid.value.request["body"] == {"title": "", "value": -1}
    stranger = Client.from_settings({"base_url": server.api}, MemoryCredentials({"api_key": "ck_nope"}))
    with pytest.raises(Invalid, match="401"):
        stranger.check()
    stranger.close()


def test_isaos_own_webhooks_verify_and_parse(client: Client) -> None:
    data = {"id": "contact_1", "name": "A"}
    body = orjson.dumps({"event": "contact.updated", "id": "event_1", "data": data})
    now = time.time()
    headers = signing.headers("s3cret", body, now)
    isao_connector.verify_webhook("s3cret", headers, body, url="http://x/hooks/c", now=now)
    with pytest.raises(SignatureInvalid):
        isao_connector.verify_webhook("other", headers, body, url="http://x/hooks/c", now=now)
    with pytest.raises(SignatureInvalid, match="window"):
        isao_connector.verify_webhook("s3cret", headers, body, url="http://x/hooks/c", now=now + 3600)
    assert isao_connector.delivery_id(headers, body) == "event_1"
    assert isao_connector.topic(headers, body) == "contact.updated"
    [change] = client.parse_webhook(headers, body)
    assert (change.object, change.id, change.action, change.data) == (
        "contacts",
        "contact_1",
        "updated",
        data,
    )
