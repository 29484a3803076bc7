"""Login, logout, sessions and CSRF: nothing an unauthenticated visitor asks for returns data."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import LiveServer
from tests.dashboard.conftest import PASSWORD, Dashboard

PAGES = [
    "/",
    "/connections",
    "/recipes",
    "/activity",
    "/dead-letters",
    "/crm/contacts",
    "/crm/deals",
    "/crm/pipeline",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_redirect_anonymous_visitors_to_login(anonymous: httpx.Client, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_htmx_requests_without_a_session_get_401_and_a_redirect_header(anonymous: httpx.Client) -> None:
    response = anonymous.get("/activity", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/login"
    assert response.text == ""


def test_login_with_a_wrong_password_says_so_next_to_the_form(
    dashboard: Dashboard, server: LiveServer
) -> None:
    with httpx.Client(base_url=server.url) as client:
        fresh = Dashboard(client, dashboard.tenant, dashboard.email)
        fresh.get("/login")
        response = fresh.post("/login", {"email": dashboard.email, "password": "not the password"})
        assert response.status_code == 400
        assert 'role="alert"' in response.text and "do not match" in response.text
        assert fresh.get("/", follow_redirects=False).status_code == 303


def test_login_names_each_missing_field(anonymous: httpx.Client, dashboard: Dashboard) -> None:
    fresh = Dashboard(anonymous, dashboard.tenant, dashboard.email)
    fresh.get("/login")
    response = fresh.post("/login", {"email": "", "password": ""})
    assert response.status_code == 400
    assert 'id="f-email-error"' in response.text and 'id="f-password-error"' in response.text
    assert 'aria-invalid="true"' in response.text


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(
    anonymous: httpx.Client, dashboard: Dashboard
) -> None:
    fresh = Dashboard(anonymous, dashboard.tenant, dashboard.email)
    fresh.get("/login")
    response = fresh.post(
        "/login", {"email": dashboard.email, "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert response.headers["location"] == "/"
    fresh.post("/logout")
    fresh.get("/login")
    response = fresh.post("/login", {"email": dashboard.email, "password": PASSWORD, "next": "/activity?x=1"})
    assert response.headers["location"] == "/activity?x=1"


def test_a_post_without_the_csrf_token_is_refused(dashboard: Dashboard) -> None:
    response = dashboard.http.post("/logout", data={})
    assert response.status_code == 403
    assert "expired" in response.text
    assert dashboard.get("/", follow_redirects=False).status_code == 200  # still logged in


def test_the_session_cookie_is_httponly_and_samesite(server: LiveServer, dashboard: Dashboard) -> None:
    with httpx.Client(base_url=server.url) as client:
        response = client.get("/login")
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie


def test_logout_ends_the_session(dashboard: Dashboard) -> None:
    assert dashboard.post("/logout").headers["location"] == "/login"
    assert dashboard.get("/", follow_redirects=False).status_code == 303


def test_the_api_and_webhooks_never_set_a_session_cookie(anonymous: httpx.Client) -> None:
    assert "set-cookie" not in anonymous.get("/healthz").headers
    assert "set-cookie" not in anonymous.get("/api/external/test").headers
