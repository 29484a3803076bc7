"""Every method of the blocking client against the live API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from isao.client import IsaoClient, NotFoundError, Page
from isao.crm import keys
from tests.client.conftest import Sleeps
from tests.conftest import Tenant


def test_test_reports_the_keys_company_and_scopes(client: IsaoClient, tenant: Tenant) -> None:
    info = client.test()
    assert info["companyId"] == tenant.company_id
    assert info["companyName"] == "Acme"
    assert info["keyName"] == "tests"
    assert sorted(info["scopes"]) == sorted(keys.SCOPES)


def test_contact_create_get_update_delete(client: IsaoClient) -> None:
    created = client.contacts.create(
        first_name="Ada", last_name="Lovelace", email="ADA@example.com", tags=["vip", "vip", "math"]
    )
    assert created["name"] == "Ada Lovelace"  # derived from the snake_case keywords, sent as camelCase
    assert created["firstName"] == "Ada" and created["email"] == "ada@example.com"
    assert created["tags"] == ["vip", "math"]

    assert client.contacts.get(created["id"]) == created

    updated = client.contacts.update(created["id"], {"city": "London", "phoneNumber": "+44 20 7946 0958"})
    assert updated["city"] == "London" and updated["phoneNumber"] == "+442079460958"
    assert updated["email"] == "ada@example.com"  # partial: untouched fields keep their value
    cleared = client.contacts.update(created["id"], city=None)
    assert cleared["city"] is None and cleared["phoneNumber"] == "+442079460958"

    assert client.contacts.delete(created["id"]) == {"id": created["id"], "deleted": True}
    with pytest.raises(NotFoundError):
        client.contacts.get(created["id"])
    with pytest.raises(NotFoundError):
        client.contacts.delete(created["id"])


def test_contact_list_filters_and_page(client: IsaoClient) -> None:
    ada = client.contacts.create({"name": "Ada", "email": "ada@example.com", "tags": ["vip"]})
    client.contacts.create(name="Grace", email="grace@example.com", tags=["navy"])

    page = client.contacts.list(tag="vip")
    assert isinstance(page, Page)
    assert [c["id"] for c in page] == [ada["id"]] and len(page) == 1
    assert (page.page, page.limit, page.total, page.total_pages) == (1, 50, 1, 1)
    assert page.meta == {"page": 1, "limit": 50, "total": 1, "totalPages": 1}
    assert not page.has_next

    assert [c["name"] for c in client.contacts.list(email="GRACE@example.com").data] == ["Grace"]
    assert [c["name"] for c in client.contacts.list(search="gra").data] == ["Grace"]
    oldest_first = client.contacts.list(sort="createdAt", limit=1)
    assert oldest_first.data[0]["name"] == "Ada" and oldest_first.total_pages == 2 and oldest_first.has_next
    future = datetime.now(UTC) + timedelta(days=1)
    assert client.contacts.list(created_since=future).total == 0  # snake_case → createdSince, datetime → ISO
    assert client.contacts.list(updated_since=date(2000, 1, 1)).total == 2


def test_contacts_iterate_walks_every_page(client: IsaoClient) -> None:
    ids = [client.contacts.create(name=f"Person {n}", email=f"p{n}@example.com")["id"] for n in range(5)]
    assert client.contacts.list(limit=2).total_pages == 3

    walked = [c["id"] for c in client.contacts.iterate(limit=2, sort="createdAt")]
    assert walked == ids  # three pages of 2, 2 and 1, in order, no repeats
    assert sorted(c["id"] for c in client.contacts.iterate()) == sorted(ids)  # default: 200 a page
    assert [c["id"] for c in client.contacts.iterate(email="p3@example.com")] == [ids[3]]
    assert list(client.contacts.iterate(tag="nobody")) == []


def test_upsert_creates_then_updates_through_the_conflict(client: IsaoClient) -> None:
    first = client.contacts.upsert(name="Ada", email="ada@example.com", city="Paris")
    second = client.contacts.upsert({"name": "Ada L.", "email": "ada@example.com", "city": "London"})
    assert second["id"] == first["id"]
    assert second["name"] == "Ada L." and second["city"] == "London"
    assert client.contacts.list().total == 1
    by_phone = client.contacts.upsert(name="Ada", phone_number="+33 6 12 34 56 78")
    again = client.contacts.upsert(name="Ada", phone_number="+33612345678", position="CTO")
    assert again["id"] == by_phone["id"] and again["position"] == "CTO"


def test_deal_lifecycle(client: IsaoClient) -> None:
    contact = client.contacts.create(name="Ada", email="ada@example.com")
    deal = client.deals.create(
        title="Engines",
        value=Decimal("12000.50"),
        currency="eur",
        contact_id=contact["id"],
        expected_close_date=date(2025, 3, 1),
    )
    assert deal["value"] == 12000.5 and deal["currency"] == "EUR" and deal["status"] == "open"
    assert deal["contact"]["id"] == contact["id"]
    assert deal["expectedCloseDate"] == "2025-03-01T00:00:00.000Z"
    assert client.deals.get(deal["id"]) == deal

    updated = client.deals.update(deal["id"], description="Analytical", priority="high")
    assert updated["description"] == "Analytical" and updated["title"] == "Engines"

    staged = client.deals.update_status(deal["id"], stage="negotiation", probability=60)
    assert (staged["stage"], staged["probability"], staged["status"]) == ("negotiation", 60, "open")

    won = client.deals.mark_won(deal["id"])
    assert won["status"] == "won" and won["actualCloseDate"] is not None

    lost = client.deals.mark_lost(deal["id"], close_date=date(2024, 12, 30))
    assert lost["status"] == "lost" and lost["actualCloseDate"] == "2024-12-30T00:00:00.000Z"

    reopened = client.deals.update_status(deal["id"], status="open")
    assert reopened["status"] == "open" and reopened["actualCloseDate"] is None

    assert client.deals.delete(deal["id"]) == {"id": deal["id"], "deleted": True}
    with pytest.raises(NotFoundError):
        client.deals.get(deal["id"])


def test_update_status_needs_something_to_change(client: IsaoClient) -> None:
    with pytest.raises(ValueError, match="at least one"):
        client.deals.update_status("deal_x")


def test_deal_list_filters_and_iterate(client: IsaoClient) -> None:
    contact = client.contacts.create(name="Ada", email="ada@example.com")
    ids = [client.deals.create(title=f"Deal {n}", value=n * 100)["id"] for n in range(4)]
    client.deals.mark_won(ids[0])
    client.deals.update(ids[1], contact_id=contact["id"], stage="demo")

    assert [d["id"] for d in client.deals.list(status="won").data] == [ids[0]]
    assert [d["id"] for d in client.deals.list(contact_id=contact["id"]).data] == [ids[1]]
    assert [d["id"] for d in client.deals.list(stage="demo").data] == [ids[1]]
    assert client.deals.list(status="open", limit=1).total_pages == 3
    assert [d["id"] for d in client.deals.iterate(limit=1, sort="createdAt")] == ids
    assert sorted(d["id"] for d in client.deals.iterate(status="open", limit=2)) == sorted(ids[1:])


def test_webhooks_subscribe_list_delete(client: IsaoClient) -> None:
    hook = client.webhooks.subscribe("deal.won", "https://hooks.example.com/isao")
    assert hook["event"] == "deal.won" and hook["target_url"] == "https://hooks.example.com/isao"
    assert hook["secret"].startswith("whsec_")

    listed = client.webhooks.list()
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "secret" not in listed[0]  # shown once, at subscription

    assert client.webhooks.delete(hook["id"]) == {"id": hook["id"], "deleted": True}
    assert client.webhooks.list() == []
    with pytest.raises(NotFoundError):
        client.webhooks.delete(hook["id"])


def test_request_returns_the_whole_envelope(client: IsaoClient) -> None:
    client.contacts.create(name="Ada")
    envelope = client.request("get", "/contacts", params={"limit": 1})
    assert envelope["success"] is True and envelope["meta"]["total"] == 1


def test_no_request_was_retried(client: IsaoClient, sleeps: Sleeps) -> None:
    client.contacts.create(name="Ada", email="ada@example.com")
    with pytest.raises(NotFoundError):
        client.contacts.get("contact_missing")
    assert sleeps.calls == []
