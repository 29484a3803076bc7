"""WooCommerce REST API v3 (``/wp-json/wc/v3``) answering as WordPress and WooCommerce do.

Orders, customers and products with WordPress paging (``X-WP-Total``, ``X-WP-TotalPages``, ``Link``), the
``/batch`` routes, the ``/webhooks`` resource with signed deliveries, and ``WP_Error`` bodies for every
failure. Checked against the WooCommerce sources (REST controllers v1 to v3, ``class-wc-rest-authentication``,
``class-wc-webhook``); where the real behaviour is surprising the sandbox keeps it, because connectors break
on exactly those places:

- Authentication happens before routing: a wrong secret or a bad OAuth signature is a 401 on any ``wc/``
  path; a request without credentials reaches the route and gets the route's own 401
  (``woocommerce_rest_cannot_view`` …). An unknown key over Basic auth falls through to OAuth, as in
  WooCommerce, so it ends the same way.
- Real WooCommerce takes Basic auth and ``consumer_key``/``consumer_secret`` query parameters only over
  https (``is_ssl()``). The sandbox serves plain http and accepts them anyway, as a store behind a
  TLS-terminating proxy that reports https does. OAuth 1.0a one-legged (what the official SDKs send over
  http) is verified exactly: HMAC-SHA1/SHA256 keyed ``consumer_secret + "&"``, ±15 minutes, no nonce reuse.
- Customers have no date filters and cannot be ordered by ``modified`` (WordPress ignores unknown query
  parameters and rejects unknown ``orderby`` values); orders and products filter ``modified_after`` etc.
  *exclusively*, to the second, as ``WP_Date_Query`` does.
- Updating an unknown id is a 400 (``…_invalid_id``), reading or deleting one a 404; ``GET /webhooks/{id}``
  of an unknown webhook is a 400 "ID is invalid.".
- Webhooks: ``*.deleted`` fires when an order or product is *trashed*; a permanent delete (``force=true``,
  and every batch delete) fires nothing: WooCommerce hooks ``*.deleted`` to ``wp_trash_post`` and
  ``woocommerce_trash_order`` only.
  Creating an order or a customer also fires ``*.updated`` (WooCommerce saves them twice). The delivery id is
  ``wp_hash(webhook id . current second)``: two deliveries of one webhook within a second share it. A webhook
  is disabled on the failure after ``failure_count`` passed 5 (the 7th in a row), and a success resets it.
  Bodies are ``wp_json_encode`` output (``/`` as ``\\/``, non-ASCII as ``\\uXXXX``), signed as sent.
- Deviations, on purpose: deliveries go to loopback and private addresses on any port (WordPress'
  ``wp_safe_remote_request`` refuses those), payloads are built when the change happens rather than when
  the queued delivery runs, and the site's timezone is UTC (``date_x`` equals ``date_x_gmt``).
"""

from __future__ import annotations

from isao.sandbox.woocommerce.app import WooCommerceSandbox
from isao.sandbox.woocommerce.constants import (
    BATCH_LIMIT,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    MAX_DELIVERY_FAILURES,
    NAMESPACE,
    OAUTH_WINDOW,
    ORDER_STATUSES,
    PRODUCT_STATUSES,
    TOPIC_HOOKS,
    USER_AGENT,
    WC_VERSION,
    WEBHOOK_STATUSES,
    WP_VERSION,
)
from isao.sandbox.woocommerce.replies import WPError, wp_json
from isao.sandbox.woocommerce.schema import (
    CUSTOMER_LIST_SPECS,
    CUSTOMER_SPECS,
    ORDER_LIST_SPECS,
    ORDER_SPECS,
    PRODUCT_LIST_SPECS,
    PRODUCT_SPECS,
    WEBHOOK_LIST_SPECS,
    WEBHOOK_SPECS,
    Spec,
)

__all__ = [
    "BATCH_LIMIT",
    "CONSUMER_KEY",
    "CONSUMER_SECRET",
    "CUSTOMER_LIST_SPECS",
    "CUSTOMER_SPECS",
    "MAX_DELIVERY_FAILURES",
    "NAMESPACE",
    "OAUTH_WINDOW",
    "ORDER_LIST_SPECS",
    "ORDER_SPECS",
    "ORDER_STATUSES",
    "PRODUCT_LIST_SPECS",
    "PRODUCT_SPECS",
    "PRODUCT_STATUSES",
    "TOPIC_HOOKS",
    "USER_AGENT",
    "WC_VERSION",
    "WEBHOOK_LIST_SPECS",
    "WEBHOOK_SPECS",
    "WEBHOOK_STATUSES",
    "WP_VERSION",
    "Spec",
    "WPError",
    "WooCommerceSandbox",
    "wp_json",
]
