from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def contact(api: httpx.Client) -> dict:
    response = api.post(
        "/contacts",
        json={
            "name": "John Smith",
            "email": "john@techcorp.com",
            "phoneNumber": "+33123456789",
            "currentCompany": "Tech Corp",
        },
    )
    return response.json()["data"]


def new_deal(api: httpx.Client, **fields: object) -> dict:
    response = api.post("/deals", json={"title": "Deal", "value": 100, **fields})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_create_as_documented(api: httpx.Client, tenant: Tenant, contact: dict) -> None:
    user_id = tenant.user()
    response = api.post(
        "/deals",
        json={
            "title": "Website Redesign Project",
            "description": "Complete website redesign and development",
            "value": 25000,
            "currency": "EUR",
            "stage": "proposal",
            "priority": "medium",
            "probability": 60,
            "expectedCloseDate": "2024-12-30",
            "source": "website",
            "contactId": contact["id"],
            "assignedToId": user_id,
        },
    )
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["id"].startswith("deal_")
    assert data["value"] == 25000 and data["currency"] == "EUR" and data["status"] == "open"
    assert data["expectedCloseDate"] == "2024-12-30T00:00:00.000Z"
    assert data["actualCloseDate"] is None
    assert data["contact"] == {
        "id": contact["id"],
        "name": "John Smith",
        "email": "john@techcorp.com",
        "phoneNumber": "+33123456789",
        "currentCompany": "Tech Corp",
    }
    assert data["assignedTo"] == {"id": user_id, "name": "Sales Rep", "email": "sales@isao.io"}
    assert ISO_MS.match(data["createdAt"]) and ISO_MS.match(data["updatedAt"])
    assert api.get(f"/deals/{data['id']}").json() == {"success": True, "data": data}


def test_defaults(api: httpx.Client) -> None:
    data = new_deal(api, title="Minimal", value=50000.0)
    assert (data["currency"], data["priority"], data["status"]) == ("EUR", "medium", "open")
    assert data["contact"] is None and data["assignedTo"] is None and data["value"] == 50000


def test_money_and_currency_are_normalised(api: httpx.Client) -> None:
    data = new_deal(api, value=0.1 + 0.2, currency="usd")
    assert data["value"] == 0.3 and data["currency"] == "USD"


def test_validation_failed_body(api: httpx.Client) -> None:
    response = api.post("/deals", json={"value": -5})
    assert response.status_code == 422
    assert response.json() == {
        "success": False,
        "error": "Validation failed",
        "details": {"title": "Title is required", "value": "Value must be a positive number"},
    }
    bad = api.post(
        "/deals",
        json={
            "title": "x",
            "value": 1,
            "priority": "urgent",
            "probability": 101,
            "expectedCloseDate": "soon",
            "status": "maybe",
        },
    ).json()["details"]
    assert set(bad) == {"priority", "probability", "expectedCloseDate", "status"}
    assert bad["probability"] == "Probability must be at most 100"


def test_unknown_contact_is_400(api: httpx.Client) -> None:
    response = api.post("/deals", json={"title": "x", "value": 1, "contactId": "contact_456"})
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "Contact not found or does not belong to your company",
    }


def test_contact_of_another_company_is_400(api: httpx.Client, other_tenant: Tenant) -> None:
    with other_tenant.client() as other:
        foreign = other.post("/contacts", json={"name": "Foreign"}).json()["data"]
    response = api.post("/deals", json={"title": "x", "value": 1, "contactId": foreign["id"]})
    assert response.status_code == 400
    assert response.json()["error"] == "Contact not found or does not belong to your company"
    foreign_user = other_tenant.user()
    assert (
        api.post("/deals", json={"title": "x", "value": 1, "assignedToId": foreign_user}).status_code == 400
    )


def test_mark_won_with_close_date(api: httpx.Client) -> None:
    deal = new_deal(api, stage="proposal")
    response = api.put(
        f"/deals/{deal['id']}/status",
        json={"status": "won", "stage": "closed-won", "actualCloseDate": "2024-11-08T15:30:00.000Z"},
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["status"], data["stage"], data["actualCloseDate"]) == (
        "won",
        "closed-won",
        "2024-11-08T15:30:00.000Z",
    )


@pytest.mark.parametrize("status", ["won", "lost"])
def test_close_without_date_sets_now(api: httpx.Client, status: str) -> None:
    deal = new_deal(api)
    before = datetime.now(UTC) - timedelta(seconds=1)
    data = api.put(f"/deals/{deal['id']}/status", json={"status": status}).json()["data"]
    closed = datetime.fromisoformat(data["actualCloseDate"].replace("Z", "+00:00"))
    assert before <= closed <= datetime.now(UTC) + timedelta(seconds=1)


@pytest.mark.parametrize(
    "date", ["2024-11-08T16:30:00+01:00", "2024-11-08T15:30:00", "2024-11-08T15:30:00.123456"]
)
def test_close_dates_as_php_and_python_clients_send_them(api: httpx.Client, date: str) -> None:
    deal = new_deal(api)
    data = api.put(f"/deals/{deal['id']}/status", json={"status": "lost", "actualCloseDate": date}).json()[
        "data"
    ]
    assert data["actualCloseDate"].startswith("2024-11-08T15:30:00.")


def test_stage_and_probability_only(api: httpx.Client) -> None:
    deal = new_deal(api, stage="discovery")
    data = api.put(f"/deals/{deal['id']}/status", json={"stage": "proposal", "probability": 60}).json()[
        "data"
    ]
    assert (data["stage"], data["probability"], data["status"]) == ("proposal", 60, "open")


def test_reopening_clears_the_close_date(api: httpx.Client) -> None:
    deal = new_deal(api, status="lost")
    assert deal["actualCloseDate"] is not None
    data = api.put(f"/deals/{deal['id']}/status", json={"status": "open"}).json()["data"]
    assert data["status"] == "open" and data["actualCloseDate"] is None


def test_status_update_errors(api: httpx.Client) -> None:
    deal = new_deal(api)
    empty = api.put(f"/deals/{deal['id']}/status", json={})
    assert empty.status_code == 422 and "status" in empty.json()["details"]
    bad = api.put(f"/deals/{deal['id']}/status", json={"status": "closed"})
    assert bad.status_code == 422 and bad.json()["details"]["status"].startswith("Status must be one of")
    missing = api.put("/deals/deal_123/status", json={"status": "won"})
    assert missing.status_code == 404 and missing.json() == {"success": False, "error": "Deal not found"}


def test_full_update_and_delete(api: httpx.Client, contact: dict) -> None:
    deal = new_deal(api)
    data = api.put(
        f"/deals/{deal['id']}", json={"value": 1500.5, "contactId": contact["id"], "title": "Renamed"}
    ).json()["data"]
    assert (data["value"], data["title"], data["contact"]["id"]) == (1500.5, "Renamed", contact["id"])
    unlinked = api.put(f"/deals/{deal['id']}", json={"contactId": None}).json()["data"]
    assert unlinked["contact"] is None
    assert api.put(f"/deals/{deal['id']}", json={"title": None}).status_code == 422
    assert api.delete(f"/deals/{deal['id']}").json()["data"] == {"id": deal["id"], "deleted": True}
    assert api.get(f"/deals/{deal['id']}").status_code == 404


def test_deleting_a_contact_unlinks_its_deals(api: httpx.Client, contact: dict) -> None:
    deal = new_deal(api, contactId=contact["id"])
    api.delete(f"/contacts/{contact['id']}")
    assert api.get(f"/deals/{deal['id']}").json()["data"]["contact"] is None


def test_list_filters_and_meta(api: httpx.Client, contact: dict) -> None:
    a = new_deal(api, stage="negotiation")
    b = new_deal(api, stage="proposal", contactId=contact["id"])
    c = new_deal(api, stage="negotiation", status="won")

    def ids(**params: Any) -> list[str]:
        body = api.get("/deals", params=params).json()
        assert body["success"] is True
        return [d["id"] for d in body["data"]]

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(status="open") == [b["id"], a["id"]]
    assert ids(status="open", stage="negotiation") == [a["id"]]
    assert ids(contactId=contact["id"]) == [b["id"]]
    assert ids(createdSince=b["createdAt"]) == [c["id"], b["id"]]
    assert ids(updatedSince="2999-01-01T00:00:00.000Z") == []
    meta = api.get("/deals", params={"status": "open", "stage": "negotiation", "limit": 10}).json()["meta"]
    assert meta == {"page": 1, "limit": 10, "total": 1, "totalPages": 1}
    assert api.get("/deals").json()["meta"]["limit"] == 50
    assert api.get("/deals", params={"status": "pending"}).status_code == 422
    assert api.get("/deals", params={"limit": 201}).status_code == 422

    api.put(f"/deals/{a['id']}/status", json={"stage": "closed"})
    assert ids(sort="-updatedAt")[0] == a["id"]


def test_list_pages_render_exactly_like_single_records(
    api: httpx.Client, tenant: Tenant, contact: dict
) -> None:
    """Lists are rendered to JSON by the database, single records by Python: they must agree."""
    user_id = tenant.user()
    full = new_deal(
        api,
        title='Full ünïcödé "quoted"',
        value=1500.5,
        currency="usd",
        stage="proposal",
        priority="high",
        probability=62.4,
        expectedCloseDate="2025-02-28T13:45:12.345Z",
        source="referral",
        contactId=contact["id"],
        assignedToId=user_id,
        description="line1\nline2",
    )
    bare = new_deal(api, title="Bare", value=0)
    lost = new_deal(
        api, title="Lost", value=10**9, status="lost", actualCloseDate="2024-11-08T16:30:00+01:00"
    )
    listed = {d["id"]: d for d in api.get("/deals", params={"limit": 10}).json()["data"]}
    for deal in (full, bare, lost):
        assert listed[deal["id"]] == api.get(f"/deals/{deal['id']}").json()["data"] == deal
    assert listed[lost["id"]]["actualCloseDate"] == "2024-11-08T15:30:00.000Z"
