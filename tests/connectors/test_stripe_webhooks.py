"""Stripe webhook signatures, cross-checked in both directions with the official ``stripe`` SDK."""

from __future__ import annotations

import json
import time

import pytest
import stripe as stripe_sdk

from isao.connectors import stripe
from isao.errors import SignatureInvalid

SECRET = "whsec_test"
BODY = b'{"id":123,"status":"processing"}'
T = 1_700_000_000
# Appendix A of saas-apis.md, computed there independently of this code.
KNOWN_V1 = "53138714232388f5dc223d5c7283de5cadfea35f348cdf92ed3aaf4b1db41e74"
URL = "https://isao.example/hooks/conn_3"
EVENT = json.dumps(
    {
        "id": "evt_1Nx",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": T,
        "livemode": False,
        "data": {"object": {"id": "pi_1", "object": "payment_intent", "description": "Café ☕"}},
    },
    ensure_ascii=False,
).encode()


def verify(headers: dict[str, str], body: bytes = BODY, *, now: float = T, secret: str = SECRET) -> None:
    stripe.verify_webhook(secret, headers, body, url=URL, now=now)


def test_known_vector_is_what_sign_produces_and_verifies() -> None:
    headers = stripe.sign(SECRET, BODY, T)
    assert headers["Stripe-Signature"] == f"t={T},v1={KNOWN_V1}"
    verify(headers)


def test_our_header_verifies_with_the_official_sdk() -> None:
    now = int(time.time())  # the SDK reads the real clock
    header = stripe.sign(SECRET, EVENT, now)["Stripe-Signature"]
    assert stripe_sdk.WebhookSignature.verify_header(EVENT, header, SECRET, tolerance=300) is True
    event = stripe_sdk.Webhook.construct_event(EVENT, header, SECRET)
    assert (event.id, event.type) == ("evt_1Nx", "payment_intent.succeeded")
    # And the SDK agrees that our header does not cover another body or secret.
    with pytest.raises(stripe_sdk.SignatureVerificationError):
        stripe_sdk.WebhookSignature.verify_header(EVENT + b" ", header, SECRET, tolerance=300)
    with pytest.raises(stripe_sdk.SignatureVerificationError):
        stripe_sdk.WebhookSignature.verify_header(EVENT, header, "whsec_other", tolerance=300)


def test_the_official_sdks_header_verifies_with_ours() -> None:
    header = stripe_sdk.WebhookSignature.generate_signature_header(EVENT.decode(), SECRET, timestamp=T)
    verify({"Stripe-Signature": header}, EVENT)
    with pytest.raises(SignatureInvalid):
        verify({"Stripe-Signature": header}, EVENT.replace(b"pi_1", b"pi_2"))


def test_tampered_body_fails() -> None:
    with pytest.raises(SignatureInvalid, match=r"no v1 signature .* matches"):
        verify(stripe.sign(SECRET, BODY, T), BODY.replace(b"123", b"124"))


def test_wrong_secret_fails() -> None:
    with pytest.raises(SignatureInvalid, match="matches"):
        verify(stripe.sign("whsec_other", BODY, T))


def test_missing_header_fails_with_clear_message() -> None:
    with pytest.raises(SignatureInvalid, match="missing Stripe-Signature header"):
        verify({"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("value", "reason"),
    [(f"v1={KNOWN_V1}", "no valid t= timestamp"), (f"t=abc,v1={KNOWN_V1}", "no valid t= timestamp"),
     (f"t={T},v0={KNOWN_V1}", "no v1 signature")],
)  # fmt: skip
def test_malformed_header_fails_with_clear_message(value: str, reason: str) -> None:
    with pytest.raises(SignatureInvalid, match=reason):
        verify({"Stripe-Signature": value})


@pytest.mark.parametrize("name", ["stripe-signature", "STRIPE-SIGNATURE", "Stripe-signature"])
def test_header_name_case_does_not_matter(name: str) -> None:
    verify({name: f"t={T},v1={KNOWN_V1}"})


def test_inside_the_tolerance_window_passes() -> None:
    headers = stripe.sign(SECRET, BODY, T)
    verify(headers, now=T)
    verify(headers, now=T + 300)
    verify(headers, now=T - 3600)  # a receiver clock that lags: only the age is limited, as in the SDK


def test_outside_the_tolerance_window_fails() -> None:
    with pytest.raises(SignatureInvalid, match="outside the 300 s tolerance window"):
        verify(stripe.sign(SECRET, BODY, T), now=T + 301)


def test_two_v1_signatures_during_a_secret_roll_pass_if_either_matches() -> None:
    headers = stripe.sign("whsec_new", BODY, T, previous_secrets=["whsec_old"])
    assert headers["Stripe-Signature"].count("v1=") == 2
    verify(headers, secret="whsec_new")
    verify(headers, secret="whsec_old")
    with pytest.raises(SignatureInvalid):
        verify(headers, secret="whsec_neither")
    # Order and unrelated schemes do not matter.
    verify({"Stripe-Signature": f"t={T},v0=deadbeef,v1={'0' * 64},v1={KNOWN_V1}"})
    # The SDK accepts the same rolled header.
    now = int(time.time())
    rolled = stripe.sign("whsec_new", EVENT, now, previous_secrets=["whsec_old"])["Stripe-Signature"]
    assert stripe_sdk.WebhookSignature.verify_header(EVENT, rolled, "whsec_old", tolerance=300) is True


def test_no_ping() -> None:
    assert stripe.is_ping({}, EVENT) is False


def test_delivery_id_and_topic_come_from_the_event() -> None:
    assert stripe.delivery_id({}, EVENT) == "evt_1Nx"
    assert stripe.topic({}, EVENT) == "payment_intent.succeeded"
    for body in (b"not json", b"[1,2]", b'{"id":5}', b"\xff\xfe"):
        assert stripe.delivery_id({}, body) is None
        assert stripe.topic({}, body) is None
