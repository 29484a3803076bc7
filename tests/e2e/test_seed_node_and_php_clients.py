"""The request sequences of the seeds' Node.js (axios) and PHP (Guzzle, curl) clients over real HTTP.

axios joins ``baseURL + '/test'``; Guzzle resolves ``'/test'`` against ``base_uri`` to the host root, so
the PHP e-commerce flow below goes through the root alias; the PHP DealsAPI concatenates strings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

from tests.conftest import Tenant

PARIS = timezone(timedelta(hours=1))


def axios(tenant: Tenant) -> httpx.Client:
    return httpx.Client(base_url=tenant.api, headers=tenant.headers, timeout=30)


def guzzle(tenant: Tenant) -> httpx.Client:
    origin = tenant.api.removesuffix("/api/external")
    return httpx.Client(base_url=origin, headers=tenant.headers, timeout=30)


def js_iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{datetime.now(UTC).microsecond // 1000:03d}Z"


def php_date_c() -> str:
    return datetime.now(PARIS).replace(microsecond=0).isoformat()


def upsert_contact(client: httpx.Client, data: dict) -> dict:
    response = client.post("/contacts", json=data)
    if response.status_code == 409:
        existing = response.json()["existingContactId"]
        updated = client.put(f"/contacts/{existing}", json=data)
        updated.raise_for_status()
        return updated.json()["data"]
    response.raise_for_status()
    return response.json()["data"]


def test_node_isao_integration(tenant: Tenant) -> None:
    with axios(tenant) as client:
        assert client.get("/test").status_code == 200
        for event in ["contact.created", "contact.updated", "deal.created", "deal.won", "deal.lost"]:
            client.post(
                "/webhooks/subscribe",
                json={"event": event, "target_url": "http://localhost:3000/webhook/isao"},
            ).raise_for_status()

        crm = {
            "first_name": "Alice",
            "last_name": "Johnson",
            "email": "alice@example.com",
            "phone": "+33123456789",
            "company": "Tech Innovations",
            "job_title": "CTO",
            "city": "Paris",
            "country": "France",
            "tags": ["technical", "decision-maker"],
        }
        transformed = {
            "name": f"{crm['first_name']} {crm['last_name']}",
            "firstName": crm["first_name"],
            "lastName": crm["last_name"],
            "phoneNumber": crm["phone"],
            "email": crm["email"],
            "position": crm["job_title"],
            "currentCompany": crm["company"],
            "city": crm["city"],
            "country": crm["country"],
            "tags": crm["tags"],
        }
        first = upsert_contact(client, transformed)
        second = upsert_contact(client, {**transformed, "position": "CEO"})  # 409 → PUT existingContactId
        assert second["id"] == first["id"] and second["position"] == "CEO"

        contact = upsert_contact(
            client,
            {
                "name": "Bob Wilson",
                "phoneNumber": "+33987654321",
                "email": "bob@example.com",
                "currentCompany": "Wilson Corp",
            },
        )
        deal = client.post(
            "/deals",
            json={
                "title": "Enterprise Software License",
                "description": "Annual license for 100 users",
                "value": 50000,
                "currency": "EUR",
                "stage": "qualification",
                "priority": "high",
                "probability": 75,
                "expectedCloseDate": "2024-12-31",
                "source": "website",
                "contactId": contact["id"],
            },
        )
        deal.raise_for_status()
        deal_id = deal.json()["data"]["id"]

        staged = client.put(f"/deals/{deal_id}/status", json={"stage": "proposal"}).json()["data"]
        assert staged["stage"] == "proposal"
        won = client.put(
            f"/deals/{deal_id}/status",
            json={"stage": "closed-won", "status": "won", "actualCloseDate": js_iso_now()},
        ).json()["data"]
        assert (won["status"], won["contact"]["email"]) == ("won", "bob@example.com")

        # DealsAPI.listDeals: axios drops undefined params
        listed = client.get("/deals", params={"page": 1, "limit": 50, "status": "won"}).json()
        assert listed["meta"]["total"] == 1 and listed["data"][0]["id"] == deal_id


def test_node_lead_management_workflow(tenant: Tenant) -> None:
    with axios(tenant) as client:
        form = {
            "firstName": "Dana",
            "lastName": "Scully",
            "phone": "+33611223344",
            "email": "dana@fbi.example",
            "company": "FBI",
            "interest": "enterprise",
            "message": "Need it ASAP",
        }
        contact = client.post(
            "/contacts",
            json={
                "name": f"{form['firstName']} {form['lastName']}",
                "firstName": form["firstName"],
                "lastName": form["lastName"],
                "phoneNumber": form["phone"],
                "email": form["email"],
                "currentCompany": form["company"],
                "tags": ["website-lead", "unqualified"],
            },
        ).json()["data"]
        deal = client.post(
            "/deals",
            json={
                "title": f"{form['company']} - {form['interest']}",
                "description": f"Website inquiry: {form['message']}",
                "value": 50000,
                "stage": "lead",
                "priority": "high",
                "probability": 20,
                "source": "website",
                "contactId": contact["id"],
            },
        ).json()["data"]
        assert deal["currency"] == "EUR"

        qualified = client.put(
            f"/deals/{deal['id']}/status", json={"stage": "qualified", "probability": 85}
        ).json()["data"]
        fetched = client.get(f"/contacts/{qualified['contact']['id']}").json()["data"]
        tags = [t for t in fetched["tags"] if t != "unqualified"] + ["qualified", "hot-lead"]
        updated = client.put(f"/contacts/{fetched['id']}", json={"tags": tags}).json()["data"]
        assert updated["tags"] == ["website-lead", "qualified", "hot-lead"]

        for stage, probability, status in [
            ("proposal", 60, None),
            ("negotiation", 80, None),
            ("closed-won", 100, "won"),
        ]:
            body: dict = {"stage": stage, "probability": probability}
            if status:
                body |= {"status": status, "actualCloseDate": js_iso_now()}
            progressed = client.put(f"/deals/{deal['id']}/status", json=body).json()["data"]
        assert (progressed["status"], progressed["probability"], progressed["contact"]["name"]) == (
            "won",
            100,
            "Dana Scully",
        )


def test_php_ecommerce_integration_through_guzzle_paths(tenant: Tenant) -> None:
    with guzzle(tenant) as client:
        assert client.get("/test").json()["data"]["companyId"] == tenant.company_id
        customer = {
            "id": 7,
            "first_name": "John",
            "last_name": "Doe",
            "email": "john@example.com",
            "billing": {"phone": "+33123456789", "city": "Paris", "country": "FR"},
        }
        contact_data = {
            "name": "John Doe",
            "firstName": "John",
            "lastName": "Doe",
            "phoneNumber": "+33123456789",
            "email": customer["email"],
            "city": "Paris",
            "country": "FR",
            "tags": ["ecommerce", "customer", "vip"],
        }
        contact = client.post("/contacts", json=contact_data).json()["data"]
        conflict = client.post("/contacts", json=contact_data)
        assert conflict.status_code == 409
        assert (
            client.get(f"/contacts/{conflict.json()['existingContactId']}").json()["data"]["id"]
            == contact["id"]
        )

        order: dict[str, Any] = {
            "id": 1234,
            "number": "1234",
            "total": "149.90",
            "total_tax": "24.98",
            "shipping_total": "5.00",
            "currency": "eur",
            "status": "pending",
            "line_items": [{"name": "T-shirt", "quantity": 2}],
        }
        value = float(order["total"]) - float(order["total_tax"]) - float(order["shipping_total"])
        deal = client.post(
            "/deals",
            json={
                "title": f"Order #{order['number']}",
                "description": "WooCommerce Order Items:\nT-shirt (x2)",
                "value": value,
                "currency": order["currency"].upper(),
                "stage": "pending-payment",
                "priority": "low",
                "probability": 70,
                "expectedCloseDate": None,
                "source": "ecommerce",
                "contactId": contact["id"],
            },
        )
        assert deal.status_code == 201, deal.text
        deal_data = deal.json()["data"]
        assert deal_data["value"] == 119.92 and deal_data["expectedCloseDate"] is None

        completed = client.put(
            f"/deals/{deal_data['id']}/status",
            json={"stage": "completed", "status": "won", "actualCloseDate": php_date_c()},
        )
        assert completed.json()["data"]["status"] == "won"

        cart = client.post(
            "/deals",
            json={
                "title": "Abandoned Cart #9",
                "description": "Abandoned cart with 3 items",
                "value": 42.0,
                "currency": "EUR",
                "stage": "abandoned",
                "status": "lost",
                "priority": "low",
                "probability": 0,
                "actualCloseDate": php_date_c(),
                "source": "ecommerce-abandoned",
                "contactId": contact["id"],
            },
        ).json()["data"]
        assert (cart["status"], cart["probability"]) == ("lost", 0)


def test_php_deals_api_curl_flow(tenant: Tenant) -> None:
    with httpx.Client(headers=tenant.headers, timeout=30) as curl:
        new = curl.post(
            f"{tenant.api}/deals",
            json={
                "title": "Digital Marketing Campaign",
                "value": 45000,
                "currency": "EUR",
                "stage": "proposal",
                "priority": "medium",
                "probability": 70,
                "expectedCloseDate": "2024-12-15",
                "source": "referral",
            },
        ).json()
        # http_build_query(array_filter($params)) drops the nulls
        pipeline = curl.get(f"{tenant.api}/deals?page=1&limit=50&status=open").json()
        assert pipeline["meta"]["total"] == 1
        won = curl.put(
            f"{tenant.api}/deals/{new['data']['id']}/status",
            json={"status": "won", "actualCloseDate": php_date_c()},
        )
        assert won.status_code < 400 and won.json()["data"]["status"] == "won"
        missing = curl.put(f"{tenant.api}/deals/deal_789/status", json={"status": "won"})
        assert missing.status_code >= 400 and missing.json()["error"] == "Deal not found"
