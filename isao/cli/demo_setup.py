"""What ``isao demo`` sets up in the demo company: a connection to each sandbox and one to ISAO's own External
API, every shipped recipe those connections can fill, and the providers' webhooks pointing at ISAO.

Idempotent: a second run finds what the first made and brings it up to date (the ports may have changed);
nothing is created twice, and each connection keeps its webhook secret so the hooks stay verifiable."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isao import connections
from isao.connectors import catalog as connectors
from isao.connectors import stripe, woocommerce
from isao.crm import keys
from isao.db import Database
from isao.errors import ProviderError
from isao.sandbox.base import Sandbox
from isao.sync import bindings, catalog
from isao.sync.expressions import Expression, Template
from isao.sync.recipe import Flow, Recipe, RecipeError, ValueMap

NAMES = {"woocommerce": "demo-shop", "zohocrm": "demo-zoho", "hubspot": "demo-hubspot", "isao": "demo-isao",
         "stripe": "demo-stripe", "shopify": "demo-shopify"}  # fmt: skip
TITLES = {"woocommerce": "WooCommerce", "zohocrm": "Zoho CRM", "hubspot": "HubSpot", "isao": "ISAO",
          "stripe": "Stripe", "shopify": "Shopify"}  # fmt: skip
RECIPE_KEY = "demo-recipes"
"""The ``isao`` connection's own key: `isao serve --demo` rotating the demo key must not break it."""
_PROPERTY = re.compile(r"(?<![\w.\]])properties\.(\w+)")
"""``properties.dealstage`` of the source record (not ``lookups.buyers[0].properties.email``)."""


@dataclass(frozen=True)
class Enabled:
    recipe: Recipe
    binding_id: str
    roles: dict[str, str]
    """role → connection id"""


@dataclass
class Setup:
    connections: dict[str, str]
    """provider → connection id"""
    enabled: list[Enabled]
    skipped: list[str]
    hooks: list[str]
    """One line per connection whose provider now calls ISAO (or why it does not)."""


def prepare(
    db: Database, company_id: str, isao_url: str, sandboxes: dict[str, Sandbox], recipes_dir: Path | None
) -> Setup:
    """Connections, recipes and webhooks for the demo company, for the sandboxes and ISAO as served now."""
    found = {
        provider: connect(db, company_id, provider, box.credentials()) for provider, box in sandboxes.items()
    }
    own = {"base_url": f"{isao_url}/api/external", "api_key": recipe_key(db, company_id)}
    found["isao"] = connect(db, company_id, "isao", own)
    enabled, skipped = enable_recipes(db, company_id, found, recipes_dir)
    hooks = [
        line for provider, conn in found.items() if (line := register(db, provider, conn, isao_url, enabled))
    ]
    return Setup(found, enabled, skipped, hooks)


def connect(db: Database, company_id: str, provider: str, values: dict[str, str]) -> str:
    """The company's demo connection to ``provider``, created or updated with ``values``."""
    name = NAMES[provider]
    known = {setting.name for setting in connectors.settings(provider)}
    given = {key: value for key, value in values.items() if key in known}
    with db.write() as session:
        mine = [r for r in connections.list_(session, company_id) if (r.provider, r.name) == (provider, name)]
        row = mine[0] if mine else None
        if provider == "woocommerce":  # ISAO registers the shop's webhooks itself, with this secret
            stored = connections.secrets(row) if row is not None else {}
            given["webhook_secret"] = stored.get("webhook_secret") or secrets.token_hex(16)
        plain, secret = connectors.split(provider, given)
        if row is None:
            return connections.create(session, company_id, provider, name, config=plain, secrets=secret).id
        row.config = plain
        connections.set_secrets(row, secret)
        return row.id


def recipe_key(db: Database, company_id: str) -> str:
    """A fresh full-scope key for the ``isao`` connection; the previous one is revoked."""
    with db.write() as session:
        for row in keys.list_(session, company_id):
            if row.name == RECIPE_KEY and row.revoked_at is None:
                keys.revoke(session, row.id)
        return keys.create(session, company_id, RECIPE_KEY, list(keys.SCOPES))[1]


def enable_recipes(
    db: Database, company_id: str, found: dict[str, str], recipes_dir: Path | None
) -> tuple[list[Enabled], list[str]]:
    """Each shipped recipe whose roles the connections fill, a role bound to the connection of its provider;
    options set on an earlier run are kept."""
    enabled, skipped = [], []
    for name in catalog.files():
        try:
            recipe = catalog.get(name, recipes_dir)
        except RecipeError as exc:
            skipped.append(f"{name}: does not load ({exc})")
            continue
        providers = list(recipe.connections.values())
        missing = sorted({p for p in providers if p not in found})
        if missing or len(set(providers)) < len(providers):
            why = f"needs {', '.join(missing)}" if missing else "two roles of one provider"
            skipped.append(f"{name}: {why}")
            continue
        roles = {role: found[provider] for role, provider in recipe.connections.items()}
        with db.write() as session:
            current = bindings.get(session, company_id, name)
            kept = {k: v for k, v in (current.options if current else {}).items() if k in recipe.options}
            binding = bindings.enable(session, company_id, recipe, roles, kept)
            enabled.append(Enabled(recipe, binding.id, roles))
    return enabled, skipped


def topics(enabled: list[Enabled], connection_id: str) -> dict[str, set[str]]:
    """The webhook topics of the flows reading from this connection → the source properties they use."""
    wanted: dict[str, set[str]] = {}
    for item in enabled:
        for flow in item.recipe.flows:
            if item.roles[flow.source.connection] == connection_id:
                for topic in flow.trigger.webhook:
                    wanted.setdefault(topic, set()).update(_properties(flow))
    return wanted


def register(
    db: Database, provider: str, connection_id: str, isao_url: str, enabled: list[Enabled]
) -> str | None:
    """Point the provider's webhooks for this connection at ISAO; a line saying what was done."""
    wanted = topics(enabled, connection_id)
    if not wanted:
        return None
    url = f"{isao_url}/hooks/{connection_id}"
    client = connections.open_client(db, connection_id)
    try:
        if isinstance(client, woocommerce.Client):
            events = sorted(wanted)
            _woocommerce(client, connection_id, url, _webhook_secret(db, connection_id), events)
        elif isinstance(client, stripe.Client):
            events = sorted(wanted)
            _stripe(db, client, connection_id, url, events)
        elif (subscribe := getattr(client, "subscribe", None)) is not None:
            events = _events(wanted)
            subscribe(events, url)
        else:
            return f"{TITLES[provider]}: no webhooks to register; its flows run on their poll schedule"
    except ProviderError as exc:
        return f"[red]{TITLES[provider]}: could not register webhooks: {exc}[/red]"
    finally:
        client.close()
    return f"{TITLES[provider]} → {url}: {', '.join(events)}"


def _webhook_secret(db: Database, connection_id: str) -> str:
    with db.read() as session:
        row = connections.get(session, connection_id)
        return (connections.webhook_secret(row) if row is not None else None) or ""


def _events(wanted: dict[str, set[str]]) -> list[str]:
    """HubSpot subscribes to a property change per property: ``deal.propertyChange:dealstage``."""
    events = []
    for topic in sorted(wanted):
        if topic.endswith(".propertyChange"):
            events += [f"{topic}:{name}" for name in sorted(wanted[topic])]
        else:
            events.append(topic)
    return events


def _woocommerce(
    client: woocommerce.Client, connection_id: str, url: str, secret: str, events: list[str]
) -> None:
    """One active webhook per topic at ``url``; this connection's others (old port, topic no longer needed,
    disabled after failures, duplicates) are deleted."""
    kept: set[str] = set()
    for hook in client.list_webhooks():
        target = str(hook.get("delivery_url") or "")
        if target == url and hook.get("status") == "active" and hook.get("topic") in events:
            if hook["topic"] not in kept:
                kept.add(hook["topic"])
                continue
        if target.endswith(f"/hooks/{connection_id}"):
            client.delete_webhook(hook["id"])
    for topic in events:
        if topic not in kept:
            client.create_webhook(topic, url, secret, name=f"ISAO demo: {topic}")


def _stripe(db: Database, client: stripe.Client, connection_id: str, url: str, events: list[str]) -> None:
    """One endpoint at ``url``; its secret (shown once, at creation) becomes the connection's webhook secret.
    Endpoints this connection made before (an old port) are deleted."""
    for endpoint in client.list_webhooks():
        if str(endpoint.get("url") or "").endswith(f"/hooks/{connection_id}"):
            client.delete_webhook(str(endpoint["id"]))
    created = client.create_webhook(url, events)
    with db.write() as session:
        row = connections.get(session, connection_id)
        if row is not None:
            connections.set_secrets(row, {"webhook_secret": str(created["secret"])})


def _properties(flow: Flow) -> set[str]:
    texts = [text for step in flow.steps for text in _texts([step.when, step.fields])]
    return {name for text in [*texts, *_texts(flow.when)] for name in _PROPERTY.findall(text)}


def _texts(value: Any) -> Iterator[str]:
    """The expression sources inside a compiled mapping."""
    if isinstance(value, Template | Expression):
        yield value.source
    elif isinstance(value, ValueMap):
        yield from _texts([value.source, value.map, value.default])
    elif isinstance(value, dict):
        yield from _texts(list(value.values()))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)
