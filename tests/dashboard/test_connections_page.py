"""Connections page: add one through the form (pointed at a live WooCommerce sandbox), test it, rotate its
secrets, change its settings, remove it; bad input is refused next to its field; other companies see
nothing."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from isao import connections
from isao.connectors import shopify
from isao.connectors.webhooks import VERIFIERS
from isao.db.models import Connection
from isao.sandbox.runner import sandbox_class
from tests.conftest import LiveServer
from tests.dashboard.conftest import Dashboard
from tests.sandboxes import RunningSandbox

Sandboxes = Callable[..., RunningSandbox]
CREATED = re.compile(r"^/connections/(conn_\w+)\?done=created$")


def add(dashboard: Dashboard, provider: str = "woocommerce", **fields: str) -> str:
    """Submit the add form; the new connection's id."""
    response = dashboard.post("/connections/new", {"provider": provider, **fields})
    assert response.status_code == 303, response.text
    found = CREATED.match(response.headers["location"])
    assert found, response.headers["location"]
    return found[1]


def add_shop(dashboard: Dashboard, name: str = "shop", **fields: str) -> str:
    values = {
        "name": name,
        "base_url": "http://127.0.0.1:9",
        "consumer_key": "ck_1",
        "consumer_secret": "cs_1",
    }
    return add(dashboard, **(values | fields))


def stored(dashboard: Dashboard, connection_id: str) -> tuple[dict[str, Any], dict[str, str], str] | None:
    """(config, decrypted secrets, the encrypted column) of a connection, or None once removed."""
    with dashboard.tenant.db.read() as session:
        row = session.get(Connection, connection_id)
        if row is None:
            return None
        return dict(row.config), connections.secrets(row), row.secrets_encrypted


def error_of(page: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="f-{field}-error">([^<]*)</p>', page)
    assert found, f"no message next to {field}"
    return html.unescape(found[1])


def test_a_sandbox_connection_is_added_from_the_sandbox_settings_and_tested(
    dashboard: Dashboard, server: LiveServer, sandbox_factory: Sandboxes
) -> None:
    woo = sandbox_factory("woocommerce")
    credentials = woo.sandbox.credentials()
    chooser = dashboard.get("/connections/new")
    assert chooser.status_code == 200 and '<option value="woocommerce"' in chooser.text

    form = dashboard.get("/connections/new", params={"provider": "woocommerce"})
    assert "Fill with the local sandbox's settings" in form.text
    for name in ("base_url", "consumer_key", "consumer_secret", "webhook_secret", "query_string_auth"):
        assert f'name="{name}"' in form.text
    assert 'id="f-consumer_secret" name="consumer_secret" type="password"' in form.text

    filled = dashboard.get("/connections/new", params={"provider": "woocommerce", "sandbox": "1"})
    default_url = sandbox_class("woocommerce")().credentials()["base_url"]  # what `isao sandbox up` serves
    assert f'value="{default_url}"' in filled.text and default_url.endswith(":8701")
    assert (
        credentials["consumer_secret"] not in filled.text and credentials["consumer_key"] not in filled.text
    )

    # The sandbox runs on a free port here: the URL is changed, the secrets left to the sandbox's.
    connection_id = add(
        dashboard, name="shop", sandbox="1", base_url=woo.url, consumer_key="", consumer_secret=""
    )
    found = stored(dashboard, connection_id)
    assert found is not None
    config, secrets, encrypted = found
    assert config == {"base_url": woo.url, "query_string_auth": "false"}
    assert secrets == {
        "consumer_key": credentials["consumer_key"],
        "consumer_secret": credentials["consumer_secret"],
    }
    assert credentials["consumer_secret"] not in encrypted

    page = dashboard.get(f"/connections/{connection_id}?done=created")
    assert page.status_code == 200 and "<h1>shop</h1>" in page.text and "Connection added" in page.text
    assert f'value="{server.url}/hooks/{connection_id}"' in page.text
    assert credentials["consumer_secret"] not in page.text and "stored, encrypted" in page.text

    listing = dashboard.get("/connections")
    assert f'href="/connections/{connection_id}">shop</a>' in listing.text
    assert 'aria-label="Test shop"' in listing.text and f'id="test-{connection_id}"' in listing.text

    tested = dashboard.htmx("POST", f"/connections/{connection_id}/test")
    assert tested.status_code == 200 and '<span class="badge ok">OK</span>' in tested.text
    assert "<html" not in tested.text  # a fragment for the live region
    whole = dashboard.post(f"/connections/{connection_id}/test")  # without htmx: the page with the result
    assert whole.status_code == 200 and '<span class="badge ok">OK</span>' in whole.text

    woo.faults(error_rate=1)
    failed = dashboard.htmx("POST", f"/connections/{connection_id}/test")
    assert '<span class="badge bad">Transient</span>' in failed.text and "answered 5" in failed.text


def test_rotating_secrets_stores_the_new_ones_encrypted(dashboard: Dashboard) -> None:
    connection_id = add_shop(dashboard, webhook_secret="first-secret")
    page = dashboard.get(f"/connections/{connection_id}")
    assert "first-secret" not in page.text and "Show webhook secret" in page.text
    revealed = dashboard.htmx("GET", f"/connections/{connection_id}/webhook-secret")
    assert 'value="first-secret"' in revealed.text and revealed.headers["cache-control"] == "no-store"

    rotated = dashboard.post(
        f"/connections/{connection_id}/secrets", {"webhook_secret": "second-secret", "consumer_key": ""}
    )
    assert rotated.headers["location"] == f"/connections/{connection_id}?done=rotated-webhook"
    found = stored(dashboard, connection_id)
    assert found is not None
    _, secrets, encrypted = found
    assert secrets["webhook_secret"] == "second-secret" and "second-secret" not in encrypted
    assert secrets["consumer_key"] == "ck_1", "the secrets left empty are kept"
    without_htmx = dashboard.get(f"/connections/{connection_id}/webhook-secret")
    assert 'value="second-secret"' in without_htmx.text and "<h1>shop</h1>" in without_htmx.text

    generated = dashboard.post(f"/connections/{connection_id}/secrets", {"generate_webhook_secret": "1"})
    assert generated.status_code == 303
    found = stored(dashboard, connection_id)
    assert found is not None
    new_secret = found[1]["webhook_secret"]
    assert re.fullmatch(r"[0-9a-f]{64}", new_secret) and new_secret != "second-secret"

    nothing = dashboard.post(f"/connections/{connection_id}/secrets", {"webhook_secret": ""})
    assert nothing.status_code == 400 and "Enter a new value for at least one secret" in nothing.text
    both = dashboard.post(
        f"/connections/{connection_id}/secrets", {"webhook_secret": "typed", "generate_webhook_secret": "1"}
    )
    assert both.status_code == 400 and "not both" in error_of(both.text, "webhook_secret")
    plain = dashboard.post(f"/connections/{connection_id}/secrets", {"base_url": "http://elsewhere.example"})
    assert plain.status_code == 400 and "Only secrets" in error_of(plain.text, "base_url")
    after = stored(dashboard, connection_id)
    assert after is not None and after[1]["webhook_secret"] == new_secret, "a refused form changes nothing"


def test_the_add_form_says_what_is_wrong_next_to_each_field(dashboard: Dashboard) -> None:
    missing = dashboard.post(
        "/connections/new",
        {
            "provider": "woocommerce",
            "name": "shop",
            "base_url": "http://127.0.0.1:9",
            "consumer_secret": "typed-cs",
        },
    )
    assert missing.status_code == 400
    assert error_of(missing.text, "consumer_key") == "consumer_key is required"
    assert "typed-cs" not in missing.text, "secrets are never echoed back"
    assert 'value="http://127.0.0.1:9"' in missing.text, "the plain settings typed are kept"

    bad_url = dashboard.post(
        "/connections/new",
        {"provider": "woocommerce", "name": "shop", "base_url": "shop.example", "consumer_key": "k",
         "consumer_secret": "s", "rate_limit": "fast"},
    )  # fmt: skip
    assert bad_url.status_code == 400
    assert "http:// or https://" in error_of(bad_url.text, "base_url")
    assert "rate_limit must look like 100/10" in error_of(bad_url.text, "rate_limit")

    nameless = dashboard.post("/connections/new", {"provider": "stripe", "name": " "})
    assert nameless.status_code == 400 and error_of(nameless.text, "name").startswith("Enter a name")

    unknown = dashboard.post("/connections/new", {"provider": "woocommerce", "name": "x", "colour": "blue"})
    assert unknown.status_code == 400 and "no setting &#39;colour&#39;" in unknown.text

    add_shop(dashboard)
    duplicate = dashboard.post(
        "/connections/new",
        {"provider": "woocommerce", "name": "shop", "base_url": "http://127.0.0.1:9", "consumer_key": "k"},
    )
    assert duplicate.status_code == 400
    assert "already has a connection named 'shop'" in error_of(duplicate.text, "name")
    assert error_of(duplicate.text, "consumer_secret") == "consumer_secret is required", (
        "all problems at once"
    )

    no_provider = dashboard.post("/connections/new", {"provider": "salesforce", "name": "crm"})
    assert no_provider.status_code == 400 and "Choose one of" in error_of(no_provider.text, "provider")
    assert dashboard.get("/connections/new", params={"provider": "salesforce"}).status_code == 400

    with dashboard.tenant.db.read() as session:
        assert [row.name for row in connections.list_(session, dashboard.tenant.company_id)] == ["shop"]


def test_settings_are_changed_checked_and_reset_to_their_defaults(dashboard: Dashboard) -> None:
    connection_id = add_shop(dashboard, rate_limit="50/10")
    saved = dashboard.post(
        f"/connections/{connection_id}/settings",
        {"base_url": "https://shop.example", "query_string_auth": "true", "rate_limit": ""},
    )
    assert saved.headers["location"] == f"/connections/{connection_id}?done=saved"
    found = stored(dashboard, connection_id)
    assert found is not None
    assert found[0] == {"base_url": "https://shop.example", "query_string_auth": "true"}
    assert found[1]["consumer_secret"] == "cs_1", "secrets are not touched by a settings change"

    refused = dashboard.post(
        f"/connections/{connection_id}/settings",
        {"base_url": "", "rate_limit": "0/10", "query_string_auth": ""},
    )
    assert refused.status_code == 400
    assert error_of(refused.text, "base_url") == "Base URL is required"
    bad = dashboard.post(f"/connections/{connection_id}/settings", {"base_url": "ftp://shop.example"})
    assert bad.status_code == 400 and "http:// or https://" in error_of(bad.text, "base_url")
    assert 'value="ftp://shop.example"' in bad.text
    after = stored(dashboard, connection_id)
    assert after is not None and after[0] == found[0]


def test_providers_that_only_send_webhooks_take_just_a_webhook_secret(
    dashboard: Dashboard, server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every shipped provider has an API client now: a webhook-only provider, as a plugin would add one.
    monkeypatch.setitem(VERIFIERS, "webhooks", shopify)
    monkeypatch.setattr(connections, "PROVIDERS", (*connections.PROVIDERS, "webhooks"))
    form = dashboard.get("/connections/new", params={"provider": "webhooks"})
    assert 'name="webhook_secret"' in form.text and 'name="base_url"' not in form.text
    assert "Fill with the local sandbox" not in form.text
    connection_id = add(dashboard, "webhooks", name="payments", webhook_secret="shpss_1")
    page = dashboard.get(f"/connections/{connection_id}")
    assert f"{server.url}/hooks/{connection_id}" in page.text and "Test connection" not in page.text
    assert "Change settings" not in page.text
    assert 'aria-label="Test payments"' not in dashboard.get("/connections").text


def test_another_companys_connection_answers_like_a_missing_one(
    dashboard: Dashboard, other_dashboard: Dashboard
) -> None:
    connection_id = add_shop(dashboard, webhook_secret="ours-only")
    assert f"/connections/{connection_id}" not in other_dashboard.get("/connections").text
    attempts = [
        ("GET", f"/connections/{connection_id}", {}),
        ("GET", f"/connections/{connection_id}/webhook-secret", {}),
        ("GET", f"/connections/{connection_id}/remove", {}),
        ("POST", f"/connections/{connection_id}/test", {}),
        ("POST", f"/connections/{connection_id}/secrets", {"webhook_secret": "theirs"}),
        ("POST", f"/connections/{connection_id}/settings", {"base_url": "https://evil.example"}),
        ("POST", f"/connections/{connection_id}/remove", {}),
    ]
    for method, path, data in attempts:
        response = other_dashboard.get(path) if method == "GET" else other_dashboard.post(path, data)
        assert response.status_code == 404, (method, path)
        assert "Connection not found" in response.text and "ours-only" not in response.text
    found = stored(dashboard, connection_id)
    assert found is not None, "still there"
    assert found[0]["base_url"] == "http://127.0.0.1:9" and found[1]["webhook_secret"] == "ours-only"
    assert other_dashboard.get("/connections/conn_missing").status_code == 404
    add_shop(other_dashboard)  # names are unique per company only


def test_a_connection_is_removed_after_a_confirmation(dashboard: Dashboard) -> None:
    connection_id = add_shop(dashboard)
    page = dashboard.get(f"/connections/{connection_id}")
    assert f'href="/connections/{connection_id}/remove">Remove this connection</a>' in page.text
    confirm = dashboard.get(f"/connections/{connection_id}/remove")
    assert "<h1>Remove shop?</h1>" in confirm.text and ">Remove connection</button>" in confirm.text
    assert stored(dashboard, connection_id) is not None, "asking is not removing"
    removed = dashboard.post(f"/connections/{connection_id}/remove")
    assert removed.headers["location"] == "/connections?done=removed"
    assert stored(dashboard, connection_id) is None
    listing = dashboard.get("/connections?done=removed")
    assert "Connection removed" in listing.text and connection_id not in listing.text
    assert dashboard.get(f"/connections/{connection_id}").status_code == 404


@pytest.mark.parametrize(
    "path", ["/connections/new", "/connections/conn_x", "/connections/conn_x/webhook-secret"]
)
def test_anonymous_visitors_get_the_login_page(anonymous: httpx.Client, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_hubspot_signs_with_its_client_secret_which_is_never_shown(dashboard: Dashboard) -> None:
    connection_id = add(dashboard, "hubspot", name="crm", client_id="app", client_secret="hub-client-secret")
    revealed = dashboard.htmx("GET", f"/connections/{connection_id}/webhook-secret")
    assert "nothing to paste" in revealed.text and "hub-client-secret" not in revealed.text
    page = dashboard.get(f"/connections/{connection_id}")
    assert "hub-client-secret" not in page.text and "Generate a new random webhook secret" not in page.text
