"""A key of company A never sees or changes company B's records."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant


def test_company_a_cannot_touch_company_b(tenant: Tenant, other_tenant: Tenant) -> None:
    with other_tenant.client() as b:
        contact = b.post("/contacts", json={"name": "B's contact", "email": "shared@example.com"}).json()[
            "data"
        ]
        deal = b.post("/deals", json={"title": "B's deal", "value": 5, "contactId": contact["id"]}).json()[
            "data"
        ]
        hook = b.post(
            "/webhooks/subscribe", json={"event": "deal.won", "target_url": "https://b.example/h"}
        ).json()["data"]

    with tenant.client() as a:
        assert a.get("/contacts").json()["meta"]["total"] == 0
        assert a.get("/deals").json()["meta"]["total"] == 0
        assert a.get("/webhooks").json()["data"] == []
        assert a.get("/contacts", params={"email": "shared@example.com"}).json()["data"] == []
        for method, path, body in [
            ("GET", f"/contacts/{contact['id']}", None),
            ("PUT", f"/contacts/{contact['id']}", {"name": "hijacked"}),
            ("DELETE", f"/contacts/{contact['id']}", None),
            ("GET", f"/deals/{deal['id']}", None),
            ("PUT", f"/deals/{deal['id']}/status", {"status": "lost"}),
            ("PUT", f"/deals/{deal['id']}", {"title": "hijacked"}),
            ("DELETE", f"/deals/{deal['id']}", None),
            ("DELETE", f"/webhooks/{hook['id']}", None),
        ]:
            response = a.request(method, path, json=body)
            assert response.status_code == 404, (method, path)
        # the same email is free in company A: duplicates are per company
        assert a.post("/contacts", json={"name": "A's own", "email": "shared@example.com"}).status_code == 201

    with other_tenant.client() as b:
        assert b.get(f"/contacts/{contact['id']}").json()["data"]["name"] == "B's contact"
        assert b.get(f"/deals/{deal['id']}").json()["data"]["status"] == "open"
        assert [w["id"] for w in b.get("/webhooks").json()["data"]] == [hook["id"]]


def test_root_alias_for_guzzle_style_clients(tenant: Tenant) -> None:
    """Guzzle resolves '/test' against base_uri '.../api/external' to the host root."""
    root = tenant.api.removesuffix("/api/external")
    with httpx.Client(base_url=root, headers=tenant.headers) as client:
        assert client.get("/test").json()["data"]["companyId"] == tenant.company_id
        created = client.post("/contacts", json={"name": "Via root"})
        assert created.status_code == 201
        assert client.get(f"/contacts/{created.json()['data']['id']}").status_code == 200
    assert httpx.get(f"{root}/contacts").status_code == 404  # no Bearer token: not the API
