"""The administrative CLI, with its own environment: in this process through Typer's runner, and as the
console script where a command serves until it is stopped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from isao.api.app import create_app
from isao.config import Settings
from tests.cli import Ran, run
from tests.conftest import free_offset, serve
from tests.sandboxes import RunningSandbox

ISAO = str(Path(sys.executable).with_name("isao"))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ISAO_")}
    environment["ISAO_DATA_DIR"] = str(tmp_path / "data")
    environment["COLUMNS"] = "200"
    return environment


def isao(env: dict[str, str], *args: str, ok: bool = True) -> Ran:
    result = run(env, *args)
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
    assert no_company.returncode == 1 and "No company" in no_company.stderr
    assert isao(env, "keys", "revoke", "key_missing", ok=False).returncode == 1


@pytest.mark.no_database
def test_sandbox_up_serves_prints_credentials_and_takes_faults(env: dict[str, str], tmp_path: Path) -> None:
    offset = free_offset((8701, 8702, 8703))
    woo = f"http://127.0.0.1:{8701 + offset}"
    process = subprocess.Popen(
        [ISAO, "sandbox", "up", "--only", "woocommerce", "--only", "zohocrm", "--port-offset", str(offset),
         "--data-dir", str(tmp_path / "sandboxes"), "--seed", "3"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        printed = ""
        while "Connect ISAO" not in printed:
            line = process.stdout.readline()
            assert line, f"sandbox up ended early: {printed}"
            printed += line
        assert f"woocommerce sandbox at {woo}" in printed and "zohocrm sandbox at" in printed
        key = re.search(r"consumer_key\s*│?\s*(\S+)", printed)
        secret = re.search(r"consumer_secret\s*│?\s*(\S+)", printed)
        assert key and secret, printed
        orders = httpx.get(f"{woo}/wp-json/wc/v3/orders", auth=(key[1], secret[1]))
        assert orders.status_code == 200 and orders.headers["x-wp-total"] == "0"

        faults = isao(env, "sandbox", "faults", "woocommerce", "--url", woo, "--error-rate", "1").stdout
        assert "error_rate = 1.0" in faults and "seed = 3" in faults  # the other knobs are kept
        assert httpx.get(f"{woo}/wp-json/wc/v3/orders", auth=(key[1], secret[1])).status_code >= 500
        isao(env, "sandbox", "faults", "woocommerce", "--url", woo, "--clear")
        assert httpx.get(f"{woo}/wp-json/wc/v3/orders", auth=(key[1], secret[1])).status_code == 200
        assert (tmp_path / "sandboxes" / "sandbox-woocommerce.sqlite3").exists()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    assert process.returncode == 0

    nobody = isao(env, "sandbox", "faults", "hubspot", "--url", "http://127.0.0.1:9", "--seed", "1", ok=False)
    assert nobody.returncode == 1 and "No sandbox answering" in nobody.stdout
    bad = isao(env, "sandbox", "up", "--only", "salesforce", ok=False)
    assert bad.returncode == 2 and "no sandbox for 'salesforce'" in bad.stdout


@pytest.mark.no_database
def test_connections_to_sandboxes_are_added_shown_and_tested(
    env: dict[str, str], sandbox_factory: Callable[..., RunningSandbox]
) -> None:
    isao(env, "companies", "create", "Rehearsal Ltd")
    assert "consumer_secret" in isao(env, "connections", "settings", "woocommerce").stdout

    for provider in ("woocommerce", "hubspot", "zohocrm"):
        live = sandbox_factory(provider)
        urls = [f"base_url={live.url}"] + ([f"accounts_url={live.url}"] if provider == "zohocrm" else [])
        added = isao(env, "connections", "add", provider, "--company", "Rehearsal Ltd", "--name", provider,
                     "--sandbox", *(arg for url in urls for arg in ("--set", url))).stdout  # fmt: skip
        connection_id = re.search(r"conn_\w+", added)
        assert connection_id, added
        tested = isao(env, "connections", "test", connection_id[0]).stdout
        assert tested.startswith("OK"), tested
        shown = isao(env, "connections", "show", connection_id[0]).stdout
        secret = (
            live.sandbox.credentials().get("consumer_secret") or live.sandbox.credentials()["client_secret"]
        )
        assert secret not in shown and "******** (encrypted)" in shown and f"base_url = {live.url}" in shown

        live.faults(error_rate=1)
        failed = isao(env, "connections", "test", connection_id[0], ok=False)
        assert failed.returncode == 1 and "Transient" in failed.stdout

    assert connection_id  # the last one added: Zoho CRM's
    rotated = isao(
        env, "connections", "set", connection_id[0], "--webhook-secret", "s1 s2", "--set", "rate_limit=50/10"
    )
    assert "Updated" in rotated.stdout and "rate_limit" in rotated.stdout
    shown = isao(env, "connections", "show", connection_id[0]).stdout
    assert "webhook_secret = ******** (encrypted)" in shown and "rate_limit = 50/10" in shown
    assert f"base_url = {live.url}" in shown, "the other settings are kept"
    refused = isao(env, "connections", "set", connection_id[0], "--set", "colour=blue", ok=False)
    assert refused.returncode == 2 and "unknown settings for zohocrm: colour" in refused.stdout
    assert isao(env, "connections", "set", connection_id[0], ok=False).returncode == 2
    assert isao(env, "connections", "set", "conn_missing", "--set", "a=b", ok=False).returncode == 1

    unknown = isao(env, "connections", "add", "hubspot", "--company", "Rehearsal Ltd", "--name", "x",
                   "--set", "colour=blue", ok=False)  # fmt: skip
    assert unknown.returncode == 2 and "unknown settings for hubspot: colour" in unknown.stdout
    missing = isao(
        env, "connections", "add", "zohocrm", "--company", "Rehearsal Ltd", "--name", "y", ok=False
    )
    assert missing.returncode == 2 and "missing settings for zohocrm: client_id" in missing.stdout


@pytest.mark.no_database
def test_recipes_enabled_dry_run_and_backfilled_from_the_command_line(
    env: dict[str, str], sandbox_factory: Callable[..., RunningSandbox]
) -> None:
    woo, zoho = sandbox_factory("woocommerce"), sandbox_factory("zohocrm")
    isao(env, "companies", "create", "Backfilled Ltd")
    ids = {}
    for role, live in (("shop", woo), ("crm", zoho)):
        urls = [f"base_url={live.url}"] + ([f"accounts_url={live.url}"] if role == "crm" else [])
        company = ("--company", "Backfilled Ltd", "--name", role, "--sandbox")
        added = isao(env, "connections", "add", live.sandbox.name, *company,
                     *(arg for url in urls for arg in ("--set", url))).stdout  # fmt: skip
        found = re.search(r"conn_\w+", added)
        assert found
        ids[role] = found[0]
    listed = isao(env, "recipes", "list").stdout
    assert "woocommerce-to-zohocrm" in listed and "shop: woocommerce" in listed
    assert "Deal_Name" in isao(env, "recipes", "show", "woocommerce-to-zohocrm").stdout

    enable = ("recipes", "enable", "woocommerce-to-zohocrm", "--company", "Backfilled Ltd")
    wrong = isao(env, *enable, "--connection", f"shop={ids['crm']}", "--connection", f"crm={ids['crm']}",
                 ok=False)  # fmt: skip
    assert wrong.returncode == 2 and "role shop needs a woocommerce connection" in wrong.stdout
    enabled = isao(
        env, *enable, "--connection", f"shop={ids['shop']}", "--connection", f"crm={ids['crm']}"
    ).stdout
    assert "flow orders: orders on order.created, order.updated, poll */15 * * * *" in enabled

    credentials = woo.sandbox.credentials()
    auth = (credentials["consumer_key"], credentials["consumer_secret"])
    for n in range(12):
        order = {"status": "completed", "billing": {"first_name": "Buyer", "last_name": f"N{n}",
                                                     "email": f"buyer{n % 4}@example.com"},
                 "line_items": [{"product_id": 10, "quantity": 1}]}  # fmt: skip
        assert httpx.post(f"{woo.url}/wp-json/wc/v3/orders", json=order, auth=auth).status_code == 201

    run = ("sync", "run", "woocommerce-to-zohocrm", "--company", "Backfilled Ltd")
    dry = isao(env, *run, "--dry-run", "--limit", "3").stdout
    assert dry.count("would create") == 6 and "3 source records looked at; nothing was written" in dry
    assert zoho.sandbox.store.all("Deals") == []

    # One worker: the orders are written oldest first, so each customer's contact holds what their latest
    # order maps to (parallel workers may leave an older order's values, which reconciliation reports).
    done = isao(
        env,
        "sync",
        "run",
        "woocommerce-to-zohocrm",
        "--company",
        "Backfilled Ltd",
        "--backfill",
        "--workers",
        "1",
    ).stdout
    assert re.search(r"Run run_\w+: 12 synced, 0 dead\.", done), done
    assert len(zoho.sandbox.store.all("Deals")) == 12 and len(zoho.sandbox.store.all("Contacts")) == 4
    deal = zoho.sandbox.store.all("Deals")[0]
    zoho.sandbox.store.put("Deals", deal["id"], deal | {"Stage": "Closed Lost"})  # behind ISAO's back
    reconcile = ("reconcile", "woocommerce-to-zohocrm", "--company", "Backfilled Ltd")
    drift = isao(env, *reconcile).stdout
    assert "different" in drift and "'Closed Won' ≠ 'Closed Lost'" in drift
    assert "1 difference; `--repair` fixes it." in drift
    assert "1 difference, repaired." in isao(env, *reconcile, "--repair").stdout
    assert "No drift" in isao(env, *reconcile).stdout
    isao(env, "recipes", "disable", "woocommerce-to-zohocrm", "--company", "Backfilled Ltd")
    assert "(disabled)" in isao(env, "recipes", "list").stdout
