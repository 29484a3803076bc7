"""The administrative CLI, run as a user would (a subprocess with its own environment)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from isao.api.app import create_app
from isao.config import Settings
from tests.conftest import serve

ISAO = str(Path(sys.executable).with_name("isao"))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ISAO_")}
    environment["ISAO_DATA_DIR"] = str(tmp_path / "data")
    environment["COLUMNS"] = "200"
    return environment


def isao(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([ISAO, *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_companies_users_keys_lifecycle(env: dict[str, str], tmp_path: Path) -> None:
    created = isao(env, "companies", "create", "Tech Corp").stdout
    company_id = created.strip().rsplit(" ", 1)[-1]
    assert company_id.startswith("company_")
    assert "Tech Corp" in isao(env, "companies", "list").stdout

    user = isao(
        env, "users", "create", "--company", "Tech Corp", "--name", "Sales Rep", "--email", "sales@isao.io"
    )
    assert "user_" in user.stdout

    made = isao(
        env,
        "keys",
        "create",
        "--company",
        company_id,
        "--scopes",
        "contacts:read,deals:read",
        "--name",
        "zap",
    )
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("ck_") and len(token) > 30
    key_id = next(word for word in made.stdout.split() if word.startswith("key_"))

    listing = isao(env, "keys", "list").stdout
    assert key_id in listing and "zap" in listing and token not in listing

    settings = Settings(
        data_dir=tmp_path / "data", key_cache_seconds=0
    )  # the revocation comes from another process
    app = create_app(settings)
    try:
        with serve(app) as live:
            auth = {"Authorization": f"Bearer {token}"}
            test = httpx.get(f"{live.api}/test", headers=auth).json()["data"]
            assert test["companyId"] == company_id and test["scopes"] == ["contacts:read", "deals:read"]
            assert httpx.post(f"{live.api}/contacts", headers=auth, json={"name": "x"}).status_code == 403
            isao(env, "keys", "revoke", key_id)
            assert httpx.get(f"{live.api}/test", headers=auth).status_code == 401
    finally:
        app.state.db.dispose()
    assert key_id in isao(env, "keys", "list", "--company", "Tech Corp").stdout


def test_bad_input_is_explained(env: dict[str, str]) -> None:
    isao(env, "companies", "create", "Solo")
    bad_scope = isao(env, "keys", "create", "--company", "Solo", "--scopes", "deals:delete", ok=False)
    assert bad_scope.returncode == 2 and "unknown scope" in bad_scope.stdout
    no_company = isao(env, "keys", "create", "--company", "Nope", ok=False)
    assert no_company.returncode == 1 and "No company" in no_company.stdout
    assert isao(env, "keys", "revoke", "key_missing", ok=False).returncode == 1
