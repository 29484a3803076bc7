"""The request sequences of the seeds' Python clients (IsaoCRMSync, BiDirectionalSync, DealsAPI),
made with plain httpx against a live server, asserting on the fields those clients read."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.conftest import Tenant


def session(tenant: Tenant) -> httpx.Client:
    # like requests.Session with both headers on every request, GETs included
    return httpx.Client(headers=tenant.headers, timeout=30)


def drop_none(data: dict) -> dict:
    return {k: v for k, v in data.items() if v is not None}


def test_isao_crm_sync_main_flow(tenant: Tenant) -> None:
    base = tenant.api
    with session(tenant) as s:
        assert s.get(f"{base}/test").json()["data"]["companyId"] == tenant.company_id

        contact_payload = drop_none(
            {
                "name": "Python Test Contact",
                "phoneNumber": "+33123456789",
                "email": "python@example.com",
                "firstName": "Python",
                "lastName": "Tester",
                "position": "Developer",
                "currentCompany": "Tech Corp",
                "city": None,
                "country": None,
                "tags": ["api", "python"],
            }
        )
        created = s.post(f"{base}/contacts", json=contact_payload)
        created.raise_for_status()
        contact = created.json()["data"]

        # create_contact again: 409 → existingContactId → get_contact
        again = s.post(f"{base}/contacts", json=contact_payload)
        assert again.status_code == 409
        existing_id = again.json().get("existingContactId")
        assert s.get(f"{base}/contacts/{existing_id}").json()["data"]["id"] == contact["id"]

        deal_payload = drop_none(
            {
                "title": "Python Integration Deal",
                "value": 25000.0,
                "currency": "EUR",
                "stage": "proposal",
                "priority": "medium",
                "probability": 60,
                "contactId": contact["id"],
                "description": "Deal created via Python integration",
                "expectedCloseDate": None,
                "source": "api",
            }
        )
        deal = s.post(f"{base}/deals", json=deal_payload)
        deal.raise_for_status()
        deal_id = deal.json()["data"]["id"]

        staged = s.put(f"{base}/deals/{deal_id}/status", json={"stage": "negotiation"})
        staged.raise_for_status()
        assert staged.json()["data"]["stage"] == "negotiation"

        # update_deal_stage(..., status="won") sends a naive local isoformat() with microseconds
        won = s.put(
            f"{base}/deals/{deal_id}/status",
            json={"stage": "closed-won", "status": "won", "actualCloseDate": datetime.now().isoformat()},
        )
        won.raise_for_status()
        assert won.json()["data"]["status"] == "won"


def test_sync_from_salesforce_shaped_contacts(tenant: Tenant) -> None:
    external: list[dict[str, Any]] = [
        {
            "Id": "003A",
            "FirstName": "Ada",
            "LastName": "Lovelace",
            "Phone": "+44 20 7946 0018",
            "Email": "ada@example.co.uk",
            "Title": "Analyst",
            "Account": {"Name": "Engines Ltd"},
            "MailingCity": "London",
            "MailingCountry": "UK",
            "Tags": "vip,math",
        },
        {"Id": "003B", "FirstName": "Ada", "LastName": "Again", "MobilePhone": "+44 20 7946 0018"},
    ]
    results = {"created": 0, "errors": 0}
    with session(tenant) as s:
        for ext in external:
            data = drop_none(
                {
                    "name": f"{ext.get('FirstName', '')} {ext.get('LastName', '')}".strip(),
                    "phoneNumber": ext.get("Phone") or ext.get("MobilePhone"),
                    "email": ext.get("Email"),
                    "firstName": ext.get("FirstName"),
                    "lastName": ext.get("LastName"),
                    "position": ext.get("Title"),
                    "currentCompany": ext.get("Account", {}).get("Name"),
                    "city": ext.get("MailingCity"),
                    "country": ext.get("MailingCountry"),
                    "tags": ext.get("Tags", "").split(",") if ext.get("Tags") else [],
                }
            )
            response = s.post(f"{tenant.api}/contacts", json=data)
            if response.status_code == 409:
                s.get(f"{tenant.api}/contacts/{response.json()['existingContactId']}").raise_for_status()
            else:
                response.raise_for_status()
            results["created"] += 1
        listed = s.get(f"{tenant.api}/contacts", params={"page": 1, "limit": 200}).json()
    assert results == {"created": 2, "errors": 0}
    assert listed["meta"]["total"] == 1
    assert (
        listed["data"][0]["tags"] == ["vip", "math"] and listed["data"][0]["phoneNumber"] == "+442079460018"
    )


def test_export_paginates_until_total_pages(tenant: Tenant) -> None:
    with session(tenant) as s:
        for i in range(203):
            s.post(f"{tenant.api}/contacts", json={"name": f"Export {i}", "tags": []}).raise_for_status()
        exported, page = [], 1
        while True:
            response = s.get(f"{tenant.api}/contacts", params={"page": page, "limit": 200}).json()
            if not response["data"]:
                break
            exported += [
                {
                    "FirstName": c.get("firstName") or c["name"].split()[0],
                    "LastName": c.get("lastName") or " ".join(c["name"].split()[1:]) or "Unknown",
                }
                for c in response["data"]
            ]
            if page >= response["meta"]["totalPages"]:
                break
            page += 1
    assert page == 2 and len(exported) == 203


def test_bidirectional_incremental_reads_updated_at(tenant: Tenant) -> None:
    last_sync = datetime.now().astimezone() - timedelta(days=7)
    with session(tenant) as s:
        s.post(f"{tenant.api}/contacts", json={"name": "Recent"}).raise_for_status()
        contacts = s.get(f"{tenant.api}/contacts", params={"page": 1, "limit": 200}).json()["data"]
    updated = [
        c for c in contacts if datetime.fromisoformat(c["updatedAt"].replace("Z", "+00:00")) > last_sync
    ]
    assert [c["name"] for c in updated] == ["Recent"]


def test_deals_api_python_reference_flow(tenant: Tenant) -> None:
    base = tenant.api
    with session(tenant) as s:
        contact = s.post(f"{base}/contacts", json={"name": "Buyer"}).json()["data"]
        new_deal = s.post(
            f"{base}/deals",
            json={
                "title": "E-commerce Platform",
                "description": "Custom e-commerce solution with integrations",
                "value": 120000,
                "currency": "EUR",
                "stage": "qualification",
                "priority": "high",
                "probability": 50,
                "expectedCloseDate": "2025-02-28",
                "source": "website",
                "contactId": contact["id"],
            },
        )
        new_deal.raise_for_status()
        deal = new_deal.json()
        assert deal["data"]["expectedCloseDate"] == "2025-02-28T00:00:00.000Z"

        def list_deals(**params: object) -> dict:
            response = s.get(f"{base}/deals", params=drop_none({"page": 1, "limit": 50, **params}))
            response.raise_for_status()
            return response.json()

        pipeline = list_deals(status="open", stage=None, createdSince=None, updatedSince=None)
        assert pipeline["meta"]["total"] == 1

        s.put(
            f"{base}/deals/{deal['data']['id']}/status",
            json={"status": "won", "actualCloseDate": datetime.now().isoformat()},
        ).raise_for_status()
        won = list_deals(status="won", limit=100)
        assert len(won["data"]) == 1 and won["data"][0]["status"] == "won"
        assert s.get(f"{base}/deals/{deal['data']['id']}").json()["data"]["actualCloseDate"] is not None

        try:
            s.get(f"{base}/deals/deal_missing").raise_for_status()
        except httpx.HTTPStatusError as error:
            assert error.response.status_code == 404
            assert error.response.json() == {"success": False, "error": "Deal not found"}
