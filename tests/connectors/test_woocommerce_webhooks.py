"""WooCommerce webhook signatures, checked against the documented algorithm computed here by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from isao.connectors import woocommerce
from isao.errors import SignatureInvalid

SECRET = "wc_secret"
BODY = b'{"id":123,"status":"processing"}'
# Appendix A of saas-apis.md, computed there independently of this code.
KNOWN_SIGNATURE = "pwgo1FZhED7tbs0Po4uMSVL7CW2jcMWnTw7EsSsm77g="
URL = "https://isao.example/hooks/conn_1"
NOW = 1_700_000_000.0


def by_hand(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(headers: dict[str, str], body: bytes = BODY, secret: str = SECRET) -> None:
    woocommerce.verify_webhook(secret, headers, body, url=URL, now=NOW)


def test_known_vector_is_what_sign_produces_and_verifies() -> None:
    assert by_hand(SECRET, BODY) == KNOWN_SIGNATURE
    assert woocommerce.sign(SECRET, BODY)["X-WC-Webhook-Signature"] == KNOWN_SIGNATURE
    verify({"X-WC-Webhook-Signature": KNOWN_SIGNATURE})


def test_raw_bytes_with_escaped_slashes_and_non_ascii() -> None:
    # What wp_json_encode sends: "/" escaped as "\/", UTF-8 text left unescaped.
    body = '{"id":7,"permalink":"https:\\/\\/shop.example\\/p\\/café","name":"Café ☕ Ünïcode"}'.encode()
    assert b"\\/" in body and not body.isascii()
    signature = by_hand(SECRET, body)
    verify({"X-WC-Webhook-Signature": signature}, body)
    # A re-encoding of the same JSON is different bytes, so it must not verify.
    reencoded = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert reencoded != body
    with pytest.raises(SignatureInvalid):
        verify({"X-WC-Webhook-Signature": signature}, reencoded)


def test_tampered_body_fails() -> None:
    headers = woocommerce.sign(SECRET, BODY)
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify(headers, BODY.replace(b"processing", b"completed"))


def test_wrong_secret_fails() -> None:
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify(woocommerce.sign("another_secret", BODY))


def test_missing_header_fails_with_clear_message() -> None:
    with pytest.raises(SignatureInvalid, match="missing X-WC-Webhook-Signature header"):
        verify({"Content-Type": "application/json"})


def test_empty_secret_is_refused_even_with_a_matching_signature() -> None:
    with pytest.raises(SignatureInvalid, match="no webhook secret"):
        verify({"X-WC-Webhook-Signature": by_hand("", BODY)}, secret="")


@pytest.mark.parametrize(
    "name", ["x-wc-webhook-signature", "X-WC-WEBHOOK-SIGNATURE", "X-Wc-Webhook-Signature"]
)
def test_header_name_case_does_not_matter(name: str) -> None:
    verify({name: KNOWN_SIGNATURE})


def test_non_ascii_signature_header_is_a_clean_rejection() -> None:
    with pytest.raises(SignatureInvalid):
        verify({"X-WC-Webhook-Signature": "pwgo1FZhED7tbs0Po4uMSVL7CW2jcMWnTw7EsSsm77é="})


def test_entity_encoded_secret_is_decoded_like_wordpress() -> None:
    # WooCommerce keys the HMAC with wp_specialchars_decode(secret, ENT_QUOTES).
    plain = "p&ss<w>rd'\"x"
    signature = by_hand(plain, BODY)
    verify({"X-WC-Webhook-Signature": signature}, secret=plain)
    verify({"X-WC-Webhook-Signature": signature}, secret="p&amp;ss&lt;w&gt;rd&#039;&quot;x")
    verify({"X-WC-Webhook-Signature": signature}, secret="p&#38;ss&lt;w&#62;rd&#x27;&#034;x")
    # One pass only, like PHP's strtr: "&amp;lt;" is "&lt;", not "<".
    verify({"X-WC-Webhook-Signature": by_hand("&lt;", BODY)}, secret="&amp;lt;")


def test_ping_is_recognised_and_unsigned() -> None:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "WooCommerce/9.0.0 Hookshot (WordPress/6.5)",
    }
    assert woocommerce.is_ping(headers, b"webhook_id=42") is True
    assert woocommerce.delivery_id(headers, b"webhook_id=42") is None
    assert woocommerce.topic(headers, b"webhook_id=42") is None


def test_real_order_event_is_not_a_ping() -> None:
    headers = woocommerce.sign(SECRET, BODY, topic="order.created", webhook_id=42, delivery_id="d1")
    assert woocommerce.is_ping(headers, BODY) is False
    # A ping-shaped body that carries WooCommerce event headers is an event (and must verify).
    assert woocommerce.is_ping(woocommerce.sign(SECRET, b"webhook_id=42"), b"webhook_id=42") is False
    # JSON without headers is not a ping either.
    assert woocommerce.is_ping({}, BODY) is False
    assert woocommerce.is_ping({}, b"webhook_id=abc") is False


def test_sign_produces_the_delivery_headers_and_they_are_read_back() -> None:
    headers = woocommerce.sign(
        SECRET, BODY, topic="order.updated", webhook_id=42, delivery_id="abc123", source="https://shop/"
    )
    assert headers == {
        "Content-Type": "application/json",
        "X-WC-Webhook-Signature": KNOWN_SIGNATURE,
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": "updated",
        "X-WC-Webhook-ID": "42",
        "X-WC-Webhook-Delivery-ID": "abc123",
        "X-WC-Webhook-Source": "https://shop/",
    }
    lowered = {name.lower(): value for name, value in headers.items()}
    assert woocommerce.topic(lowered, BODY) == "order.updated"
    assert (
        woocommerce.delivery_id(lowered, BODY)
        == f"abc123:order.updated:{hashlib.sha256(BODY).hexdigest()[:16]}"
    )
    # WooCommerce reuses a delivery id within one second: another body under that id is another event
    assert woocommerce.delivery_id(lowered, BODY + b" ") != woocommerce.delivery_id(lowered, BODY)
    assert woocommerce.delivery_id({}, BODY) is None
