"""HubSpot v3 webhook signatures, cross-checked in both directions with the official
``hubspot-api-client`` (``hubspot.utils.signature.Signature``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from hubspot.exceptions import InvalidSignatureTimestampError  # type: ignore[import-untyped]
from hubspot.utils.signature import Signature  # type: ignore[import-untyped]

from isao.connectors import hubspot
from isao.errors import SignatureInvalid

SECRET = "hs_client_secret"
URL = "https://example.com/hubspot/webhook"
BODY = b'[{"eventId":1,"subscriptionType":"contact.creation","objectId":101}]'
TS = 1_700_000_000_000
# Appendix A of saas-apis.md, computed there independently of this code.
KNOWN_SIGNATURE = "Gqe7tGQQErvb/AHd+l8l97ghHryBErwKh4qqw7nNkRc="


def event(event_id: int, kind: str = "contact.propertyChange", **extra: object) -> dict[str, object]:
    return {"eventId": event_id, "subscriptionId": 4849549, "portalId": 50687303, "occurredAt": 1765043528476,
            "subscriptionType": kind, "attemptNumber": 0, "objectId": 101, **extra}  # fmt: skip


def batch(*events: dict[str, object]) -> bytes:
    return json.dumps(list(events), ensure_ascii=False, separators=(",", ":")).encode()


def verify(
    headers: dict[str, str],
    body: bytes = BODY,
    *,
    url: str = URL,
    method: str = "POST",
    now: float = TS / 1000,
    secret: str = SECRET,
) -> None:
    hubspot.verify_webhook(secret, headers, body, url=url, method=method, now=now)


def test_known_vector_is_what_sign_produces_and_verifies() -> None:
    headers = hubspot.sign(SECRET, "POST", URL, BODY, TS)
    assert headers["X-HubSpot-Signature-v3"] == KNOWN_SIGNATURE
    assert headers["X-HubSpot-Request-Timestamp"] == str(TS)
    verify(headers)


def test_our_headers_verify_with_the_official_sdk() -> None:
    now_ms = int(time.time() * 1000)  # the SDK reads the real clock
    body = batch(event(714285774, propertyValue="Zoë"), event(714285775))
    headers = hubspot.sign(SECRET, "POST", URL, body, now_ms)
    ok = Signature.is_valid(
        signature=headers["X-HubSpot-Signature-v3"],
        client_secret=SECRET,
        request_body=body.decode(),
        http_uri=URL,
        http_method="POST",
        signature_version="v3",
        timestamp=headers["X-HubSpot-Request-Timestamp"],
    )
    assert ok is True
    assert not Signature.is_valid(
        signature=headers["X-HubSpot-Signature-v3"],
        client_secret="other",
        request_body=body.decode(),
        http_uri=URL,
        http_method="POST",
        signature_version="v3",
        timestamp=headers["X-HubSpot-Request-Timestamp"],
    )


def test_the_official_sdks_signature_verifies_with_ours() -> None:
    body = batch(event(1), event(2, "deal.creation"))
    signature = Signature.get_signature(SECRET, body.decode(), "v3", URL, "POST", str(TS))
    verify({"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": str(TS)}, body)


def test_the_sdk_and_we_agree_on_the_age_limit() -> None:
    old_ms = int(time.time() * 1000) - 301_000
    headers = hubspot.sign(SECRET, "POST", URL, BODY, old_ms)
    with pytest.raises(InvalidSignatureTimestampError):
        Signature.is_valid(
            signature=headers["X-HubSpot-Signature-v3"],
            client_secret=SECRET,
            request_body=BODY.decode(),
            http_uri=URL,
            signature_version="v3",
            timestamp=str(old_ms),
        )
    with pytest.raises(SignatureInvalid, match="older than 5 minutes"):
        verify(headers, now=time.time())


def test_documented_escapes_in_the_uri_are_decoded_before_signing() -> None:
    url = "https://isao.example/hooks/c1?next=https%3A%2F%2Fx.example%2Fa%3Fb&who=a%40b%2C%28c%29%20d%2a"
    decoded = "https://isao.example/hooks/c1?next=https://x.example/a?b&who=a@b,(c)%20d*"
    assert hubspot.signed_uri(url) == decoded
    # Computed by hand over the decoded URI, as HubSpot's documentation describes.
    source = b"POST" + decoded.encode() + BODY + str(TS).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), source, hashlib.sha256).digest()).decode()
    headers = {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": str(TS)}
    verify(headers, url=url)
    assert hubspot.sign(SECRET, "POST", url, BODY, TS)["X-HubSpot-Signature-v3"] == signature
    # The SDK leaves decoding to its caller; given the decoded URI it agrees.
    assert Signature.get_signature(SECRET, BODY.decode(), "v3", decoded, "POST", str(TS)) == signature


def test_tampered_body_fails() -> None:
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify(hubspot.sign(SECRET, "POST", URL, BODY, TS), BODY.replace(b"101", b"102"))


def test_other_url_or_method_fails() -> None:
    headers = hubspot.sign(SECRET, "POST", URL, BODY, TS)
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify(headers, url=URL + "?x=1")
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify(headers, method="PUT")


def test_wrong_secret_fails() -> None:
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify(hubspot.sign("another", "POST", URL, BODY, TS))


def test_missing_headers_fail_with_clear_messages() -> None:
    headers = hubspot.sign(SECRET, "POST", URL, BODY, TS)
    with pytest.raises(SignatureInvalid, match="missing X-HubSpot-Signature-v3 header"):
        verify({"X-HubSpot-Request-Timestamp": str(TS), "X-HubSpot-Signature": "v1-or-v2-value"})
    with pytest.raises(SignatureInvalid, match="missing X-HubSpot-Request-Timestamp header"):
        verify({"X-HubSpot-Signature-v3": headers["X-HubSpot-Signature-v3"]})
    with pytest.raises(SignatureInvalid, match="not a Unix time in milliseconds"):
        verify({**headers, "X-HubSpot-Request-Timestamp": "1700000000000.5"})


@pytest.mark.parametrize(
    ("signature_name", "timestamp_name"),
    [("x-hubspot-signature-v3", "x-hubspot-request-timestamp"),
     ("X-HubSpot-Signature-V3", "X-HUBSPOT-REQUEST-TIMESTAMP")],
)  # fmt: skip
def test_header_name_case_does_not_matter(signature_name: str, timestamp_name: str) -> None:
    verify({signature_name: KNOWN_SIGNATURE, timestamp_name: str(TS)})


def test_inside_the_window_passes_and_outside_fails() -> None:
    headers = hubspot.sign(SECRET, "POST", URL, BODY, TS)
    verify(headers, now=TS / 1000 + 300)
    verify(headers, now=TS / 1000 - 60)  # a receiver clock that lags: only the age is limited
    with pytest.raises(SignatureInvalid, match="older than 5 minutes"):
        verify(headers, now=TS / 1000 + 300.001)


def test_no_ping() -> None:
    assert hubspot.is_ping({}, BODY) is False


def test_delivery_id_is_stable_across_order_and_retries() -> None:
    first = hubspot.delivery_id({}, batch(event(2), event(1)))
    assert first == "hubspot:4849549:1:1765043528476,4849549:2:1765043528476"
    assert hubspot.delivery_id({}, batch(event(1), event(2))) == first
    # HubSpot's retry bumps attemptNumber, so the body hash changes but the id must not.
    assert hubspot.delivery_id({}, batch(event(1, attemptNumber=1), event(2, attemptNumber=1))) == first
    assert hubspot.delivery_id({}, batch(event(1), event(3))) != first


def test_delivery_id_of_a_large_batch_is_bounded() -> None:
    delivery = hubspot.delivery_id({}, batch(*(event(i) for i in range(100))))
    assert delivery is not None and delivery.startswith("hubspot:sha256:") and len(delivery) < 100
    assert hubspot.delivery_id({}, batch(*(event(i) for i in reversed(range(100))))) == delivery


@pytest.mark.parametrize("body", [b"", b"not json", b"{}", b"[]", b'[{"objectId":1}]', b"[1]"])
def test_delivery_id_and_topic_are_none_when_unparsable(body: bytes) -> None:
    assert hubspot.delivery_id({}, body) is None
    assert hubspot.topic({}, body) is None


def test_topic_is_the_first_events_subscription_type() -> None:
    assert hubspot.topic({}, batch(event(1), event(2, "deal.creation"))) == "contact.propertyChange"
