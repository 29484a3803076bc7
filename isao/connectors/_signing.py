"""Helpers the providers' webhook checks share (private: the public surface is each provider module)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from isao.errors import SignatureInvalid


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    """HTTP header names are case-insensitive; providers and proxies spell them differently."""
    return {name.lower(): value.strip() for name, value in headers.items()}


def header(headers: Mapping[str, str], *names: str) -> str | None:
    """The first non-empty value among ``names`` (lower-case) in already-normalised ``headers``."""
    for name in names:
        value = headers.get(name)
        if value:
            return value
    return None


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def same(expected: str, given: str) -> bool:
    """Constant-time equality; compares bytes because ``compare_digest`` refuses non-ASCII ``str``
    (a hostile header value must produce a clean rejection, not a ``TypeError``)."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "replace"))


def require_secret(secret: str, provider: str) -> None:
    """An empty key would make every signature forgeable by anyone, so refuse it outright."""
    if not secret:
        raise SignatureInvalid(f"{provider}: no webhook secret is configured for this connection")


def parse_json(body: bytes) -> Any:
    """The decoded JSON body, or None when it is not JSON (callers then fall back, never fail)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def isao_signature(secret: str, timestamp: str, body: bytes) -> str:
    """ISAO's own webhook scheme (``isao.hooks.signing``, which connectors may not import):
    ``sha256=<hex HMAC-SHA256(secret, "<ts>." + body)>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()
