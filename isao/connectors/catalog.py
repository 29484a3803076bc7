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
    "http": "isao.connectors.http",
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


COMMON = (
    Setting(
        "rate_limit",
        'Requests allowed as "<requests>/<seconds>", e.g. 100/10 (default: the provider\'s published limit)',
        required=False,
    ),
)


def settings(provider: str) -> tuple[Setting, ...]:
    return cast(tuple[Setting, ...], _module(provider).SETTINGS) + COMMON


def rate_limit(provider: str, values: dict[str, Any]) -> tuple[float, float] | None:
    """(requests per second, burst) for a connection: its ``rate_limit`` setting, else the provider's."""
    text = values.get("rate_limit") or getattr(_module(provider).Client, "default_rate_limit", None)
    if not text:
        return None
    requests, _, seconds = str(text).partition("/")
    try:
        count, window = float(requests), float(seconds or 1)
    except ValueError:
        raise ValueError(f"rate_limit must look like 100/10, not {text!r}") from None
    if count <= 0 or window <= 0:
        raise ValueError(f"rate_limit must be positive, not {text!r}")
    # A bucket of one token refilled at (count - 1) per window: any window, rolling or fixed, then sees at
    # most the one saved token plus the refills, i.e. ``count`` requests.
    return max(count - 1, count / 2) / window, 1.0


def client(
    provider: str, values: dict[str, Any], credentials: Credentials, *, http: httpx.Client | None = None
) -> ApiClient:
    factory = cast(ClientFactory, _module(provider).Client)
    return factory.from_settings(values, credentials, http=http)


def split(provider: str, given: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(plain settings, secrets) from ``name=value`` pairs, with defaults filled in.

    ``ValueError`` names unknown settings and required ones that are missing.
    """
    known = _checked(provider, given)
    values = {name: s.default for name, s in known.items() if s.default is not None} | given
    missing = [name for name, s in known.items() if s.required and not values.get(name)]
    if missing:
        raise ValueError(f"missing settings for {provider}: {', '.join(missing)}")
    return _partition(known, values)


def change(provider: str, given: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(plain settings, secrets) of a change to some of a connection's settings: no defaults."""
    return _partition(_checked(provider, given), given)


def _checked(provider: str, given: dict[str, str]) -> dict[str, Setting]:
    known = {setting.name: setting for setting in settings(provider)}
    if given.get("rate_limit"):
        rate_limit(provider, given)  # refuse a malformed one now, not at the first sync
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValueError(f"unknown settings for {provider}: {', '.join(unknown)} (known: {', '.join(known)})")
    return known


def _partition(known: dict[str, Setting], values: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    plain = {name: value for name, value in values.items() if not known[name].secret and value is not None}
    secret = {name: value for name, value in values.items() if known[name].secret and value is not None}
    return plain, secret
