"""Which providers have an API client, what a connection to each needs, and how to build the client."""

from __future__ import annotations

import importlib
from typing import Any, Protocol, cast

import httpx

from isao.connectors.base import ApiClient, Credentials, Setting

MODULES = {
    "woocommerce": "isao.connectors.woocommerce",
    "hubspot": "isao.connectors.hubspot",
    "zohocrm": "isao.connectors.zohocrm",
    "isao": "isao.connectors.isao",
}


class ClientFactory(Protocol):
    def from_settings(
        self, values: dict[str, Any], credentials: Credentials, *, http: httpx.Client | None = None
    ) -> ApiClient: ...


def _module(provider: str) -> Any:
    try:
        return importlib.import_module(MODULES[provider])
    except KeyError:
        raise KeyError(f"no API client for {provider!r} (known: {', '.join(MODULES)})") from None


def settings(provider: str) -> tuple[Setting, ...]:
    return cast(tuple[Setting, ...], _module(provider).SETTINGS)


def client(
    provider: str, values: dict[str, Any], credentials: Credentials, *, http: httpx.Client | None = None
) -> ApiClient:
    factory = cast(ClientFactory, _module(provider).Client)
    return factory.from_settings(values, credentials, http=http)


def split(provider: str, given: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(plain settings, secrets) from ``name=value`` pairs, with defaults filled in.

    ``ValueError`` names unknown settings and required ones that are missing.
    """
    known = {setting.name: setting for setting in settings(provider)}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValueError(f"unknown settings for {provider}: {', '.join(unknown)} (known: {', '.join(known)})")
    values = {name: s.default for name, s in known.items() if s.default is not None} | given
    missing = [name for name, s in known.items() if s.required and not values.get(name)]
    if missing:
        raise ValueError(f"missing settings for {provider}: {', '.join(missing)}")
    plain = {name: value for name, value in values.items() if not known[name].secret and value is not None}
    secret = {name: value for name, value in values.items() if known[name].secret and value is not None}
    return plain, secret
