"""401, 403, 429 and revocation, with the documented bodies and headers."""

from __future__ import annotations

import httpx
import pytest

from isao.api.app import create_app
from isao.config import Settings
from isao.crm import keys
from isao.timeutil import utcnow
from tests.conftest import Tenant, make_tenant, serve

HOW = "Please provide a valid API key in the format: Authorization: Bearer YOUR_API_KEY"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}])
def test_missing_key(tenant: Tenant, headers: dict) -> None:
    response = httpx.get(f"{tenant.api}/deals", headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "error": "API key required in Authorization header",
        "message": HOW,
    }


def test_unknown_key(tenant: Tenant) -> None:
    response = httpx.get(f"{tenant.api}/test", headers={"Authorization": "Bearer ck_not_a_real_key"})
    assert response.status_code == 401
    assert response.json()["error"] == "Invalid API key"


def test_test_endpoint(api: httpx.Client, tenant: Tenant) -> None:
    data = api.get("/test").json()["data"]
    assert data == {
        "companyId": tenant.company_id,
        "companyName": "Acme",
        "keyId": tenant.key_id,
        "keyName": "tests",
        "scopes": list(keys.SCOPES),
    }


def test_missing_scope_is_403_with_permissions(tenant: Tenant) -> None:
    token = tenant.key(["contacts:read", "contacts:write"])
    with tenant.client(token) as client:
        response = client.get("/deals")
        assert response.status_code == 403
        assert response.json() == {
            "success": False,
            "error": "Permission denied: deals:read required",
            "message": "This API key does not have the required permission: deals:read",
            "requiredPermission": "deals:read",
            "availablePermissions": ["contacts:read", "contacts:write"],
        }
        assert (
            client.post("/deals", json={"title": "x", "value": 1}).json()["requiredPermission"]
            == "deals:write"
        )
        assert client.post("/webhooks/subscribe", json={}).json()["requiredPermission"] == "webhooks:write"
        assert client.get("/webhooks").json()["requiredPermission"] == "webhooks:read"
        assert client.get("/contacts").status_code == 200
        assert client.get("/test").status_code == 200


@pytest.mark.parametrize(
    ("scope", "method", "path"),
    [
        ("contacts:read", "GET", "/contacts"),
        ("contacts:read", "GET", "/contacts/contact_x"),
        ("contacts:write", "POST", "/contacts"),
        ("contacts:write", "PUT", "/contacts/contact_x"),
        ("contacts:write", "DELETE", "/contacts/contact_x"),
        ("deals:read", "GET", "/deals"),
        ("deals:read", "GET", "/deals/deal_x"),
        ("deals:write", "POST", "/deals"),
        ("deals:write", "PUT", "/deals/deal_x/status"),
        ("deals:write", "PUT", "/deals/deal_x"),
        ("deals:write", "DELETE", "/deals/deal_x"),
        ("webhooks:read", "GET", "/webhooks"),
        ("webhooks:write", "POST", "/webhooks/subscribe"),
        ("webhooks:write", "DELETE", "/webhooks/wh_x"),
    ],
)
def test_every_endpoint_checks_its_scope(tenant: Tenant, scope: str, method: str, path: str) -> None:
    others = [s for s in keys.SCOPES if s != scope]
    with tenant.client(tenant.key(others)) as client:
        response = client.request(method, path, json={} if method in ("POST", "PUT") else None)
    assert response.status_code == 403
    assert response.json()["requiredPermission"] == scope


def test_revoked_key_is_401(tenant: Tenant) -> None:
    token = tenant.key(list(keys.SCOPES), name="soon revoked")
    with tenant.client(token) as client:
        key_id = client.get("/test").json()["data"]["keyId"]
        with tenant.db.write() as session:
            keys.revoke(session, key_id)
        response = client.get("/test")
    assert response.status_code == 401
    assert response.json()["error"] == "API key has been revoked"


def test_keys_are_stored_hashed(tenant: Tenant) -> None:
    with tenant.db.read() as session:
        stored = [(row.key_hash, row.prefix) for row in keys.list_(session, tenant.company_id)]
    assert stored and all(tenant.token not in value for row in stored for value in row)
    assert all(len(key_hash) == 64 for key_hash, _ in stored)


def test_rate_limit(settings: Settings) -> None:
    limited = create_app(
        settings.model_copy(update={"rate_limit": 3, "rate_limit_window": 3600}), migrate=False
    )
    try:
        with serve(limited) as live:
            tenant = make_tenant(limited.state.db, live.api)
            with tenant.client() as client:
                answers = [client.get("/test") for _ in range(4)]
                other = make_tenant(limited.state.db, live.api)
                with other.client() as second:
                    assert second.get("/test").status_code == 200  # limits are per key
    finally:
        limited.state.db.dispose()
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["X-RateLimit-Limit"] == "3" for a in answers)
    limited_answer = answers[-1]
    retry_after = int(limited_answer.headers["Retry-After"])
    assert 1 <= retry_after <= 3600
    assert int(limited_answer.headers["X-RateLimit-Reset"]) > 0
    body = limited_answer.json()
    assert body["success"] is False and body["error"] == "Rate limit exceeded"
    assert body["retryAfter"] == retry_after


def test_unknown_route_and_method(tenant: Tenant) -> None:
    response = httpx.get(f"{tenant.api}/nothing", headers=tenant.headers)
    assert response.status_code == 404 and response.json() == {"success": False, "error": "Not found"}
    assert httpx.patch(f"{tenant.api}/deals", headers=tenant.headers).status_code == 405


def test_key_cache_trusts_a_key_for_its_ttl_only(tenant: Tenant) -> None:
    from sqlalchemy import update

    from isao.api.auth import KeyCache
    from isao.crypto import hash_token
    from isao.db.models import ApiKey

    cache = KeyCache(tenant.db, ttl=5)
    token_hash = hash_token(tenant.token)
    entry = cache.lookup(tenant.token, token_hash, now=100.0)
    assert (
        entry is not None and entry.principal is not None and entry.principal.company_id == tenant.company_id
    )
    with tenant.db.write() as session:  # revoked by another process: this one cannot know yet
        session.execute(update(ApiKey).where(ApiKey.id == tenant.key_id).values(revoked_at=utcnow()))
    assert cache.cached(token_hash, now=104.9) is entry
    assert cache.cached(token_hash, now=105.0) is None
    fresh = cache.lookup(tenant.token, token_hash, now=105.0)
    assert fresh is not None and fresh.principal is None
    assert cache.lookup("ck_unknown", hash_token("ck_unknown"), now=105.0) is None
