"""A logged-in dashboard session against the live test server, one company (and admin) per test."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from isao.dashboard import admins
from tests.conftest import LiveServer, Tenant, make_tenant

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Dashboard:
    """An admin's browser, minus the browser: cookies kept, the CSRF token sent with every POST."""

    http: httpx.Client
    tenant: Tenant
    email: str
    csrf: str = ""

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.get(path, **kwargs)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        if not self.csrf:
            self.get("/login")
        return self.http.post(path, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)

    def htmx(self, method: str, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
        """As htmx sends it: the ``HX-Request`` header and the token in ``X-CSRF-Token``."""
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf}
        return self.http.request(method, path, data=data, headers=headers)


def log_in(server: LiveServer, tenant: Tenant, role: str = "owner") -> Dashboard:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    with tenant.db.write() as session:
        admins.create(session, tenant.company_id, email, PASSWORD, role)
    dashboard = Dashboard(httpx.Client(base_url=server.url, timeout=30), tenant, email)
    dashboard.get("/login")
    response = dashboard.post("/login", {"email": email, "password": PASSWORD, "next": "/"})
    assert response.status_code == 303, response.text
    dashboard.get("/")
    return dashboard


@pytest.fixture
def dashboard(server: LiveServer, tenant: Tenant) -> Iterator[Dashboard]:
    logged_in = log_in(server, tenant)
    yield logged_in
    logged_in.http.close()


@pytest.fixture
def other_dashboard(server: LiveServer, other_tenant: Tenant) -> Iterator[Dashboard]:
    """Another company's admin: what the first one creates must never show here."""
    logged_in = log_in(server, other_tenant)
    yield logged_in
    logged_in.http.close()


@pytest.fixture
def as_role(server: LiveServer, tenant: Tenant) -> Iterator[Callable[[str], Dashboard]]:
    """``as_role("viewer")``: another login of the same company, with that role."""
    opened: list[Dashboard] = []

    def open_(role: str) -> Dashboard:
        opened.append(log_in(server, tenant, role))
        return opened[-1]

    yield open_
    for dashboard in opened:
        dashboard.http.close()


@pytest.fixture
def anonymous(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


__all__ = ["Dashboard", "log_in", "make_tenant"]
