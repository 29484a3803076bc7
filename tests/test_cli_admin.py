"""``isao admin``: the dashboard's logins are made, listed and re-keyed from the command line."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from isao.api.app import create_app
from isao.config import Settings
from tests import test_cli
from tests.conftest import serve
from tests.test_cli import isao

env = test_cli.env  # the fixture: the same clean environment as the other CLI tests


def _logs_in(url: str, email: str, password: str) -> bool:
    with httpx.Client(base_url=url) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        form = {"csrf_token": token.group(1), "email": email, "password": password}
        return client.post("/login", data=form).status_code == 303


def test_the_first_admin_gets_a_company_and_can_log_in(env: dict[str, str], tmp_path: Path) -> None:
    made = isao(env, "admin", "create", "--email", "Ops@Example.com", "--password", "a long password")
    assert "Created owner ops@example.com for My Company" in made.stdout
    assert "ops@example.com" in isao(env, "admin", "list").stdout
    isao(env, "admin", "password", "--email", "ops@example.com", "--password", "another long one")

    app = create_app(Settings(data_dir=tmp_path / "data", workers=0))
    try:
        with serve(app) as live:
            assert not _logs_in(live.url, "ops@example.com", "a long password")
            assert _logs_in(live.url, "ops@example.com", "another long one")
    finally:
        app.state.db.dispose()


def test_admin_input_is_checked(env: dict[str, str]) -> None:
    short = isao(env, "admin", "create", "--email", "a@b.c", "--password", "short", ok=False)
    assert short.returncode == 2 and "at least 10 characters" in short.stdout
    bad = isao(env, "admin", "create", "--email", "nobody", "--password", "long enough!", ok=False)
    assert bad.returncode == 2 and "email address" in bad.stdout
    isao(env, "admin", "create", "--email", "a@b.c", "--password", "long enough!")
    again = isao(env, "admin", "create", "--email", "A@b.c", "--password", "long enough!", ok=False)
    assert again.returncode == 2 and "already exists" in again.stdout
    isao(env, "companies", "create", "Second")
    which = isao(env, "admin", "create", "--email", "x@y.z", "--password", "long enough!", ok=False)
    assert which.returncode == 2 and "--company" in which.stdout
    isao(env, "admin", "create", "--email", "x@y.z", "--password", "long enough!", "--company", "Second")
    second = ("--company", "Second", "--password", "long enough!")
    role = isao(env, "admin", "create", "--email", "r@y.z", *second, "--role", "boss", ok=False)
    assert role.returncode == 2 and "Choose a role" in role.stdout
    missing = isao(env, "admin", "password", "--email", "ghost@y.z", "--password", "long enough!", ok=False)
    assert missing.returncode == 1
