"""The HubSpot API client against the HubSpot sandbox over real HTTP: every operation, OAuth refresh when a
token expires mid-run, each failure classified, and a real webhook delivery verified and parsed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from isao.connectors import hubspot
from isao.connectors.base import MemoryCredentials
from isao.errors import AuthExpired, Conflict, Invalid, NotFound, RateLimited, SignatureInvalid, Transient
from isao.sandbox.hubspot import HubSpotSandbox
from tests.conftest import serve
from tests.sandboxes import RunningSandbox

pytestmark = pytest.mark.no_database


@pytest.fixture
def hs(sandbox_factory: Callable[..., RunningSandbox]) -> RunningSandbox:
    return sandbox_factory("hubspot")


def connect(
    running: RunningSandbox, *, oauth: bool = False, http: httpx.Client | None = None, **secrets: str
) -> tuple[hubspot.Client, MemoryCredentials]:
    """A client built as the engine builds it: plain settings, plus the secrets in a credentials store."""
    given = running.sandbox.credentials()
    values = {"base_url": running.url, "client_id": given["client_id"], "app_id": given["app_id"]}
    stored = {"client_secret": given["client_secret"], "developer_api_key": given["developer_api_key"]}
    stored |= {"refresh_token": given["refresh_token"]} if oauth else {"access_token": given["access_token"]}
    credentials = MemoryCredentials(stored | secrets)
    return hubspot.Client.from_settings(values, credentials, http=http), credentials


def sandbox_of(running: RunningSandbox) -> HubSpotSandbox:
    assert isinstance(running.sandbox, HubSpotSandbox)
    return running.sandbox


# --- operations -------------------------------------------------------------------------------------


def test_check_names_the_portal(hs: RunningSandbox) -> None:
    client, _ = connect(hs)
    described = client.check()
    assert hs.sandbox.credentials()["portal_id"] in described and "private app" in described
    assert not client.uses_oauth


def test_create_get_search_update_delete(hs: RunningSandbox) -> None:
    client, _ = connect(hs)
    created = client.create(
        "contacts", {"email": "ada@example.com", "firstname": "Ada", "annualrevenue": 1200}
    )
    contact_id = client.record_id(created)
    assert contact_id.isdigit()

    fetched = client.get("contacts", contact_id)
    assert fetched is not None
    assert fetched["properties"]["annualrevenue"] == "1200"  # values go over the wire as strings
    assert "phone" in fetched["properties"]  # every property is asked for, not HubSpot's few defaults
    assert client.get("contacts", "999999") is None

    [found] = client.search("contacts", "email", "ADA@example.com")
    assert client.record_id(found) == contact_id
    assert client.search("contacts", "email", "nobody@example.com") == []

    time.sleep(0.002)
    updated = client.update("contacts", contact_id, {"lastname": "Lovelace", "firstname": None})
    assert updated["properties"]["lastname"] == "Lovelace"
    assert client.modified_at(updated) > client.modified_at(created)
    assert client.modified_at(updated).endswith("Z")
    refetched = client.get("contacts", contact_id)
    assert refetched is not None and refetched["properties"]["firstname"] is None

    client.delete("contacts", contact_id)
    assert client.get("contacts", contact_id) is None
    client.delete("contacts", contact_id)  # archiving twice is not an error


def test_upsert_natively_on_a_unique_key_else_by_search(hs: RunningSandbox) -> None:
    client, _ = connect(hs)
    first, created = client.upsert("contacts", "email", {"email": "grace@example.com", "firstname": "Grace"})
    again, created_again = client.upsert(
        "contacts", "email", {"email": "grace@example.com", "lastname": "Hopper"}
    )
    assert (created, created_again) == (True, False)
    assert client.record_id(again) == client.record_id(first)
    assert again["properties"]["lastname"] == "Hopper"

    assert not client.is_unique("products", "hs_sku")
    product, made = client.upsert("products", "hs_sku", {"hs_sku": "W-1", "name": "Widget", "price": 9.5})
    same, made_again = client.upsert("products", "hs_sku", {"hs_sku": "W-1", "price": 11})
    assert (made, made_again) == (True, False)
    assert client.record_id(same) == client.record_id(product) and same["properties"]["price"] == "11"


def test_duplicate_is_conflict_with_the_existing_id(hs: RunningSandbox) -> None:
    client, _ = connect(hs)
    original = client.create("contacts", {"email": "dup@example.com"})
    with pytest.raises(Conflict) as caught:
        client.create("contacts", {"email": "dup@example.com"})
    assert caught.value.existing_id == client.record_id(original)
    assert not caught.value.retryable


def test_400_is_invalid_with_the_request_and_response(hs: RunningSandbox) -> None:
    client, _ = connect(hs)
    with pytest.raises(Invalid) as caught:
        client.create("deals", {"dealname": "Odd", "dealstage": "not-a-stage", "colour": "red"})
    error = caught.value
    assert error.request is not None and error.request["method"] == "POST"
    assert error.request["url"].endswith("/crm/v3/objects/deals")
    assert error.request["body"]["properties"]["colour"] == "red"
    assert error.response is not None and error.response["status"] == 400
    assert error.details["category"] == "VALIDATION_ERROR"
    assert "PROPERTY_DOESNT_EXIST" in error.details["message"]


def test_batches_chunk_by_100_and_report_each_failure(hs: RunningSandbox) -> None:
    calls: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda request: calls.append(request.url.path)]})
    client, _ = connect(hs, http=http)
    client.create("contacts", {"email": "taken@example.com"})
    items = [{"email": f"c{i}@example.com", "firstname": f"C{i}"} for i in range(150)]
    items[120] = {"email": "taken@example.com"}
    created = client.batch_create("contacts", items)
    assert calls.count("/crm/v3/objects/contacts/batch/create") == 2
    assert len(created.results) == 149
    assert [r["properties"]["email"] for r in created.results] == [
        i["email"] for n, i in enumerate(items) if n != 120
    ]
    [conflict] = created.errors
    assert isinstance(conflict, Conflict) and conflict.existing_id is not None

    ids = [client.record_id(r) for r in created.results[:3]]
    updated = client.batch_update(
        "contacts", [{"id": ids[0], "lastname": "Flat"}, {"id": ids[1], "properties": {"lastname": "Nested"}}]
    )
    assert [r["properties"]["lastname"] for r in updated.results] == ["Flat", "Nested"]

    upserted = client.batch_upsert(
        "contacts", [{"email": "c2@example.com", "lastname": "Up"}, {"email": "z@example.com"}]
    )
    assert [(r["properties"]["email"], r["new"]) for r in upserted.results] == [
        ("c2@example.com", False),
        ("z@example.com", True),
    ]
    read = client.batch_read("contacts", [ids[1], "999999", ids[0]])
    assert [client.record_id(r) for r in read.results] == [ids[1], ids[0]]
    assert len(read.errors) == 1 and isinstance(read.errors[0], NotFound)


def test_list_changed_pages_oldest_modified_first(hs: RunningSandbox) -> None:
    client, _ = connect(hs)
    ids = []
    for i in range(5):
        ids.append(client.record_id(client.create("contacts", {"email": f"l{i}@example.com"})))
        time.sleep(0.002)
    client.update("contacts", ids[1], {"firstname": "Later"})
    time.sleep(0.002)
    touched = client.update("contacts", ids[3], {"firstname": "Latest"})

    seen, cursors, cursor = [], set(), None
    while True:
        page = client.list_changed("contacts", cursor=cursor, limit=2)
        seen += [client.record_id(r) for r in page.records]
        if page.cursor is None:
            break
        assert page.cursor not in cursors
        cursors.add(page.cursor)
        cursor = page.cursor
    assert seen == [ids[0], ids[2], ids[4], ids[1], ids[3]]
    recent = client.list_changed("contacts", since=client.modified_at(touched))
    assert [client.record_id(r) for r in recent.records] == [ids[3]] and recent.total == 1


def test_list_changed_restarts_before_the_search_ceiling(hs: RunningSandbox) -> None:
    client, _ = connect(hs)
    sandbox_of(hs).search_ceiling = client.search_ceiling = 6
    expected = []
    for i in range(11):
        expected.append(client.record_id(client.create("contacts", {"email": f"s{i}@example.com"})))
        time.sleep(0.002)
    seen: list[str] = []
    cursor, cursors = None, []
    for _ in range(30):
        page = client.list_changed("contacts", cursor=cursor, limit=2)
        seen += [client.record_id(r) for r in page.records]
        if page.cursor is None:
            break
        cursors.append(page.cursor)
        cursor = page.cursor
    assert page.cursor is None, "list_changed did not finish"
    assert len(cursors) == len(set(cursors))
    assert any(c.endswith(":0") for c in cursors)  # it did restart from a later modified date
    assert sorted(set(seen), key=expected.index) == expected  # nothing lost (repeats are allowed)


def test_list_changed_never_loops_when_a_ceiling_of_records_share_a_millisecond(hs: RunningSandbox) -> None:
    client, _ = connect(hs)
    sandbox_of(hs).search_ceiling = client.search_ceiling = 4
    client.batch_create("contacts", [{"email": f"m{i}@example.com"} for i in range(12)])
    cursor, cursors = None, []
    for _ in range(40):
        page = client.list_changed("contacts", cursor=cursor, limit=2)
        if page.cursor is None:
            break
        assert page.cursor not in cursors
        cursors.append(page.cursor)
        cursor = page.cursor
    assert page.cursor is None


def test_associations_and_pipelines(hs: RunningSandbox) -> None:
    client, _ = connect(hs)
    contact = client.record_id(client.create("contacts", {"email": "assoc@example.com"}))
    deals = [
        client.record_id(client.create("deals", {"dealname": f"D{i}", "dealstage": "closedwon"}))
        for i in range(2)
    ]
    for deal in deals:
        client.associate("deals", deal, "contacts", contact)
    assert client.associations("contacts", contact, "deals") == deals
    assert client.associations("deals", deals[0], "contacts") == [contact]
    with pytest.raises(Invalid):
        client.associate("contacts", contact, "products", "1")
    [pipeline] = client.pipelines("deals")
    assert pipeline["id"] == "default"
    assert [s["id"] for s in pipeline["stages"]][-2:] == ["closedwon", "closedlost"]


# --- auth ------------------------------------------------------------------------------------------


def test_oauth_mints_then_refreshes_exactly_once_when_the_token_expires_mid_run(hs: RunningSandbox) -> None:
    client, credentials = connect(hs, oauth=True)
    assert client.uses_oauth
    client.create("contacts", {"email": "o1@example.com"})
    assert credentials.refreshes == 1  # no access token yet: minted before the first call
    stored = credentials.load()
    assert stored["access_token"] and 1700 < stored["expires_at"] - time.time() <= 1800
    assert stored["refresh_token"] == hs.sandbox.credentials()["refresh_token"]

    sandbox_of(hs).tokens.expire_all()
    client.create("contacts", {"email": "o2@example.com"})  # 401 EXPIRED_AUTHENTICATION → refresh → retry
    assert credentials.refreshes == 2
    assert credentials.load()["access_token"] != stored["access_token"]
    assert len(client.search("contacts", "email", "o2@example.com")) == 1
    assert credentials.refreshes == 2


def test_a_refused_refresh_token_is_invalid_and_keeps_its_secrets(hs: RunningSandbox) -> None:
    client, _ = connect(hs, oauth=True, refresh_token="na1-revoked")
    with pytest.raises(Invalid) as caught:
        client.check()
    assert not isinstance(caught.value, AuthExpired)
    assert (
        caught.value.response is not None and caught.value.response["body"]["status"] == "BAD_REFRESH_TOKEN"
    )
    assert caught.value.request is not None and caught.value.request["body"]["refresh_token"] == "***"
    assert "na1-revoked" not in str(caught.value.request)


def test_a_private_app_token_wins_and_an_unknown_token_is_invalid(hs: RunningSandbox) -> None:
    client, credentials = connect(hs, refresh_token=hs.sandbox.credentials()["refresh_token"])
    assert not client.uses_oauth
    client.check()
    assert credentials.refreshes == 0
    stranger, _ = connect(hs, access_token="pat-na1-00000000-0000-0000-0000-000000000000")
    with pytest.raises(Invalid) as caught:
        stranger.check()
    assert caught.value.response is not None and caught.value.response["status"] == 401


# --- limits and faults ---------------------------------------------------------------------------------


def test_429_honours_retry_after_else_the_stated_window(
    sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    hs = sandbox_factory("hubspot", rate_limit=1, rate_window=4)
    client, _ = connect(hs)
    client.property_names("contacts")  # the one allowed call of the window
    with pytest.raises(RateLimited) as caught:
        client.get("contacts", "1")
    assert 1 <= caught.value.retry_after <= 4
    assert caught.value.response is not None and caught.value.response["headers"]["retry-after"]

    hs.faults(retry_after=False)
    client.get("contacts", "1")
    with pytest.raises(RateLimited) as without:
        client.get("contacts", "1")
    assert "retry-after" not in (without.value.response or {})["headers"]
    assert without.value.retry_after == 4.0  # X-HubSpot-RateLimit-Interval-Milliseconds


def test_the_search_ceiling_waits_a_second(sandbox_factory: Callable[..., RunningSandbox]) -> None:
    hs = sandbox_factory("hubspot", search_rate_limit=1, retry_after=False)
    client, _ = connect(hs)
    client.search("contacts", "email", "a@example.com")
    with pytest.raises(RateLimited) as caught:
        client.search("contacts", "email", "a@example.com")
    assert caught.value.retry_after == 1.0


def test_5xx_and_timeouts_are_transient(sandbox_factory: Callable[..., RunningSandbox]) -> None:
    hs = sandbox_factory("hubspot", error_rate=1.0)
    client, _ = connect(hs)
    with pytest.raises(Transient) as caught:
        client.check()
    assert caught.value.retryable and caught.value.response is not None
    assert caught.value.response["status"] == 500

    hs.faults(error_rate=0.0, timeout_rate=1.0, timeout_seconds=0.5)
    impatient, _ = connect(hs, http=httpx.Client(timeout=0.1))
    with pytest.raises(Transient, match="timed out"):
        impatient.check()


# --- webhooks ---------------------------------------------------------------------------------------


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Condition()

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        with self.arrived:
            self.received.append((dict(request.headers), body))
            self.arrived.notify_all()
        return Response(status_code=204)

    def wait(self, count: int, timeout: float = 5.0) -> list[tuple[dict[str, str], bytes]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    target = Receiver()
    with serve(Starlette(routes=[Route("/hooks/hubspot", target.endpoint, methods=["POST"])])) as live:
        yield target, live.url + "/hooks/hubspot"


def test_subscribe_then_verify_and_parse_a_real_delivery(
    hs: RunningSandbox, receiver: tuple[Receiver, str]
) -> None:
    inbox, target = receiver
    client, _ = connect(hs)
    kinds = ["contact.creation", "contact.propertyChange:firstname", "deal.deletion"]
    subscribed = client.subscribe(kinds, target)
    assert [s["id"] for s in client.subscribe(kinds, target)] == [s["id"] for s in subscribed]  # idempotent
    assert all(s["active"] for s in subscribed)

    contact = client.create("contacts", {"email": "hook@example.com", "firstname": "Hook"})
    [(headers, body)] = inbox.wait(1)
    secret = hs.sandbox.credentials()["client_secret"]
    hubspot.verify_webhook(secret, headers, body, url=target, now=time.time())
    with pytest.raises(SignatureInvalid):
        hubspot.verify_webhook("not-the-secret", headers, body, url=target, now=time.time())

    changes = sorted(client.parse_webhook(headers, body), key=lambda change: change.action)
    assert [(c.object, c.id, c.action, c.fields) for c in changes] == [
        ("contacts", client.record_id(contact), "created", ()),
        ("contacts", client.record_id(contact), "updated", ("firstname",)),
    ]
    assert all(c.occurred_at is not None and abs(c.occurred_at - time.time()) < 60 for c in changes)

    events = hubspot._events(body)
    assert events is not None
    app_id = hs.sandbox.credentials()["app_id"]
    assert all(hubspot.is_own_write(event, app_id) for event in events)
    assert not any(hubspot.is_own_write(event, "999") for event in events)
    assert not hubspot.is_own_write({"changeSource": "CRM_UI", "sourceId": "userId:1"}, app_id)


def test_subscribe_needs_the_developer_key(hs: RunningSandbox) -> None:
    client, _ = connect(hs, developer_api_key="wrong")
    with pytest.raises(Invalid) as caught:
        client.subscribe(["contact.creation"], "http://127.0.0.1:9/hook")
    assert caught.value.request is not None and "wrong" not in caught.value.request["url"]


def test_parse_webhook_maps_every_kind_of_event() -> None:
    client = hubspot.Client("http://127.0.0.1:9", MemoryCredentials({"access_token": "pat-na1-x"}))
    body = (
        b'[{"eventId":1,"subscriptionType":"deal.deletion","objectId":7,"occurredAt":1700000000000},'
        b'{"eventId":2,"subscriptionType":"line_item.propertyChange","objectId":8,"propertyName":"quantity"},'
        b'{"eventId":3,"subscriptionType":"object.creation","objectTypeId":"0-7","objectId":9},'
        b'{"eventId":4,"subscriptionType":"conversation.newMessage","objectId":10}]'
    )
    changes = client.parse_webhook({}, body)
    assert [(c.object, c.id, c.action, c.fields, c.occurred_at) for c in changes] == [
        ("deals", "7", "deleted", (), 1_700_000_000.0),
        ("line_items", "8", "updated", ("quantity",), None),
        ("products", "9", "created", (), None),
    ]
    assert client.parse_webhook({}, b"not json") == []
