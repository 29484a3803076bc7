"""Serve several sandboxes from one process, each on its own local port (``isao sandbox up``)."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from isao.sandbox.base import Sandbox
from isao.sandbox.faults import Faults

PROVIDERS = {
    "woocommerce": "isao.sandbox.woocommerce:WooCommerceSandbox",
    "hubspot": "isao.sandbox.hubspot:HubSpotSandbox",
    "zohocrm": "isao.sandbox.zohocrm:ZohoCrmSandbox",
    "shopify": "isao.sandbox.shopify:ShopifySandbox",
    "stripe": "isao.sandbox.stripe:StripeSandbox",
}


def sandbox_class(provider: str) -> type[Sandbox]:
    try:
        module, _, name = PROVIDERS[provider].partition(":")
    except KeyError:
        raise KeyError(f"no sandbox for {provider!r} (known: {', '.join(PROVIDERS)})") from None
    cls: type[Sandbox] = getattr(importlib.import_module(module), name)
    return cls


def build(
    provider: str,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    data_dir: Path | None = None,
    faults: Faults | None = None,
    shared: dict[str, Any] | None = None,
) -> tuple[Sandbox, int]:
    """One sandbox; those of one ``family`` built with the same ``shared`` dict share its state (the Zoho
    products' accounts server)."""
    cls = sandbox_class(provider)
    store = data_dir / f"sandbox-{provider}.sqlite3" if data_dir else None
    extra: dict[str, Any] = {}
    if cls.family is not None and shared is not None:
        extra["accounts"] = shared.setdefault(cls.family, cls.new_shared())
    sandbox = cls(store_path=store, faults=faults, **extra)
    port = port or cls.default_port
    sandbox.base_url = f"http://{host}:{port}"
    return sandbox, port


async def serve(
    sandboxes: list[tuple[Sandbox, int]],
    host: str = "127.0.0.1",
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run until cancelled or interrupted; ``on_ready`` is called once every port is listening."""
    servers = [
        uvicorn.Server(uvicorn.Config(sandbox.app(), host=host, port=port, log_level="warning"))
        for sandbox, port in sandboxes
    ]
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    while not all(server.started for server in servers):
        if any(task.done() for task in tasks):
            break
        await asyncio.sleep(0.05)
    if on_ready is not None and all(server.started for server in servers):
        on_ready()
    await asyncio.gather(*tasks)
