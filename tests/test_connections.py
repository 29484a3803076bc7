"""Stored connections: secrets encrypted at rest, and token refresh single-flight across workers."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import select

from isao import connections
from isao.connectors import catalog
from isao.connectors.base import REFRESH_SKEW
from isao.crm import companies
from isao.db import Database
from isao.db.models import Connection


def _connection(db: Database, secrets: dict[str, str]) -> str:
    with db.write() as session:
        company = companies.create(session, f"Refreshers {time.monotonic_ns()}")
        return connections.create(session, company.id, "hubspot", "crm", secrets=secrets).id


def test_concurrent_refreshes_mint_one_token_and_store_it_encrypted(qdb: Database) -> None:
    connection_id = _connection(qdb, {"refresh_token": "rt-1", "access_token": "old", "expires_at": "1"})
    minted: list[dict[str, Any]] = []

    def mint(current: dict[str, Any]) -> dict[str, Any]:
        minted.append(current)
        time.sleep(0.2)  # a slow token endpoint: the others must wait for it, not call it too
        return {"access_token": "new-token", "expires_at": time.time() + 1800}

    seen: list[str] = []
    workers = [
        threading.Thread(
            target=lambda: seen.append(
                connections.StoredCredentials(qdb, connection_id).refresh("old", mint)["access_token"]
            )
        )
        for _ in range(6)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    assert len(minted) == 1 and minted[0]["refresh_token"] == "rt-1"
    assert seen == ["new-token"] * 6
    with qdb.read() as session:
        query = select(Connection.secrets_encrypted).where(Connection.id == connection_id)
        raw = session.scalars(query).one()
    assert "new-token" not in raw and "rt-1" not in raw
    assert connections.StoredCredentials(qdb, connection_id).load()["access_token"] == "new-token"


def test_a_token_about_to_expire_is_refreshed_and_a_fresh_one_is_kept(qdb: Database) -> None:
    soon = str(time.time() + REFRESH_SKEW / 2)
    connection_id = _connection(qdb, {"refresh_token": "rt", "access_token": "a", "expires_at": soon})
    credentials = connections.StoredCredentials(qdb, connection_id)
    calls: list[int] = []

    def mint(current: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        return {"access_token": f"t{len(calls)}", "expires_at": time.time() + 3600}

    assert credentials.refresh(None, mint)["access_token"] == "t1"  # due: refreshed
    assert credentials.refresh(None, mint)["access_token"] == "t1"  # fresh: kept
    assert credentials.refresh("t1", mint)["access_token"] == "t2"  # the provider refused t1: forced
    assert len(calls) == 2


def test_a_connection_paces_its_calls_under_the_providers_ceiling(qdb, sandbox_factory) -> None:
    woo = sandbox_factory("woocommerce", rate_limit=5, rate_window=2)
    given = woo.sandbox.credentials() | {"base_url": woo.url, "rate_limit": "5/2"}
    plain, secrets = catalog.split("woocommerce", given)
    with qdb.write() as session:
        company = companies.create(session, f"Paced {time.monotonic_ns()}")
        row = connections.create(session, company.id, "woocommerce", "shop", config=plain, secrets=secrets)
        connection_id = row.id
    client = connections.open_client(qdb, connection_id)
    for _ in range(12):
        client.check()
    client.close()
    stats = woo.stats()["faults"]
    assert stats["requests"] == 12 and stats["rate_limited"] == 0  # waited for tokens instead of a 429


def test_rate_limit_settings_are_checked() -> None:
    assert catalog.rate_limit("hubspot", {}) == (9.9, 1.0)  # HubSpot's published 100 per 10 s
    assert catalog.rate_limit("woocommerce", {}) is None  # a self-hosted shop publishes none
    assert catalog.rate_limit("woocommerce", {"rate_limit": "30/60"}) == (29 / 60, 1.0)
    for bad in ("fast", "0/10", "10/-1"):
        with pytest.raises(ValueError, match="rate_limit"):
            catalog.split("woocommerce", {"consumer_key": "k", "consumer_secret": "s", "base_url": "http://x",
                                          "rate_limit": bad})  # fmt: skip
