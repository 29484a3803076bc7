from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def create(api: httpx.Client, **fields: object) -> dict:
    response = api.post("/contacts", json=fields)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_create_returns_every_documented_field(api: httpx.Client) -> None:
    response = api.post(
        "/contacts",
        json={
            "name": "Alice Johnson",
            "firstName": "Alice",
            "lastName": "Johnson",
            "phoneNumber": "+33 1 23 45 67 89",
            "email": "Alice@Example.com",
            "position": "CTO",
            "currentCompany": "Tech Innovations",
            "city": "Paris",
            "country": "France",
            "tags": ["technical", "decision-maker", "technical"],
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    assert data["id"].startswith("contact_")
    assert data["phoneNumber"] == "+33123456789"
    assert data["email"] == "alice@example.com"
    assert data["tags"] == ["technical", "decision-maker"]
    assert (data["position"], data["currentCompany"], data["city"], data["country"]) == (
        "CTO",
        "Tech Innovations",
        "Paris",
        "France",
    )
    assert ISO_MS.match(data["createdAt"]) and data["createdAt"] == data["updatedAt"]
    assert api.get(f"/contacts/{data['id']}").json()["data"] == data


def test_name_is_derived_from_first_and_last_name(api: httpx.Client) -> None:
    assert create(api, firstName="Bob", lastName="Wilson")["name"] == "Bob Wilson"


def test_phone_without_country_code_uses_default_region(api: httpx.Client) -> None:
    assert create(api, name="Local", phoneNumber="01 23 45 67 88")["phoneNumber"] == "+33123456788"


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({}, "name", "Name is required"),
        ({"name": "X", "email": "not-an-email"}, "email", "Email must be a valid email address"),
        ({"name": "X", "phoneNumber": "call me"}, "phoneNumber", "Phone number is not a valid phone number"),
        ({"name": "X", "tags": "vip"}, "tags", "Tags must be an array"),
        ({"name": "x" * 256}, "name", "Name must be at most 255 characters"),
    ],
)
def test_validation_errors_name_the_field(api: httpx.Client, payload: dict, field: str, message: str) -> None:
    response = api.post("/contacts", json=payload)
    assert response.status_code == 422
    assert response.json() == {"success": False, "error": "Validation failed", "details": {field: message}}


def test_malformed_json_is_a_400(tenant: Tenant) -> None:
    response = httpx.post(f"{tenant.api}/contacts", content=b'{"name": ', headers=tenant.headers)
    assert response.status_code == 400
    assert response.json()["success"] is False and response.json()["error"] == "Invalid JSON"


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        ({"email": "dup@example.com"}, {"email": "DUP@example.com"}, "email"),
        ({"phoneNumber": "+33612345678"}, {"phoneNumber": "06 12 34 56 78"}, "phoneNumber"),
    ],
)
def test_duplicate_email_or_phone_is_409_with_existing_id(
    api: httpx.Client, first: dict, second: dict, field: str
) -> None:
    existing = create(api, name="First", **first)
    response = api.post("/contacts", json={"name": "Second", **second})
    assert response.status_code == 409
    body = response.json()
    assert body["success"] is False
    assert body["existingContactId"] == existing["id"]
    assert body["field"] == field


def test_put_is_a_partial_update(api: httpx.Client) -> None:
    contact = create(api, name="Tag Me", email="tags@example.com", tags=["website-lead", "unqualified"])
    response = api.put(f"/contacts/{contact['id']}", json={"tags": ["website-lead", "qualified"]})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["tags"] == ["website-lead", "qualified"]
    assert data["email"] == "tags@example.com" and data["name"] == "Tag Me"
    assert data["updatedAt"] >= contact["updatedAt"]


def test_update_to_another_contacts_email_is_409(api: httpx.Client) -> None:
    a = create(api, name="A", email="a@example.com")
    b = create(api, name="B", email="b@example.com")
    response = api.put(f"/contacts/{b['id']}", json={"email": "a@example.com"})
    assert response.status_code == 409
    assert response.json()["existingContactId"] == a["id"]


def test_delete_then_404(api: httpx.Client) -> None:
    contact = create(api, name="Gone")
    response = api.delete(f"/contacts/{contact['id']}")
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"id": contact["id"], "deleted": True}}
    missing = api.get(f"/contacts/{contact['id']}")
    assert missing.status_code == 404
    assert missing.json() == {"success": False, "error": "Contact not found"}
    assert api.delete(f"/contacts/{contact['id']}").status_code == 404
    assert api.put(f"/contacts/{contact['id']}", json={"name": "x"}).status_code == 404


def test_pagination_edges(api: httpx.Client) -> None:
    ids = [create(api, name=f"P{i}")["id"] for i in range(5)]
    first = api.get("/contacts", params={"limit": 2}).json()
    assert first["meta"] == {"page": 1, "limit": 2, "total": 5, "totalPages": 3}
    assert [c["id"] for c in first["data"]] == ids[::-1][:2]  # newest first
    last = api.get("/contacts", params={"limit": 2, "page": 3}).json()
    assert [c["id"] for c in last["data"]] == [ids[0]]
    beyond = api.get("/contacts", params={"limit": 2, "page": 4}).json()
    assert beyond["data"] == [] and beyond["meta"]["total"] == 5
    exact = api.get("/contacts", params={"limit": 5}).json()
    assert exact["meta"]["totalPages"] == 1 and len(exact["data"]) == 5
    oldest_first = api.get("/contacts", params={"sort": "createdAt"}).json()
    assert [c["id"] for c in oldest_first["data"]] == ids
    assert api.get("/contacts", params={"limit": 200}).status_code == 200


def test_empty_list_has_zero_pages(api: httpx.Client) -> None:
    assert api.get("/contacts").json() == {
        "success": True,
        "data": [],
        "meta": {"page": 1, "limit": 50, "total": 0, "totalPages": 0},
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 201}, "limit"),
        ({"limit": 0}, "limit"),
        ({"page": 0}, "page"),
        ({"page": "x"}, "page"),
        ({"createdSince": "yesterday"}, "createdSince"),
        ({"sort": "name"}, "sort"),
    ],
)
def test_bad_list_parameters_are_422(api: httpx.Client, params: dict, field: str) -> None:
    response = api.get("/contacts", params=params)
    assert response.status_code == 422
    assert field in response.json()["details"]


def test_filters(api: httpx.Client) -> None:
    alice = create(
        api, name="Alice Martin", email="alice@shop.example", currentCompany="Shop SARL", tags=["vip"]
    )
    bob = create(api, name="Bob Stone", email="bob@other.example", tags=["lead", "vip"])
    carol = create(api, name="Carol 100%", tags=["lead"])

    def ids(**params: Any) -> list[str]:
        return [c["id"] for c in api.get("/contacts", params=params).json()["data"]]

    assert ids(search="shop") == [alice["id"]]
    assert ids(search="STONE") == [bob["id"]]
    assert ids(search="100%") == [carol["id"]]
    assert ids(search="%") == [carol["id"]]
    assert ids(email="ALICE@shop.example") == [alice["id"]]
    assert set(ids(tag="vip")) == {alice["id"], bob["id"]}
    assert ids(tag="lead", search="carol") == [carol["id"]]
    assert ids(tag="nope") == []
    assert set(ids(createdSince=carol["createdAt"])) >= {carol["id"]}
    assert alice["id"] not in ids(createdSince="2999-01-01")

    updated = api.put(f"/contacts/{alice['id']}", json={"city": "Lyon"}).json()["data"]
    assert alice["id"] in ids(updatedSince=updated["updatedAt"])
    assert ids(updatedSince="2999-01-01T00:00:00.000Z") == []


def test_list_pages_render_exactly_like_single_records(api: httpx.Client) -> None:
    """Lists are rendered to JSON by the database, single records by Python: they must agree."""
    full = create(
        api,
        name='Zoë "Q" O\'Brien',
        firstName="Zoë",
        lastName="O'Brien",
        email="zoe@example.com",
        phoneNumber="+44 20 7946 0958",
        position="CTO",
        currentCompany="Tech & Co",
        city="Paris",
        country="France",
        tags=["vip", "émoji 🎉"],
    )
    bare = create(api, name="Bare")
    listed = {c["id"]: c for c in api.get("/contacts").json()["data"]}
    for contact in (full, bare):
        assert listed[contact["id"]] == api.get(f"/contacts/{contact['id']}").json()["data"] == contact


def test_nul_characters_are_refused_not_stored(api: httpx.Client) -> None:
    body = api.post("/contacts", json={"name": "Nul\u0000Byte"})
    assert body.status_code == 422 and "name" in body.json()["details"]
    tags = api.post("/contacts", json={"name": "ok", "tags": ["a\u0000"]})
    assert tags.status_code == 422 and "tags" in tags.json()["details"]
    query = api.get("/contacts", params={"search": "a\u0000b"})
    assert query.status_code == 422 and query.json()["error"] == "Validation failed"
    assert api.get("/contacts/contact%00x").status_code == 422
