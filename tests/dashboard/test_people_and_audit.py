"""Roles enforced on every page and form, the people, API key and webhook subscription pages, destructive
actions asking first, and the audit log that records who did what."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

from isao.crm import audit
from isao.dashboard import admins
from isao.dashboard.roles import ROLES
from tests.conftest import LiveServer, Tenant
from tests.dashboard.conftest import PASSWORD, Dashboard

AsRole = Callable[[str], Dashboard]


def _required_roles(route: APIRoute) -> set[str]:
    found, stack = set(), list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        role = getattr(dependency.call, "required_role", None)
        if role:
            found.add(role)
        stack.extend(dependency.dependencies)
    return found


def test_every_form_of_the_dashboard_says_which_role_it_needs(app: FastAPI) -> None:
    """A new page cannot forget: each state-changing route names the role it needs (login and logout
    aside). Under that, a viewer's POST is refused whatever the route says (next test)."""
    unguarded = [
        f"{sorted(route.methods or ())} {route.path}"
        for route in app.routes
        if isinstance(route, APIRoute)
        and not route.include_in_schema
        and (route.methods or set()) - {"GET", "HEAD"}
        and route.path not in ("/login", "/logout")
        and not _required_roles(route)
    ]
    assert unguarded == []


def test_a_viewer_reads_everything_but_changes_nothing(dashboard: Dashboard, as_role: AsRole) -> None:
    viewer = as_role("viewer")
    for path in ("/", "/connections", "/recipes", "/activity", "/dead-letters", "/crm/pipeline", "/settings"):
        assert viewer.get(path).status_code == 200, path
    for path in ("/settings/users", "/settings/keys", "/settings/audit", "/connections/new"):
        assert viewer.get(path).status_code == 403, path
    page = viewer.get("/recipes/woocommerce-to-isao").text
    assert "Enable recipe" not in page  # buttons a role cannot use are not shown
    for path, form in (
        ("/recipes/woocommerce-to-isao/enable", {}),
        ("/dead-letters/replay", {"ids": "job_x"}),
        ("/crm/contacts/new", {"name": "Eve", "email": "eve@example.com"}),
        ("/settings/keys", {"name": "mine", "scopes": "contacts:read"}),
    ):
        refused = viewer.post(path, form)
        assert refused.status_code == 403, path
        assert "Your role, viewer, cannot do this" in html.unescape(refused.text)
    assert viewer.post("/logout").status_code == 303


def test_an_operator_runs_things_but_does_not_change_the_setup(as_role: AsRole) -> None:
    operator = as_role("operator")
    assert (
        operator.post("/dead-letters/replay", {"ids": "job_missing"}).status_code == 400
    )  # allowed: none found
    assert operator.post("/crm/contacts/new", {"name": "Op", "email": "op@example.com"}).status_code == 303
    assert operator.post("/dead-letters/discard", {"ids": "job_missing"}).status_code == 403
    assert operator.post("/connections/new", {"provider": "isao", "name": "x"}).status_code == 403
    assert operator.get("/settings/keys").status_code == 403


def test_people_are_added_with_a_role_and_a_password_shown_once(
    dashboard: Dashboard, tenant: Tenant, as_role: AsRole, server: LiveServer
) -> None:
    page = dashboard.post("/settings/users", {"email": "New.Person@example.com", "role": "operator"})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    password = re.search(
        r'id="new-password" class="secret-value" type="text" readonly value="([^"]+)"', page.text
    )
    assert password
    with httpx.Client(base_url=server.url) as browser:
        browser.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text)
        assert token
        login = browser.post(
            "/login",
            data={"email": "new.person@example.com", "password": password[1], "csrf_token": token[1]},
        )
        assert login.status_code == 303
    again = dashboard.get("/settings/users").text
    assert password[1] not in again and "new.person@example.com" in again

    duplicate = dashboard.post("/settings/users", {"email": "new.person@example.com", "role": "viewer"})
    assert duplicate.status_code == 400 and "already exists" in duplicate.text
    admin = as_role("admin")
    refused = admin.post("/settings/users", {"email": "boss@example.com", "role": "owner"})
    assert refused.status_code == 400  # an admin gives roles up to admin


def test_roles_change_but_a_company_keeps_an_owner(
    dashboard: Dashboard, tenant: Tenant, as_role: AsRole
) -> None:
    admin = as_role("admin")
    with tenant.db.read() as session:
        people = {row.email: row for row in admins.of_company(session, tenant.company_id)}
    owner_id = people[dashboard.email].id
    assert admin.post(f"/settings/users/{owner_id}/role", {"role": "viewer"}).status_code == 403
    alone = dashboard.post(f"/settings/users/{owner_id}/role", {"role": "admin"})
    assert alone.status_code == 400 and "only owner" in html.unescape(alone.text)
    admin_id = people[admin.email].id
    assert dashboard.post(f"/settings/users/{admin_id}/role", {"role": "operator"}).status_code == 303
    assert admin.get("/settings/users").status_code == 403  # the demotion counts at once

    asked = dashboard.post(f"/settings/users/{admin_id}/remove")
    assert asked.status_code == 200 and "Remove user" in asked.text  # asks first
    assert dashboard.post(f"/settings/users/{admin_id}/remove", {"confirm": "yes"}).status_code == 303
    assert admin.get("/").status_code == 303  # logged out: sent to the login page
    assert dashboard.post(f"/settings/users/{owner_id}/remove", {"confirm": "yes"}).status_code == 400


def test_an_api_key_is_shown_once_works_and_is_revoked_after_confirming(
    dashboard: Dashboard, tenant: Tenant
) -> None:
    refused = dashboard.post("/settings/keys", {"name": ""})
    assert refused.status_code == 400 and "Choose at least one scope" in refused.text
    page = dashboard.post("/settings/keys", {"name": "zapier", "scopes": ["contacts:read", "deals:read"]})
    token = re.search(
        r'id="new-token" class="secret-value" type="text" readonly value="(ck_[^"]+)"', page.text
    )
    assert token and page.headers["cache-control"] == "no-store"
    with tenant.client(token[1]) as api:
        assert api.get("/contacts").status_code == 200
        assert api.post("/contacts", json={"name": "X", "email": "x@example.com"}).status_code == 403
    key_id = re.search(r'action="/settings/keys/(key_\w+)/revoke"', dashboard.get("/settings/keys").text)
    assert key_id
    assert "Revoke key" in dashboard.post(f"/settings/keys/{key_id[1]}/revoke").text
    assert dashboard.post(f"/settings/keys/{key_id[1]}/revoke", {"confirm": "yes"}).status_code == 303
    assert "Revoked" in dashboard.get("/settings/keys").text


def test_webhook_subscriptions_are_listed_added_and_deleted(dashboard: Dashboard, tenant: Tenant) -> None:
    bad = dashboard.post("/settings/webhooks", {"event": "contact.created", "target_url": "ftp://x"})
    assert bad.status_code == 400 and "absolute http" in bad.text
    page = dashboard.post(
        "/settings/webhooks", {"event": "deal.won", "target_url": "https://hooks.example.com/isao"}
    )
    assert re.search(r'id="new-secret" class="secret-value" type="text" readonly value="whsec_', page.text)
    with tenant.client() as api:
        listed = api.get("/webhooks").json()["data"]
    assert [(hook["event"], hook["target_url"]) for hook in listed] == [
        ("deal.won", "https://hooks.example.com/isao")
    ]
    hook_id = listed[0]["id"]
    assert "Delete subscription" in dashboard.post(f"/settings/webhooks/{hook_id}/delete").text
    assert dashboard.post(f"/settings/webhooks/{hook_id}/delete", {"confirm": "yes"}).status_code == 303
    with tenant.client() as api:
        assert api.get("/webhooks").json()["data"] == []


def test_the_audit_log_records_who_did_what(dashboard: Dashboard, other_dashboard: Dashboard) -> None:
    dashboard.post("/settings/keys", {"name": "audited", "scopes": ["contacts:read"]})
    dashboard.post(
        "/settings/users", {"email": "watcher@example.com", "role": "viewer", "password": PASSWORD}
    )
    page = html.unescape(dashboard.get("/settings/audit").text)
    assert "Created the API key audited" in page and "Added watcher@example.com as viewer" in page
    assert dashboard.email in page
    only_keys = html.unescape(dashboard.get("/settings/audit", params={"action": "key.created"}).text)
    assert "Created the API key audited" in only_keys and "watcher@example.com" not in only_keys
    bad = dashboard.get("/settings/audit", params={"since": "yesterday"})
    assert bad.status_code == 400 and "Enter a date" in bad.text
    assert "Created the API key audited" not in other_dashboard.get("/settings/audit").text
    assert set(audit.ACTIONS) >= {"recipe.enabled", "key.revoked", "deadletters.discarded"}
    assert ROLES == ("viewer", "operator", "admin", "owner")
