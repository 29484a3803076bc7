"""Connections: a company's account at a provider. Credentials are one JSON object, encrypted at rest."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from secrets import token_hex
from typing import Any

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from isao.connectors import catalog
from isao.connectors.base import ApiClient, Mint, Setting, still_fresh
from isao.crypto import decrypt, encrypt
from isao.db import Database
from isao.db.models import Connection
from isao.errors import ProviderError
from isao.ids import new_id
from isao.queue import ratelimit
from isao.timeutil import utcnow

PROVIDERS = ("woocommerce", "hubspot", "zohocrm", "isao", "http", "shopify", "stripe")
WEBHOOK_SECRET = Setting(
    "webhook_secret", "The secret the provider signs webhooks with", secret=True, required=False
)


class NameTaken(ValueError):
    """Names are unique in a company: recipes and people tell connections apart by them."""


def fields(provider: str) -> tuple[Setting, ...]:
    """What a connection to ``provider`` takes: its API client's settings, or only the webhook secret for
    a provider ISAO just receives webhooks from (every shipped one has a client now)."""
    if provider in catalog.MODULES:
        return catalog.settings(provider)
    if provider in PROVIDERS:
        return (WEBHOOK_SECRET,)
    raise KeyError(f"unknown provider {provider!r}; choose from {', '.join(PROVIDERS)}")


def new_settings(provider: str, given: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(plain settings, secrets) of a new connection; ``catalog.SettingsError`` says what is wrong."""
    if provider in catalog.MODULES:
        return catalog.split(provider, given)
    return {}, {k: v for k, v in given.items() if k == "webhook_secret"}


def update(row: Connection, given: dict[str, str], unset: Collection[str] = ()) -> None:
    """Change some settings or rotate some secrets; the others are kept, but plain settings named in
    ``unset`` are dropped (back to their defaults). ``ValueError`` changes nothing."""
    if row.provider in catalog.MODULES:
        plain, secret = catalog.change(row.provider, given)
    elif set(given) == {"webhook_secret"}:
        plain, secret = {}, given
    else:
        raise ValueError(f"{row.provider} connections keep only a webhook_secret")
    row.config = {k: v for k, v in {**row.config, **plain}.items() if k not in unset}
    touch(row)
    if secret:
        set_secrets(row, secret)


def known_settings(provider: str, values: Mapping[str, str]) -> dict[str, str]:
    """``values`` as far as a connection to ``provider`` takes them: a sandbox's credentials without, e.g.,
    HubSpot's ``portal_id``, which is only informative."""
    names = {setting.name for setting in fields(provider)}
    return {k: v for k, v in values.items() if k in names}


def new_webhook_secret() -> str:
    """A random secret to give the provider (WooCommerce and Zoho take any string)."""
    return token_hex(32)


def create(
    session: Session,
    company_id: str,
    provider: str,
    name: str,
    *,
    config: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
) -> Connection:
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; choose from {', '.join(PROVIDERS)}")
    if name_taken(session, company_id, name):
        raise NameTaken(f"the company already has a connection named {name!r}")
    row = Connection(
        id=new_id("conn"),
        company_id=company_id,
        provider=provider,
        name=name,
        config=config or {},
        secrets_encrypted=encrypt(orjson.dumps(secrets or {}).decode()),
    )
    session.add(row)
    session.flush()
    return row


def name_taken(session: Session, company_id: str, name: str) -> bool:
    taken = select(Connection.id).where(Connection.company_id == company_id, Connection.name == name)
    return session.scalar(taken) is not None


def secrets(row: Connection) -> dict[str, str]:
    data: dict[str, str] = orjson.loads(decrypt(row.secrets_encrypted))
    return data


def set_secrets(row: Connection, values: dict[str, str]) -> None:
    """Merge ``values`` into the stored secrets (token refresh, rotation)."""
    row.secrets_encrypted = encrypt(orjson.dumps(secrets(row) | values).decode())
    touch(row)


_changes = itertools.count()
_generation = next(_changes)


def touch(row: Connection) -> None:
    """Mark a changed connection (settings or secrets), so clients made from it are made again."""
    global _generation
    row.updated_at = utcnow()
    _generation = next(_changes)


def generation() -> int:
    """Moves whenever this process changes a connection: cached clients check their row again."""
    return _generation


def stamp(db: Database, connection_id: str) -> datetime | None:
    """When the connection last changed (in any process)."""
    with db.read() as session:
        return session.scalar(select(Connection.updated_at).where(Connection.id == connection_id))


def webhook_secret(row: Connection) -> str | None:
    """The key that signs this provider's webhooks (HubSpot signs with the app's client secret)."""
    stored = secrets(row)
    return stored.get("webhook_secret") or stored.get("client_secret")


def get(session: Session, connection_id: str, company_id: str | None = None) -> Connection | None:
    row = session.get(Connection, connection_id)
    if row is None or (company_id is not None and row.company_id != company_id):
        return None
    return row


def list_(session: Session, company_id: str | None = None) -> Sequence[Connection]:
    query = select(Connection).order_by(Connection.created_at)
    if company_id:
        query = query.where(Connection.company_id == company_id)
    return session.scalars(query).all()


def delete(session: Session, connection_id: str) -> bool:
    row = session.get(Connection, connection_id)
    if row is None:
        return False
    session.delete(row)
    return True


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str
    """The account the provider described, or the error's message."""
    error: str | None = None
    """The error's class (``AuthExpired``, ``Transient``…): what an operator looks up."""
    response: dict[str, Any] | None = None
    """What the provider answered (status, body), when it answered."""


def check(db: Database, connection_id: str) -> CheckResult:
    """One authenticated call to the provider (refreshing the OAuth token if it is due). ``LookupError`` for
    a missing connection, ``KeyError`` for a provider without an API client."""
    client = open_client(db, connection_id)
    try:
        return CheckResult(True, client.check())
    except ProviderError as exc:
        return CheckResult(False, str(exc), type(exc).__name__, exc.response or None)
    finally:
        client.close()


class StoredCredentials:
    """A connection's secrets in the database, with token refresh single-flight across every worker and
    process: the refresh runs inside a write transaction holding the connection's row lock (``FOR UPDATE``
    on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers), and re-reads first, so a worker that
    waited finds the token another worker just stored instead of refreshing again."""

    def __init__(self, db: Database, connection_id: str, *, cache_seconds: float = 30.0) -> None:
        self.db = db
        self.connection_id: str | None = connection_id
        self.cache_seconds = cache_seconds
        self._cached: dict[str, Any] | None = None
        self._cached_at = 0.0
        self._lock = threading.Lock()

    def load(self) -> dict[str, Any]:
        """Cached briefly: an access token stays valid at the provider after another worker refreshes."""
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached_at < self.cache_seconds:
                return dict(self._cached)
        with self.db.read() as session:
            row = session.get(Connection, self.connection_id)
            if row is None:
                raise LookupError(f"connection {self.connection_id} no longer exists")
            return self._remember(secrets(row))

    def refresh(self, stale: str | None, mint: Mint) -> dict[str, Any]:
        with self.db.write() as session:
            row = session.scalars(
                select(Connection).where(Connection.id == self.connection_id).with_for_update()
            ).one()
            current = secrets(row)
            if still_fresh(current, stale, time.time()):
                return self._remember(current)
            updates = mint(current)
            set_secrets(row, {key: str(value) for key, value in updates.items()})
            return self._remember(current | updates)

    def _remember(self, values: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._cached, self._cached_at = dict(values), time.monotonic()
        return dict(values)


def open_client(db: Database, connection_id: str, *, http: httpx.Client | None = None) -> ApiClient:
    """The provider's API client for a stored connection, paced by the connection's token bucket (shared
    through the database by every worker) when the provider or the connection sets a rate limit."""
    with db.read() as session:
        row = session.get(Connection, connection_id)
        if row is None:
            raise LookupError(f"no connection {connection_id}")
        provider, values = row.provider, dict(row.config)
    client = catalog.client(provider, values, StoredCredentials(db, connection_id), http=http)
    limits = catalog.rate_limit(provider, values)
    if limits is not None:
        client.throttle = partial(_pace, db, rate_key(connection_id), *limits)
    return client


def rate_key(connection_id: str) -> str:
    """The key of the connection's token bucket in ``rate_buckets`` (the dashboard reads its level)."""
    return f"conn:{connection_id}"


def _pace(db: Database, key: str, rate: float, burst: float) -> None:
    wait = ratelimit.acquire(db, key, rate, burst, time.time())
    if wait > 0:
        time.sleep(wait)
