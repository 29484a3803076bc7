"""The recipe page's forms: reading an enable form into roles and options (as ``isao recipes enable``
takes them), and the few query and form values its runs take, each refused with a message for its field."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from isao.db.models import Connection, RecipeBinding
from isao.sync.recipe import Recipe
from isao.timeutil import format_iso, parse_iso

PROVIDERS = {"woocommerce": "WooCommerce", "hubspot": "HubSpot", "zohocrm": "Zoho CRM", "isao": "ISAO",
             "http": "HTTP endpoint", "shopify": "Shopify", "stripe": "Stripe"}  # fmt: skip
PREVIEW_LIMIT, PREVIEW_MAX = 20, 100


def provider_name(provider: str) -> str:
    return PROVIDERS.get(provider, provider)


@dataclass
class Role:
    name: str
    provider: str
    choices: list[tuple[str, str]]
    """(connection id, label) of the company's connections of this provider"""
    current: str = ""

    @property
    def field(self) -> str:
        return f"role-{self.name}"


@dataclass
class Option:
    name: str
    default: Any
    current: str

    @property
    def field(self) -> str:
        return f"option-{self.name}"

    @property
    def shown_default(self) -> str:
        return show(self.default)


@dataclass
class EnableForm:
    roles: list[Role]
    options: list[Option]
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def show(value: Any) -> str:
    """An option's value as typed into its field: text as is, the rest as YAML reads it back."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, default=str) if value is not None else ""


def enable_form(recipe: Recipe, binding: RecipeBinding | None, connections: list[Connection]) -> EnableForm:
    """The form filled in with the binding (or, for a role with one connection only, that one)."""
    roles = []
    for role, provider in recipe.connections.items():
        choices = [(row.id, f"{row.name} ({row.id})") for row in connections if row.provider == provider]
        current = binding.connections.get(role, "") if binding else ""
        if not current and len(choices) == 1:
            current = choices[0][0]
        roles.append(Role(role, provider, choices, current))
    given = binding.options if binding else {}
    options = [
        Option(name, default, show(given.get(name, default))) for name, default in recipe.options.items()
    ]
    return EnableForm(roles, options)


def read_enable(form: EnableForm, values: dict[str, str]) -> tuple[dict[str, str], dict[str, Any]]:
    """(role → connection id, options that differ from the recipe's defaults); messages in ``form.errors``."""
    form.values = values
    chosen: dict[str, str] = {}
    for role in form.roles:
        picked = values.get(role.field, "").strip()
        if not role.choices:
            form.errors[role.field] = f"This company has no {provider_name(role.provider)} connection yet"
        elif picked not in {value for value, _ in role.choices}:
            form.errors[role.field] = (
                f"Choose one of this company's {provider_name(role.provider)} connections"
            )
        else:
            chosen[role.name] = picked
    options: dict[str, Any] = {}
    for option in form.options:
        text = values.get(option.field, "").strip()
        if not text:
            continue
        try:
            value = _option(option.default, text)
        except ValueError as exc:
            form.errors[option.field] = str(exc)
            continue
        if value != option.default:
            options[option.name] = value
    return chosen, options


def _option(default: Any, text: str) -> Any:
    """Typed like its default: a number stays a number, a switch true or false; text is taken as typed."""
    if isinstance(default, str):
        return text
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ValueError("Enter a value YAML can read (a number, true/false, text or a [list])") from None
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError("Enter true or false")
    elif isinstance(default, int | float) and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError("Enter a number")
    return value


def read_since(text: str | None) -> str | None:
    """An ISO 8601 time (as ``…Z``) or None; ``ValueError`` with the message for the field."""
    if not text or not text.strip():
        return None
    try:
        return format_iso(parse_iso(text))
    except ValueError:
        raise ValueError("Enter a date or time like 2026-11-01 or 2026-11-01T08:00:00Z") from None


def read_limit(text: str | None) -> int:
    if text is None or not text.strip():
        return PREVIEW_LIMIT
    try:
        limit = int(text)
    except ValueError:
        raise ValueError("Enter a whole number") from None
    if not 1 <= limit <= PREVIEW_MAX:
        raise ValueError(f"Enter a number from 1 to {PREVIEW_MAX}")
    return limit
