"""Auth styles that need no token endpoint: headers and query parameters built from a connection's secrets."""

from __future__ import annotations

import base64


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def basic(user: str, password: str) -> dict[str, str]:
    pair = f"{user}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def header(name: str, value: str | None) -> dict[str, str]:
    """A key in a header of the provider's naming (``X-Shopify-Access-Token``, ``Zoho-oauthtoken …``)."""
    return {name: value} if value else {}
