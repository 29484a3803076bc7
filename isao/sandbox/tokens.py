"""OAuth access and refresh tokens for the sandboxes that have an OAuth token endpoint (HubSpot, Zoho)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal


@dataclass
class _Access:
    refresh_token: str
    expires_at: float


class Tokens:
    """Issued access tokens with their expiry, and the refresh tokens that may mint them."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._access: dict[str, _Access] = {}
        self.refresh_tokens: dict[str, str] = {}
        """refresh token → the client id it was issued to."""

    def add_refresh_token(self, refresh_token: str, client_id: str) -> None:
        self.refresh_tokens[refresh_token] = client_id

    def issue(self, refresh_token: str, ttl: float, prefix: str) -> str:
        token = prefix + secrets.token_hex(16)
        with self._lock:
            self._access[token] = _Access(refresh_token, self._clock() + ttl)
        return token

    def check(self, token: str) -> Literal["valid", "expired", "unknown"]:
        with self._lock:
            found = self._access.get(token)
        if found is None:
            return "unknown"
        return "valid" if self._clock() < found.expires_at else "expired"

    def expire_all(self) -> None:
        """Make every issued access token expired now (tests: 'token expires mid-run')."""
        with self._lock:
            for access in self._access.values():
                access.expires_at = self._clock() - 1
