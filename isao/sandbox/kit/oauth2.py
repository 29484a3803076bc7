"""An OAuth 2 authority as the providers run one: clients, refresh tokens with their scopes, access tokens
with a lifetime, authorization codes, and the rules connectors break on (a cap on refreshes per refresh
token in a window, refresh tokens that rotate on use).

A provider's sandbox keeps the wire of its token endpoint (Zoho answers a refused grant with HTTP 200,
HubSpot with 400 and its own body) and asks the authority what to answer. Several sandboxes may share one
authority, as Zoho's products share one accounts server: a token minted for one is valid at the others,
within the scopes of its refresh token.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl

from isao.sandbox.store import Store

State = Literal["valid", "expired", "unknown"]


@dataclass
class Grant:
    """What a refresh token stands for."""

    client_id: str
    scopes: tuple[str, ...] = ()


@dataclass
class Issued:
    access_token: str
    refresh_token: str
    expires_in: int
    scopes: tuple[str, ...]
    rotated: bool = False
    """The refresh token is new: the caller must keep it instead of the one it sent."""


@dataclass(frozen=True)
class Refused:
    reason: Literal["invalid_client", "invalid_grant", "throttled"]


@dataclass
class _Access:
    refresh_token: str
    expires_at: float
    scopes: tuple[str, ...] = ()


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    expires_at: float


@dataclass
class Authority:
    """The token state of one provider account (or of several products sharing an accounts server).

    ``store`` keeps issued tokens across restarts with ``--data-dir`` (HubSpot never forgets a token before
    it expires); ``mint_limit`` is ``(count, seconds)`` per refresh token (Zoho: 10 in 600 s); ``rotate``
    replaces the refresh token on every use (Shopify's expiring offline tokens).
    """

    ttl: int
    clock: Callable[[], float] = time.time
    prefix: str = ""
    refresh_prefix: str = ""
    store: Store | None = None
    mint_limit: tuple[int, float] | None = None
    rotate: bool = False
    clients: dict[str, str] = field(default_factory=dict)
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    fixtures: set[str] = field(default_factory=set)
    """Refresh tokens given at start (never written to the store: they come back with the code)."""
    _access: dict[str, _Access] = field(default_factory=dict)
    _codes: dict[str, _Code] = field(default_factory=dict)
    _minted: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    ACCESS = "oauth_access_tokens"
    REFRESH = "oauth_refresh_tokens"

    def __post_init__(self) -> None:
        if self.store is None:
            return
        for doc in self.store.all(self.REFRESH):
            self.refresh_tokens[doc["id"]] = Grant(doc["client_id"], tuple(doc.get("scopes") or ()))
        for doc in self.store.all(self.ACCESS):
            scopes = tuple(doc.get("scopes") or ())
            self._access[doc["id"]] = _Access(doc["refresh_token"], float(doc["expires_at"]), scopes)

    # --- clients and refresh tokens ---

    def add_client(self, client_id: str, secret: str) -> None:
        self.clients[client_id] = secret

    def client_ok(self, client_id: str | None, secret: str | None) -> bool:
        known = self.clients.get(client_id or "")
        return known is not None and secrets.compare_digest(known.encode(), (secret or "").encode())

    def add_refresh_token(
        self, token: str, client_id: str, scopes: Iterable[str] = (), *, fixed: bool = False
    ) -> None:
        with self._lock:
            self.refresh_tokens[token] = Grant(client_id, tuple(scopes))
            if fixed:
                self.fixtures.add(token)
            else:
                self._save_refresh(token)

    def revoke(self, refresh_token: str) -> bool:
        with self._lock:
            if self.store is not None:
                self.store.delete(self.REFRESH, refresh_token)
            return self.refresh_tokens.pop(refresh_token, None) is not None

    # --- grants ---

    def refresh(self, refresh_token: str, client_id: str, ttl: int | None = None) -> Issued | Refused:
        """The refresh-token grant: a new access token, within the mint limit; rotated when configured."""
        with self._lock:
            grant = self.refresh_tokens.get(refresh_token)
            if grant is None or grant.client_id != client_id:
                return Refused("invalid_grant")
            if self.mint_limit is not None:
                count, window = self.mint_limit
                now = self.clock()
                minted = self._minted.setdefault(refresh_token, deque())
                while minted and now - minted[0] >= window:
                    minted.popleft()
                if len(minted) >= count:
                    return Refused("throttled")
                minted.append(now)
            kept = refresh_token
            if self.rotate:
                kept = self.refresh_prefix + secrets.token_hex(20)
                self.add_refresh_token(kept, client_id, grant.scopes)
                self.revoke(refresh_token)
            return self._issue(kept, grant.scopes, ttl or self.ttl, rotated=kept != refresh_token)

    def grant_code(
        self, client_id: str, redirect_uri: str, scopes: Iterable[str] = (), lifetime: float = 600
    ) -> str:
        """An authorization code, as the consent screen hands one to the redirect URI."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(client_id, redirect_uri, tuple(scopes), self.clock() + lifetime)
        return code

    def exchange(
        self, code: str, client_id: str, redirect_uri: str | None, ttl: int | None = None
    ) -> Issued | Refused | Literal["bad_redirect_uri"]:
        """The authorization-code grant: a new refresh token and its first access token (a code is used
        once)."""
        with self._lock:
            entry = self._codes.pop(code, None)
            if entry is None or entry.client_id != client_id or entry.expires_at < self.clock():
                return Refused("invalid_grant")
            if redirect_uri is not None and redirect_uri != entry.redirect_uri:
                return "bad_redirect_uri"
            refresh_token = self.refresh_prefix + secrets.token_hex(20)
            self.add_refresh_token(refresh_token, client_id, entry.scopes)
            return self._issue(refresh_token, entry.scopes, ttl or self.ttl, rotated=True)

    def _issue(self, refresh_token: str, scopes: tuple[str, ...], ttl: int, *, rotated: bool) -> Issued:
        token = self.prefix + secrets.token_hex(16)
        self._access[token] = _Access(refresh_token, self.clock() + ttl, scopes)
        self._save_access(token)
        return Issued(token, refresh_token, ttl, scopes, rotated)

    # --- access tokens ---

    def check(self, token: str, scope: str | None = None) -> State:
        """Whether ``token`` may be used now (and carries a scope starting with ``scope``, when given)."""
        with self._lock:
            found = self._access.get(token)
        if found is None or (scope and not any(s.startswith(scope) for s in found.scopes)):
            return "unknown"
        return "valid" if self.clock() < found.expires_at else "expired"

    def expires_at(self, token: str) -> float | None:
        found = self._access.get(token)
        return found.expires_at if found else None

    def remaining(self, token: str) -> int:
        expires_at = self.expires_at(token)
        return max(0, int(expires_at - self.clock())) if expires_at else 0

    def expire_all(self) -> None:
        """Every issued access token expired now (tests: 'the token expires mid-run')."""
        with self._lock:
            for token, access in self._access.items():
                access.expires_at = self.clock() - 1
                self._save_access(token)

    def forget_throttle(self) -> None:
        self._minted.clear()

    def persist(self) -> None:
        """Write back what a reset of the records cleared: sessions outlive a reset."""
        with self._lock:
            for token in self.refresh_tokens:
                self._save_refresh(token)
            for token in self._access:
                self._save_access(token)

    def _save_refresh(self, token: str) -> None:
        if self.store is not None and token not in self.fixtures:
            grant = self.refresh_tokens[token]
            doc = {"id": token, "client_id": grant.client_id, "scopes": list(grant.scopes)}
            self.store.put(self.REFRESH, token, doc)

    def _save_access(self, token: str) -> None:
        if self.store is not None:
            access = self._access[token]
            doc = {
                "id": token,
                "refresh_token": access.refresh_token,
                "expires_at": access.expires_at,
                "scopes": list(access.scopes),
            }
            self.store.put(self.ACCESS, token, doc)


def form_and_query(query: Iterable[tuple[str, str]], body: bytes, content_type: str) -> dict[str, str]:
    """A token request's parameters: the query string, then a form body (providers accept both)."""
    params = dict(query)
    if "application/x-www-form-urlencoded" in content_type or not content_type:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params
