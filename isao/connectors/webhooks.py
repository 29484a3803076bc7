"""The registry the inbound receiver (``POST /hooks/{connection_id}``) uses to check a delivery.

Every provider module exposes the same four functions, so the receiver stays provider-agnostic::

    spec = webhooks.get(connection.provider)
    if spec.is_ping(headers, body):
        return 200                                  # acknowledged, not an event
    spec.verify_webhook(secret, headers, body, url=public_url, method="POST", now=time.time())
    key = spec.delivery_id(headers, body) or sha256(body)

``verify_webhook`` must be given the raw body bytes as received: providers sign those exact bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from isao.connectors import hubspot, isao, shopify, stripe, woocommerce, zohocrm


class WebhookSpec(Protocol):
    """What a provider module offers for inbound webhooks (each module satisfies it as-is)."""

    def verify_webhook(
        self,
        secret: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        url: str,
        method: str = "POST",
        now: float,
    ) -> None:
        """Return if the signature holds; raise ``isao.errors.SignatureInvalid`` with a reason if not."""

    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        """An unsigned set-up probe to answer 200 without storing an event."""

    def delivery_id(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """The provider's id of this delivery, stable across retries; None means hash the body."""

    def topic(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """The event type as the provider names it, e.g. ``order.created``."""


VERIFIERS: dict[str, WebhookSpec] = {
    "woocommerce": woocommerce,
    "hubspot": hubspot,
    "shopify": shopify,
    "stripe": stripe,
    "zohocrm": zohocrm,
    "isao": isao,
}


def get(provider: str) -> WebhookSpec:
    """The spec for ``provider``; ``KeyError`` names the providers that can verify webhooks."""
    try:
        return VERIFIERS[provider]
    except KeyError:
        known = ", ".join(sorted(VERIFIERS))
        raise KeyError(f"no webhook verifier for provider {provider!r} (known: {known})") from None
