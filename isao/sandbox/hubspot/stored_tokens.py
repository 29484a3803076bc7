"""OAuth tokens kept in the store as well as in memory."""

from __future__ import annotations

import time
from typing import Literal

from isao.sandbox.hubspot.constants import ACCESS_TOKENS, REFRESH_TOKEN, REFRESH_TOKENS
from isao.sandbox.store import Store
from isao.sandbox.tokens import Tokens

# --- Tokens ------------------------------------------------------------------------------------------


class _Tokens(Tokens):
    """Tokens also written to the store, so a sandbox restarted with ``--data-dir`` still knows the access
    tokens it issued (HubSpot never forgets one before it expires) and can say when one expired."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self._expiry: dict[str, tuple[str, float]] = {}

    def load(self) -> None:
        for doc in self.store.all(REFRESH_TOKENS):
            self.refresh_tokens[doc["id"]] = doc["client_id"]
        for doc in self.store.all(ACCESS_TOKENS):
            self._expiry[doc["id"]] = (doc["refresh_token"], float(doc["expires_at"]))

    def persist(self) -> None:
        """Write back what a data reset cleared: sessions outlive a reset of the records."""
        for token, client_id in self.refresh_tokens.items():
            if token != REFRESH_TOKEN:
                self.store.put(REFRESH_TOKENS, token, {"id": token, "client_id": client_id})
        for token, (refresh, expires_at) in self._expiry.items():
            self._put(token, refresh, expires_at)

    def add_refresh_token(self, refresh_token: str, client_id: str) -> None:
        super().add_refresh_token(refresh_token, client_id)
        if refresh_token != REFRESH_TOKEN:
            self.store.put(REFRESH_TOKENS, refresh_token, {"id": refresh_token, "client_id": client_id})

    def revoke(self, refresh_token: str) -> bool:
        self.store.delete(REFRESH_TOKENS, refresh_token)
        return self.refresh_tokens.pop(refresh_token, None) is not None

    def issue(self, refresh_token: str, ttl: float, prefix: str) -> str:
        token = super().issue(refresh_token, ttl, prefix)
        self._put(token, refresh_token, time.time() + ttl)
        return token

    def check(self, token: str) -> Literal["valid", "expired", "unknown"]:
        verdict = super().check(token)
        if verdict != "unknown" or token not in self._expiry:
            return verdict
        return "valid" if time.time() < self._expiry[token][1] else "expired"

    def expires_at(self, token: str) -> float | None:
        found = self._expiry.get(token)
        return found[1] if found else None

    def remaining(self, token: str) -> int:
        expires_at = self.expires_at(token)
        return max(0, int(expires_at - time.time())) if expires_at else 0

    def expire_all(self) -> None:
        super().expire_all()
        past = time.time() - 1
        for token, (refresh, _) in list(self._expiry.items()):
            self._put(token, refresh, past)

    def _put(self, token: str, refresh_token: str, expires_at: float) -> None:
        self._expiry[token] = (refresh_token, expires_at)
        self.store.put(
            ACCESS_TOKENS, token, {"id": token, "refresh_token": refresh_token, "expires_at": expires_at}
        )
