"""Which providers have an API client, what a connection to each needs, and how to build the client."""

from __future__ import annotations

import importlib
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import httpx

from isao.connectors.base import ApiClient, Credentials, Setting

MODULES = {
    "woocommerce": "isao.connectors.woocommerce",
    "hubspot": "isao.connectors.hubspot",
    "zohocrm": "isao.connectors.zohocrm",
    "shopify": "isao.connectors.shopify",
    "stripe": "isao.connectors.stripe",
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


class SettingsError(ValueError):
    """Refused settings: the whole story as the message (the CLI prints it), and one message per setting in
    ``problems`` (the dashboard shows each next to its field)."""

    def __init__(self, problems: dict[str, str], messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.problems = problems


def split(provider: str, given: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(plain settings, secrets) from ``name=value`` pairs, with defaults filled in.

    ``SettingsError`` names unknown settings, malformed ones and required ones that are missing.
    """
    known, problems, messages = _checked(provider, given)
    values = {name: s.default for name, s in known.items() if s.default is not None} | given
    missing = [name for name, s in known.items() if s.required and not values.get(name)]
    if missing:
        problems |= {name: f"{name} is required" for name in missing}
        messages.append(f"missing settings for {provider}: {', '.join(missing)}")
    if problems:
        raise SettingsError(problems, messages)
    return _partition(known, values)


def change(provider: str, given: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(plain settings, secrets) of a change to some of a connection's settings: no defaults."""
    known, problems, messages = _checked(provider, given)
    if problems:
        raise SettingsError(problems, messages)
    return _partition(known, given)


def _checked(provider: str, given: dict[str, str]) -> tuple[dict[str, Setting], dict[str, str], list[str]]:
    """The provider's settings, and what is wrong with ``given``: a malformed rate limit or URL is refused
    now, not at the first sync."""
    known = {setting.name: setting for setting in settings(provider)}
    problems: dict[str, str] = {}
    messages: list[str] = []
    if given.get("rate_limit"):
        try:
            rate_limit(provider, given)
        except ValueError as exc:
            problems["rate_limit"] = str(exc)
            messages.append(str(exc))
    for name, value in given.items():
        if name.endswith("_url") and name in known and value and not _is_url(value):
            problems[name] = f"{name} must be an http:// or https:// address, not {value!r}"
            messages.append(problems[name])
    unknown = sorted(set(given) - set(known))
    if unknown:
        problems |= {name: f"{provider} connections have no setting {name!r}" for name in unknown}
        messages.append(f"unknown settings for {provider}: {', '.join(unknown)} (known: {', '.join(known)})")
    return known, problems, messages


def _is_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _partition(known: dict[str, Setting], values: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    plain = {name: value for name, value in values.items() if not known[name].secret and value is not None}
    secret = {name: value for name, value in values.items() if known[name].secret and value is not None}
    return plain, secret
