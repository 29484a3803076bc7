"""The Zoho CRM client against the sandbox over real HTTP: every operation, OAuth refresh (single-flight,
within Zoho's 10-per-10-minutes quota), error classification and notifications."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from isao.connectors import zohocrm
from isao.connectors.base import Change, MemoryCredentials
from isao.connectors.zohocrm import Client
from isao.errors import AuthExpired, Conflict, Invalid, NotFound, RateLimited, SignatureInvalid, Transient
from isao.sandbox.zohocrm import ZohoCrmSandbox
from tests.conftest import serve
from tests.sandboxes import RunningSandbox, running

pytestmark = pytest.mark.no_database

Factory = Callable[..., RunningSandbox]


def connect(rs: RunningSandbox, version: str = "v4", **secrets: Any) -> Client:
    """What ``isao connections add`` would store: plain settings and secrets, no token yet."""
    creds = rs.sandbox.credentials()
    values = {
        "base_url": creds["base_url"],
        "accounts_url": creds["accounts_url"],
        "api_version": version,
        "client_id": creds["client_id"],
    }
    stored = {"client_secret": creds["client_secret"], "refresh_token": creds["refresh_token"], **secrets}
    return Client.from_settings(values, MemoryCredentials(stored, connection_id="conn_zoho"))


def sandbox_of(rs: RunningSandbox) -> ZohoCrmSandbox:
    assert isinstance(rs.sandbox, ZohoCrmSandbox)
    return rs.sandbox


def fixed(moment: float) -> Callable[[], float]:
    return lambda: moment


def refreshes(client: Client) -> int:
    assert isinstance(client.credentials, MemoryCredentials)
    return client.credentials.refreshes


@pytest.fixture
def sandbox_factory() -> Iterator[Factory]:
    """``sandbox_factory("zohocrm", **fault_knobs)`` as in ``tests/sandbox``; all stop at teardown."""
    with ExitStack() as stack:
        yield lambda provider, **knobs: stack.enter_context(running(provider, **knobs))


@pytest.fixture
def zoho(sandbox_factory: Factory) -> RunningSandbox:
    return sandbox_factory("zohocrm")


@pytest.fixture
def client(zoho: RunningSandbox) -> Iterator[Client]:
    made = connect(zoho)
    yield made
    made.close()


def test_settings_name_what_a_connection_needs() -> None:
    settings = {s.name: s for s in zohocrm.SETTINGS}
    assert list(settings) == [
        "base_url",
        "accounts_url",
        "api_version",
        "client_id",
        "client_secret",
        "refresh_token",
        "webhook_secret",
    ]
    assert {n for n, s in settings.items() if s.secret} == {
        "client_secret",
        "refresh_token",
        "webhook_secret",
    }
    assert (
        settings["base_url"].default,
        settings["accounts_url"].default,
        settings["api_version"].default,
    ) == ("https://www.zohoapis.com", "https://accounts.zoho.com", "v4")
    assert not settings["webhook_secret"].required


def test_check_mints_a_token_and_names_the_org(client: Client) -> None:
    assert client.check() == f"Zoho CRM v4 at {client.base_url}: ISAO Sandbox"
    secrets = client.credentials.load()
    assert secrets["access_token"].startswith("1000.")
    assert 3500 < secrets["expires_at"] - time.time() <= 3600
    assert secrets["api_domain"] == client.base_url
    assert refreshes(client) == 1


def test_create_get_update_delete(client: Client) -> None:
    made = client.create("Contacts", {"Last_Name": "Doe", "First_Name": "John", "Email": "john@example.com"})
    record_id = client.record_id(made)
    assert len(record_id) == 19 and made["Last_Name"] == "Doe" and made["Created_Time"]
    got = client.get("Contacts", record_id)
    assert got is not None and got["Full_Name"] == "John Doe"
    assert client.modified_at(got) == got["Modified_Time"]  # already UTC in the sandbox's org
    updated = client.update("Contacts", record_id, {"Phone": "555"})
    assert (updated["id"], updated["Phone"]) == (record_id, "555")
    assert (client.get("Contacts", record_id) or {})["Phone"] == "555"
    client.delete("Contacts", record_id)
    assert client.get("Contacts", record_id) is None
    with pytest.raises(NotFound):
        client.delete("Contacts", record_id)
    with pytest.raises(NotFound):
        client.update("Contacts", record_id, {"Phone": "1"})


def test_modified_at_is_utc() -> None:
    client = Client("https://www.zohoapis.com", MemoryCredentials({}), client_id="1000.X")
    assert client.modified_at({"Modified_Time": "2024-03-02T10:00:00+05:30"}) == "2024-03-02T04:30:00+00:00"
    client.close()


def test_search_by_email_and_by_criteria(client: Client) -> None:
    client.create("Contacts", {"Last_Name": "O'Brien (Jr.), Pat", "Email": "pat@example.com"})
    assert [r["Email"] for r in client.search("Contacts", "Email", "PAT@example.com")] == ["pat@example.com"]
    by_name = client.search("Contacts", "Last_Name", "O'Brien (Jr.), Pat")  # escaped parentheses and comma
    assert [r["Email"] for r in by_name] == ["pat@example.com"]
    assert client.search("Contacts", "Email", "nobody@example.com") == []
    assert client.search("Contacts", "Last_Name", "Nobody") == []


def test_upsert_inserts_then_updates(client: Client) -> None:
    record, created = client.upsert("Contacts", "Email", {"Last_Name": "Doe", "Email": "doe@example.com"})
    assert created is True
    again, created_again = client.upsert(
        "Contacts", "Email", {"Last_Name": "Doe-Smith", "Email": "doe@example.com"}
    )
    assert created_again is False and again["id"] == record["id"]
    assert (client.get("Contacts", record["id"]) or {})["Last_Name"] == "Doe-Smith"


def test_errors_are_classified_with_the_request_and_response(client: Client) -> None:
    with pytest.raises(Invalid) as missing:
        client.create("Contacts", {"First_Name": "No last name"})
    error = missing.value
    assert error.details is not None and error.details["code"] == "MANDATORY_NOT_FOUND"
    assert error.details["details"]["api_name"] == "Last_Name"
    assert error.request is not None and error.request["method"] == "POST"
    assert (
        error.request["url"].endswith("/crm/v4/Contacts") and error.request["body"]["data"][0]["First_Name"]
    )
    assert error.response is not None and error.response["status"] == 400
    assert "Authorization" not in str(error.request)

    with pytest.raises(Invalid, match="INVALID_DATA") as money:
        client.create("Deals", {"Deal_Name": "Order", "Stage": "Closed Won", "Amount": "105.00"})
    assert (
        money.value.details is not None and money.value.details["details"]["expected_data_type"] == "double"
    )

    first = client.create("Accounts", {"Account_Name": "Acme"})
    with pytest.raises(Conflict) as duplicate:
        client.create("Accounts", {"Account_Name": "acme"})
    assert duplicate.value.existing_id == first["id"]

    assert client.get("Contacts", "5843210000000999999") is None
    with pytest.raises(Invalid, match="INVALID_MODULE"):
        client.create("Orders", {"Name": "x"})


def test_batches_chunk_by_100_and_keep_per_record_errors(client: Client) -> None:
    items = [{"Last_Name": f"Person {n}", "Email": f"p{n}@example.com"} for n in range(150)]
    items[120] = {"First_Name": "no last name"}
    items[149] = {"Last_Name": "Clash", "Email": "p0@example.com"}
    result = client.batch_create("Contacts", items)
    assert len(result.results) == 148 and len(result.errors) == 2
    missing, clash = result.errors
    assert isinstance(missing, Invalid) and missing.details is not None and missing.details["index"] == 120
    assert (
        isinstance(clash, Conflict)
        and clash.existing_id == result.results[0]["id"]
        and "record 149" in str(clash)
    )
    assert result.results[0]["Email"] == "p0@example.com" and all(r["id"] for r in result.results)

    updates = [{"id": r["id"], "Title": "Customer"} for r in result.results[:2]]
    updates.append({"id": "5843210000000999999", "Title": "Ghost"})
    updated = client.batch_update("Contacts", updates)
    assert [r["Title"] for r in updated.results] == ["Customer", "Customer"]
    assert len(updated.errors) == 1 and isinstance(updated.errors[0], NotFound)

    upserted = client.batch_upsert(
        "Contacts",
        [{"Last_Name": "P0", "Email": "p0@example.com"}, {"Last_Name": "New", "Email": "new@example.com"}],
        "Email",
    )
    assert [r["id"] == result.results[0]["id"] for r in upserted.results] == [True, False]

    all_bad = client.batch_create("Contacts", [{"First_Name": "a"}, {"First_Name": "b"}])  # HTTP 400
    assert all_bad.results == [] and [type(e) for e in all_bad.errors] == [Invalid, Invalid]
    one_bad = client.batch_create("Contacts", [{"First_Name": "only"}])
    assert one_bad.results == [] and len(one_bad.errors) == 1


def test_list_changed_pages_oldest_first_from_a_moment(zoho: RunningSandbox, client: Client) -> None:
    sandbox = sandbox_of(zoho)
    base = time.time() - 1000
    ids = []
    for n in range(5):
        sandbox.clock = fixed(base + 10 * n)
        ids.append(client.create("Contacts", {"Last_Name": f"c{n}"})["id"])
    sandbox.clock = fixed(base + 100)
    client.update("Contacts", ids[0], {"Title": "moved"})
    sandbox.clock = time.time

    everything, cursor, pages = [], None, 0
    while True:
        page = client.list_changed("Contacts", cursor=cursor, limit=2)
        everything += [r["id"] for r in page.records]
        pages += 1
        if page.cursor is None:
            break
        assert page.cursor != cursor
        cursor = page.cursor
    assert everything == [ids[1], ids[2], ids[3], ids[4], ids[0]] and pages == 3

    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + 30))
    changed = client.list_changed("Contacts", since=since)
    assert [r["id"] for r in changed.records] == [ids[3], ids[4], ids[0]]  # the second of `since` included
    later = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(base + 200))
    assert client.list_changed("Contacts", since=later).records == []  # Zoho's 304
    assert client.list_changed("Leads").records == []  # Zoho's 204
    with pytest.raises(ValueError, match="not a cursor"):
        client.list_changed("Contacts", cursor="bogus")


def test_list_changed_on_v8_sends_fields(zoho: RunningSandbox) -> None:
    v8 = connect(zoho, "v8")
    v8.create("Products", {"Product_Name": "Mug", "Product_Code": "SKU-1", "Unit_Price": 9.5})
    page = v8.list_changed("Products")
    assert [(r["Product_Code"], r["Unit_Price"]) for r in page.records] == [("SKU-1", 9.5)]
    assert "Manufacturer" not in page.records[0]  # not among the default fields
    chosen = v8.list_changed("Products", fields=["Product_Name"])
    assert set(chosen.records[0]) == {"id", "Product_Name", "Modified_Time"}
    v8.close()


def test_list_changed_follows_page_tokens_past_2000_records(zoho: RunningSandbox, client: Client) -> None:
    sandbox = sandbox_of(zoho)
    for n in range(2001):
        record_id = f"58432100000{n + 1:08d}"
        stamp = "2024-01-01T00:00:00+00:00"
        sandbox.store.put(
            "Contacts",
            record_id,
            {
                "id": record_id,
                "Last_Name": f"c{n}",
                "Created_Time": stamp,
                "Modified_Time": stamp,
                "Created_By": {},
                "Modified_By": {},
            },
        )
    cursor: str | None = None
    seen = 0
    for _ in range(20):
        page = client.list_changed("Contacts", cursor=cursor, limit=200)
        seen += len(page.records)
        if page.cursor is None:
            break
        assert page.cursor.startswith("token:")
        cursor = page.cursor
    assert seen == 2001


def test_an_expired_token_is_refreshed_once_mid_run(zoho: RunningSandbox, client: Client) -> None:
    record_id = client.create("Contacts", {"Last_Name": "Before"})["id"]
    stale = client.credentials.load()["access_token"]
    sandbox_of(zoho).tokens.expire_all()  # the client still thinks its token has an hour to live
    assert (client.get("Contacts", record_id) or {})["Last_Name"] == "Before"
    assert refreshes(client) == 2 and client.credentials.load()["access_token"] != stale
    client.update("Contacts", record_id, {"Last_Name": "After"})
    assert refreshes(client) == 2


@pytest.mark.parametrize("start", ["cold", "expired"])
def test_ten_threads_needing_a_token_cause_one_refresh(zoho: RunningSandbox, start: str) -> None:
    record_id = connect(zoho).create("Contacts", {"Last_Name": "Shared"})["id"]
    client = connect(zoho)  # no token yet
    if start == "expired":
        client.check()
        sandbox_of(zoho).tokens.expire_all()  # refused at the next call: the 401 path
    barrier = threading.Barrier(10)
    outcomes: list[Any] = []

    def work() -> None:
        barrier.wait()
        try:
            outcomes.append(client.get("Contacts", record_id))
        except Exception as exc:  # surfaced through the assertion below
            outcomes.append(exc)

    threads = [threading.Thread(target=work) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert [o["Last_Name"] for o in outcomes] == ["Shared"] * 10
    assert refreshes(client) == (1 if start == "cold" else 2)  # exactly one for the ten threads
    client.close()


def test_a_refresh_storm_is_refused_as_rate_limited(zoho: RunningSandbox, client: Client) -> None:
    for _ in range(10):
        client.refresh_token()
    with pytest.raises(RateLimited, match="throttled") as storm:
        client.refresh_token()
    assert storm.value.retry_after == 600
    sent = storm.value.request
    assert sent is not None and sent["url"] == f"{zoho.url}/oauth/v2/token"
    assert (sent["body"]["refresh_token"], sent["body"]["client_secret"]) == ("***", "***")
    assert storm.value.response is not None and storm.value.response["status"] == 400


def test_a_refused_refresh_token_is_invalid_not_auth_expired(zoho: RunningSandbox) -> None:
    revoked = connect(zoho, refresh_token="1000.revoked.refresh")
    with pytest.raises(Invalid, match="invalid_code") as refused:
        revoked.check()
    assert not isinstance(refused.value, AuthExpired)
    assert refused.value.details == {"error": "invalid_code"}
    wrong = connect(zoho, client_secret="wrong")
    with pytest.raises(Invalid, match="invalid_client"):
        wrong.check()


def test_429_with_and_without_retry_after(sandbox_factory: Factory) -> None:
    rs = sandbox_factory("zohocrm", rate_limit=1, rate_window=30)
    client = connect(rs)
    client.check()
    with pytest.raises(RateLimited) as limited:
        client.check()
    assert 1 <= limited.value.retry_after <= 30
    assert limited.value.response is not None and limited.value.response["status"] == 429
    rs.faults(retry_after=False)
    client.check()
    with pytest.raises(RateLimited) as bare:
        client.check()
    assert bare.value.retry_after == Client.default_retry_after == 60
    client.close()


def test_5xx_and_timeouts_are_transient(sandbox_factory: Factory) -> None:
    rs = sandbox_factory("zohocrm", error_rate=1.0)
    client = connect(rs)
    with pytest.raises(Transient, match="INTERNAL_ERROR"):
        client.check()
    rs.faults(error_rate=0.0, timeout_rate=1.0, timeout_seconds=0.05)
    with pytest.raises(Transient, match="504"):
        client.check()
    rs.faults(timeout_seconds=0.6)
    client.http.timeout = httpx.Timeout(0.2)
    with pytest.raises(Transient, match="timed out"):
        client.check()
    client.close()


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        return Response(status_code=200)

    with serve(Starlette(routes=[Route("/hooks/conn_zoho", hook, methods=["POST"])])) as live:
        yield f"{live.url}/hooks/conn_zoho", received


def wait_for(received: list[Any], count: int) -> None:
    deadline = time.monotonic() + 5
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(received) >= count


def test_a_real_notification_verifies_and_parses(
    client: Client, receiver: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    url, received = receiver
    secret = "whsec-zoho-0123456789"
    enabled = client.watch(["Contacts.all"], url, secret, 1000000068001)
    assert enabled["status"] == "success" and enabled["details"]["events"][0]["resource_name"] == "Contacts"
    made = client.create("Contacts", {"Last_Name": "Doe", "Email": "doe@example.com"})
    client.update("Contacts", made["id"], {"Phone": "555", "Email": "doe@example.com"})
    wait_for(received, 2)

    by_topic = {zohocrm.topic(headers, body): (headers, body) for headers, body in received}  # any order
    (headers, created), (_, changed) = by_topic["Contacts.insert"], by_topic["Contacts.update"]
    zohocrm.verify_webhook(secret, headers, created, url=url, method="POST", now=time.time())
    with pytest.raises(SignatureInvalid, match="does not match"):
        zohocrm.verify_webhook("another-secret", headers, created, url=url, method="POST", now=time.time())
    assert set(by_topic) == {"Contacts.insert", "Contacts.update"}
    assert zohocrm.delivery_id(headers, created) is None

    [insert] = client.parse_webhook(headers, created)
    assert (insert.object, insert.id, insert.action, insert.fields) == ("Contacts", made["id"], "created", ())
    assert insert.occurred_at is not None and abs(insert.occurred_at - time.time()) < 60
    assert client.parse_webhook(headers, changed) == [
        Change(
            "Contacts",
            made["id"],
            "updated",
            occurred_at=client.parse_webhook(headers, changed)[0].occurred_at,
            fields=("Phone",),
        )
    ]

    client.unwatch(1000000068001)
    client.delete("Contacts", made["id"])
    time.sleep(0.2)
    assert len(received) == 2


def test_watch_refusals_are_invalid(client: Client) -> None:
    with pytest.raises(Invalid, match="INVALID_DATA"):
        client.watch(["Orders.create"], "https://example.com/hook", "t", 1)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"operation":"merge","module":"Contacts","ids":["1"]}',
        b'{"operation":"insert","ids":["1"]}',
    ],
)
def test_parse_webhook_ignores_what_it_cannot_read(client: Client, body: bytes) -> None:
    assert client.parse_webhook({}, body) == []
