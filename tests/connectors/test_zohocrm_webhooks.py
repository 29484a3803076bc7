"""Zoho CRM notifications: no signature, only the channel's ``token`` echoed in the JSON body."""

from __future__ import annotations

import json

import pytest

from isao.connectors import webhooks, zohocrm
from isao.errors import SignatureInvalid

pytestmark = pytest.mark.no_database

TOKEN = "TOKEN_FOR_VERIFICATION_OF_1000000068001"
URL = "https://isao.example/hooks/conn_zoho"
NOW = 1_700_000_000.0


def notification(token: object = TOKEN, **changes: object) -> bytes:
    """A callback body with the keys Zoho's "Enable Notifications" page documents."""
    body = {
        "server_time": 1_700_000_000_123,
        "query_params": {"key1": "val1"},
        "module": "Contacts",
        "resource_uri": "https://www.zohoapis.com/crm/v4/Contacts",
        "ids": ["5843210000000100001", "5843210000000100002"],
        "affected_fields": [{"5843210000000100001": ["Email"]}, {"5843210000000100002": ["Phone", "Mobile"]}],
        "operation": "update",
        "channel_id": 1000000068001,
        "token": token,
        **changes,
    }
    return json.dumps(body, ensure_ascii=False).encode()


def verify(body: bytes, secret: str = TOKEN, headers: dict[str, str] | None = None) -> None:
    zohocrm.verify_webhook(secret, headers or {}, body, url=URL, method="POST", now=NOW)


def test_the_echoed_token_verifies_whatever_the_url_method_or_time() -> None:
    body = notification()
    verify(body)
    zohocrm.verify_webhook(TOKEN, {}, body, url="https://other.example/x?y=1", method="PUT", now=0)


def test_another_token_fails() -> None:
    with pytest.raises(SignatureInvalid, match="does not match the webhook secret"):
        verify(notification("TOKEN_OF_SOMEONE_ELSE"))
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify(notification(), secret=TOKEN + "x")


@pytest.mark.parametrize("token", [None, "", 42, ["x"]])
def test_a_missing_or_non_text_token_fails(token: object) -> None:
    with pytest.raises(SignatureInvalid, match="carries no token"):
        verify(notification(token))


def test_a_body_without_the_token_key_fails() -> None:
    body = json.loads(notification())
    del body["token"]
    with pytest.raises(SignatureInvalid, match="carries no token"):
        verify(json.dumps(body).encode())


@pytest.mark.parametrize("body", [b"", b"not json", b"[1,2]", b'"token"'])
def test_a_body_that_is_not_a_json_object_fails(body: bytes) -> None:
    with pytest.raises(SignatureInvalid, match="not a JSON object"):
        verify(body)


def test_a_hostile_non_ascii_token_is_refused_cleanly() -> None:
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify(notification("tökén ☕"))
    verify(notification("tökén ☕"), secret="tökén ☕")


def test_an_empty_secret_is_refused_outright() -> None:
    with pytest.raises(SignatureInvalid, match="no webhook secret"):
        verify(notification(""), secret="")


def test_headers_play_no_part() -> None:
    verify(notification(), headers={"X-Whatever": "1", "Content-Type": "application/json"})


def test_no_ping_and_no_delivery_id() -> None:
    assert zohocrm.is_ping({}, notification()) is False
    assert zohocrm.delivery_id({}, notification()) is None


@pytest.mark.parametrize(
    ("operation", "expected"),
    [("insert", "Contacts.insert"), ("update", "Contacts.update"), ("delete", "Contacts.delete")],
)
def test_topic_is_module_dot_operation(operation: str, expected: str) -> None:
    assert zohocrm.topic({}, notification(operation=operation)) == expected


@pytest.mark.parametrize("body", [b"", b"nope", b"[]", b'{"module":"Contacts"}', b'{"operation":"insert"}'])
def test_topic_is_none_when_unparsable(body: bytes) -> None:
    assert zohocrm.topic({}, body) is None


def test_the_registry_serves_zoho() -> None:
    spec = webhooks.get("zohocrm")
    assert spec is zohocrm
    spec.verify_webhook(TOKEN, {}, notification(), url=URL, method="POST", now=NOW)
    with pytest.raises(SignatureInvalid, match="zohocrm"):
        spec.verify_webhook("wrong", {}, notification(), url=URL, method="POST", now=NOW)
