from __future__ import annotations

import httpx
import pytest

from isao.config import Settings
from isao.crm import webhooks
from isao.crm.errors import Invalid
from isao.crypto import decrypt
from isao.db.models import WebhookSubscription
from tests.conftest import Tenant


def test_subscribe_list_delete(api: httpx.Client, tenant: Tenant) -> None:
    response = api.post(
        "/webhooks/subscribe", json={"event": "deal.won", "target_url": "http://localhost:3000/webhook/isao"}
    )
    assert response.status_code == 201
    created = response.json()["data"]
    assert created["id"].startswith("wh_") and created["event"] == "deal.won"
    assert created["target_url"] == "http://localhost:3000/webhook/isao" and created["active"] is True
    assert created["secret"].startswith("whsec_")

    listed = api.get("/webhooks").json()
    assert listed["success"] is True
    assert [w["id"] for w in listed["data"]] == [created["id"]]
    assert "secret" not in listed["data"][0]

    with tenant.db.read() as session:
        row = session.get(WebhookSubscription, created["id"])
        assert row is not None
        assert created["secret"] not in row.secret_encrypted
        assert decrypt(row.secret_encrypted) == created["secret"]

    assert api.delete(f"/webhooks/{created['id']}").json() == {
        "success": True,
        "data": {"id": created["id"], "deleted": True},
    }
    again = api.delete(f"/webhooks/{created['id']}")
    assert again.status_code == 404
    assert again.json() == {"success": False, "error": "Webhook not found"}
    assert api.get("/webhooks").json()["data"] == []


def test_seed_events_all_subscribe(api: httpx.Client) -> None:
    for event in ["contact.created", "contact.updated", "deal.created", "deal.won", "deal.lost"]:
        assert (
            api.post(
                "/webhooks/subscribe", json={"event": event, "target_url": "https://example.com/h"}
            ).status_code
            == 201
        )
    assert len(api.get("/webhooks").json()["data"]) == 5


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"event": "deal.exploded", "target_url": "https://example.com"}, "event"),
        ({"event": "deal.won", "target_url": "ftp://example.com/x"}, "target_url"),
        ({"event": "deal.won", "target_url": "not a url"}, "target_url"),
        ({"event": "deal.won"}, "target_url"),
        ({"target_url": "https://example.com"}, "event"),
    ],
)
def test_bad_subscriptions_are_422(api: httpx.Client, payload: dict, field: str) -> None:
    response = api.post("/webhooks/subscribe", json=payload)
    assert response.status_code == 422
    assert field in response.json()["details"]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/x", "http://localhost/x", "http://10.1.2.3/x", "http://[::1]/x"]
)
def test_private_targets_refused_when_configured(url: str) -> None:
    with pytest.raises(Invalid) as caught:
        webhooks.check_target_url(url, allow_private=False)
    assert "private" in caught.value.details["target_url"]
    webhooks.check_target_url(url, allow_private=True)


def test_default_allows_loopback_targets(settings: Settings) -> None:
    assert settings.allow_private_webhook_targets is True
