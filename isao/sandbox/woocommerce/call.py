"""One REST request after authentication and routing, its permission checks, the webhook events it
queues, and PHP's reading of query strings and forms."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from isao.sandbox.woocommerce.replies import WPError

_PERMISSIONS = {
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "read": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "delete": ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."),
    "batch": (
        "woocommerce_rest_cannot_batch",
        "Sorry, you are not allowed to batch manipulate this resource.",
    ),
}


@dataclass
class _Call:
    """One REST request, after authentication and routing."""

    request: Request
    route: str
    query: dict[str, Any]
    params: dict[str, Any]
    authed: bool
    events: list[tuple[str, str, int]] = field(default_factory=list)

    def require(self, action: str) -> None:
        """The permission callback: an unauthenticated request gets the route's own 401."""
        if not self.authed:
            code, message = _PERMISSIONS[action]
            raise WPError(code, message, 401)


def _event(events: list[tuple[str, str, int]], resource: str, event: str, id_: int) -> None:
    """Queue a webhook trigger once per request (WooCommerce's ``is_already_processed``)."""
    if (resource, event, id_) not in events:
        events.append((resource, event, id_))


_ARRAY_KEY = re.compile(r"([^\[\]]+)\[([^\[\]]*)\]")


def _params_from_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """PHP's ``$_GET``: the last value of a repeated key wins; ``key[]=a&key[]=b`` is a list."""
    params: dict[str, Any] = {}
    for key, value in pairs:
        match = _ARRAY_KEY.fullmatch(key)
        if match:
            existing = params.get(match[1])
            params[match[1]] = [*existing, value] if isinstance(existing, list) else [value]
        else:
            params[key] = value
    return params
