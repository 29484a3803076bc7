"""HubSpot CRM sandbox: objects v3 (contacts, deals, products, line items) with batch and search,
associations v4, deal pipelines, properties, OAuth v1 tokens and private-app tokens, the app webhooks API
with batched v3-signed deliveries, and HubSpot's rate-limit headers and error bodies.

Wire facts follow ``saas-apis.md`` §2, HubSpot's published OpenAPI documents and what the official Python
SDK sends and parses. Where HubSpot's behaviour is undocumented the choice made here is stated where it is
implemented. Nothing here is shared with ``isao.connectors.hubspot`` on purpose.
"""

from __future__ import annotations

from isao.sandbox.hubspot.app import HubSpotSandbox
from isao.sandbox.hubspot.constants import (
    ACCESS_TOKENS,
    APP_ID,
    ASSOCIATIONS,
    ASSOCIATIONS_MAX,
    BATCH_MAX,
    CLIENT_ID,
    CLIENT_SECRET,
    DAILY_LIMIT,
    DEVELOPER_API_KEY,
    FILTER_GROUPS_MAX,
    FILTERS_MAX,
    FILTERS_PER_GROUP_MAX,
    FIRST_ID,
    FIXTURE_TIME,
    LIST_MAX,
    OPERATORS,
    PIPELINES,
    PORTAL_ID,
    PRIVATE_APP_TOKEN,
    PROPERTIES,
    REFRESH_TOKEN,
    REFRESH_TOKENS,
    SCOPES,
    SEARCH_CEILING,
    SEARCH_MAX,
    SUBSCRIPTIONS,
    TOKEN_TTL,
    WEBHOOK_EVENT_TYPES,
    WEBHOOK_SETTINGS,
    WINDOW_MAX,
)
from isao.sandbox.hubspot.kinds import (
    ASSOCIATION_TYPES,
    CONTACTS,
    DEALS,
    DEFAULT_TYPE,
    INVERSE_TYPE,
    KINDS,
    LINE_ITEMS,
    PRODUCTS,
)
from isao.sandbox.hubspot.schema import (
    BUILTIN,
    DEFAULT_STAGES,
)

__all__ = [
    "ACCESS_TOKENS",
    "APP_ID",
    "ASSOCIATIONS",
    "ASSOCIATIONS_MAX",
    "ASSOCIATION_TYPES",
    "BATCH_MAX",
    "BUILTIN",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "CONTACTS",
    "DAILY_LIMIT",
    "DEALS",
    "DEFAULT_STAGES",
    "DEFAULT_TYPE",
    "DEVELOPER_API_KEY",
    "FILTERS_MAX",
    "FILTERS_PER_GROUP_MAX",
    "FILTER_GROUPS_MAX",
    "FIRST_ID",
    "FIXTURE_TIME",
    "INVERSE_TYPE",
    "KINDS",
    "LINE_ITEMS",
    "LIST_MAX",
    "OPERATORS",
    "PIPELINES",
    "PORTAL_ID",
    "PRIVATE_APP_TOKEN",
    "PRODUCTS",
    "PROPERTIES",
    "REFRESH_TOKEN",
    "REFRESH_TOKENS",
    "SCOPES",
    "SEARCH_CEILING",
    "SEARCH_MAX",
    "SUBSCRIPTIONS",
    "TOKEN_TTL",
    "WEBHOOK_EVENT_TYPES",
    "WEBHOOK_SETTINGS",
    "WINDOW_MAX",
    "HubSpotSandbox",
]
