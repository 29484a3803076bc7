"""Shopify Admin API sandbox: the GraphQL Admin API (orders, customers, products and variants, line items,
money bags, connections with cursors, the customer mutations and webhook subscriptions) on graphql-core,
the legacy REST resources the official Python package uses (``orders.json``, ``customers.json``,
``products.json``, ``webhooks.json``, with ``Link`` paging), the token endpoint, and signed deliveries.

Wire facts follow ``saas-apis-directory.md`` §1 and the companion's §5, Shopify's published Admin schema
(type and field names) and what the ``ShopifyAPI`` package sends and parses:

- ``X-Shopify-Access-Token`` on every call (no ``Bearer``): the fixed offline token, or an expiring one from
  ``POST /admin/oauth/access_token`` (one hour; the refresh token rotates on every use).
- GraphQL answers HTTP 200, with ``extensions.cost`` (requested, actual, and the bucket of 2,000 points
  restoring 100 a second); a query the bucket cannot pay for is ``THROTTLED``, one over 1,000 points
  ``MAX_COST_EXCEEDED``; business-rule failures are ``userErrors``, not ``errors``.
- Search syntax on ``orders``/``customers``/``products(query:)`` and ``customers/search.json``:
  ``email:…``, ``updated_at:>'2024-03-01T00:00:00Z'``, ``sku:…``, quotes for spaces, all terms
  required.
- REST pages by ``page_info`` in the ``Link`` header (``limit`` ≤ 250, nothing else beside it); every REST
  answer carries ``X-Shopify-Shop-Api-Call-Limit`` from a bucket of 40 leaking 2 a second, and a 429 with
  ``Retry-After`` beyond it. Validation failures are 422
  ``{"errors": {"email": ["has already been taken"]}}``.
- Webhooks (``webhookSubscriptionCreate`` or ``webhooks.json``): the REST JSON of the record, signed with
  ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 with the app's client secret), with ``X-Shopify-Topic``,
  ``X-Shopify-Webhook-Id`` (kept on retries) and ``X-Shopify-Event-Id``.

Deviations, on purpose: orders are created over REST (``orders.json``); one shop, in UTC; costs follow
Shopify's published rules roughly (objects 1, connections ``2 + first x node``, mutations 10); retries are
three in about a second and a half (Shopify: 8 over 4 hours).
"""

from __future__ import annotations

from isao.sandbox.shopify.app import ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, ShopifySandbox

__all__ = ["ACCESS_TOKEN", "CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN", "ShopifySandbox"]
