"""Shopify webhook signatures, checked against the documented algorithm computed here by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from isao.connectors import shopify
from isao.errors import SignatureInvalid

SECRET = "shpss_test"
BODY = b'{"id":123,"status":"processing"}'
# Appendix A of saas-apis.md, computed there independently of this code.
KNOWN_SIGNATURE = "WZyF3qu1HFk5249K5GQ4eqwmlMccaj5CrylqsTH3Pkw="
URL = "https://isao.example/hooks/conn_2"
NOW = 1_700_000_000.0


def by_hand(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(headers: dict[str, str], body: bytes = BODY, secret: str = SECRET) -> None:
    shopify.verify_webhook(secret, headers, body, url=URL, now=NOW)


def test_known_vector_is_what_sign_produces_and_verifies() -> None:
    assert by_hand(SECRET, BODY) == KNOWN_SIGNATURE
    assert shopify.sign(SECRET, BODY)["X-Shopify-Hmac-Sha256"] == KNOWN_SIGNATURE
    verify({"X-Shopify-Hmac-Sha256": KNOWN_SIGNATURE})


def test_non_ascii_body_is_verified_as_raw_bytes() -> None:
    body = '{"title":"Crème brûlée","note":"a\\/b"}'.encode()
    verify({"X-Shopify-Hmac-Sha256": by_hand(SECRET, body)}, body)


def test_tampered_body_fails() -> None:
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify(shopify.sign(SECRET, BODY), BODY + b" ")


def test_wrong_secret_fails() -> None:
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify(shopify.sign("shpss_other", BODY))


def test_missing_header_fails_with_clear_message() -> None:
    with pytest.raises(SignatureInvalid, match="missing X-Shopify-Hmac-Sha256 header"):
        verify({"X-Shopify-Topic": "orders/create"})


@pytest.mark.parametrize(
    "name", ["x-shopify-hmac-sha256", "X-SHOPIFY-HMAC-SHA256", "X-Shopify-Hmac-SHA256", "Shopify-Hmac-Sha256"]
)
def test_header_name_case_and_prefix_do_not_matter(name: str) -> None:
    verify({name: KNOWN_SIGNATURE})


def test_no_ping() -> None:
    assert shopify.is_ping({}, b"webhook_id=1") is False


def test_delivery_id_and_topic() -> None:
    headers = shopify.sign(
        SECRET, BODY, topic="orders/create", webhook_id="b54557e4", shop_domain="s.myshopify.com"
    )
    assert headers["X-Shopify-Shop-Domain"] == "s.myshopify.com"
    assert shopify.topic(headers, BODY) == "orders/create"
    assert shopify.delivery_id(headers, BODY) == "b54557e4"
    assert shopify.delivery_id({"x-shopify-event-id": "evt-9"}, BODY) == "evt-9"
    assert shopify.delivery_id({}, BODY) is None
    assert shopify.topic({}, BODY) is None
