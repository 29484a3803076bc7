"""The fixed account HubSpot shows to the sandbox's callers, its limits and the store's collections."""

from __future__ import annotations

# --- The fixed account ------------------------------------------------------------------------------

PORTAL_ID = 24681357
APP_ID = 1234567
PRIVATE_APP_TOKEN = "pat-na1-5b7a3c1e-2f4d-4e8a-9c6b-1d2e3f4a5b6c"  # noqa: S105 - a sandbox fixture
CLIENT_ID = "7d9f2a4c-1b3e-4c5d-8e6f-0a1b2c3d4e5f"
CLIENT_SECRET = "3f8e1c2d-9a7b-4c6d-b5e4-f3a2b1c0d9e8"  # noqa: S105
REFRESH_TOKEN = "na1-8c1e-2b7d-4f3a-9e6c-5d4b3a2f1e0d"  # noqa: S105
DEVELOPER_API_KEY = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
SCOPES = (
    "crm.objects.contacts.read crm.objects.contacts.write crm.objects.deals.read crm.objects.deals.write "
    "crm.objects.line_items.read crm.objects.line_items.write e-commerce oauth"
).split()

TOKEN_TTL = 1800
BATCH_MAX = 100
LIST_MAX = 100
SEARCH_MAX = 200
SEARCH_CEILING = 10_000
ASSOCIATIONS_MAX = 500
FILTER_GROUPS_MAX, FILTERS_PER_GROUP_MAX, FILTERS_MAX = 5, 6, 18
OPERATORS = (
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
)
DAILY_LIMIT = 250_000
WINDOW_MAX = {"private": 100, "oauth": 110}
"""Calls per 10 s HubSpot grants a private app (free/starter tiers) and an OAuth app install, shown in
the headers when no ceiling is injected."""
FIRST_ID = 10_001
FIXTURE_TIME = "2024-01-01T00:00:00.000Z"

# Collections in the store.
PIPELINES, PROPERTIES, ASSOCIATIONS = "pipelines", "properties", "associations"
WEBHOOK_SETTINGS, SUBSCRIPTIONS = "webhook_settings", "webhook_subscriptions"
ACCESS_TOKENS, REFRESH_TOKENS = "oauth_access_tokens", "oauth_refresh_tokens"

WEBHOOK_EVENT_TYPES = frozenset(
    f"{obj}.{event}"
    for obj in ("contact", "company", "deal", "ticket", "product", "line_item")
    for event in ("creation", "deletion", "propertyChange", "merge", "restore", "associationChange")
) | {"contact.privacyDeletion"}
"""What the webhooks API accepts; deliveries are made for the four objects this sandbox keeps."""
