"""The store's fixed facts: test keys, versions, limits, statuses, currencies, webhook topics, address
fields and the demo catalogue."""

from __future__ import annotations

CONSUMER_KEY = "ck_5a1d0c2e8f3b4a6c9d7e1f0a2b3c4d5e6f708192"
CONSUMER_SECRET = "cs_9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6"  # noqa: S105 - the sandbox's fixed test key
WC_VERSION = "9.8.5"
WP_VERSION = "6.8.1"
USER_AGENT = f"WooCommerce/{WC_VERSION} Hookshot (WordPress/{WP_VERSION})"
NAMESPACE = "wc/v3"
BATCH_LIMIT = 100
OAUTH_WINDOW = 15 * 60
MAX_DELIVERY_FAILURES = 5
"""``woocommerce_max_webhook_delivery_failures``: disabled once ``failure_count`` already exceeds it."""
_WP_SALT = b"isao-sandbox-auth-salt"
"""Stands in for ``wp_salt('auth')`` in ``wp_hash`` (delivery ids)."""

ORDER_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
)
_PAID = ("processing", "completed")
_REDUCES_STOCK = ("processing", "completed", "on-hold")
_RESTORES_STOCK = ("cancelled", "pending")
PRODUCT_STATUSES = ("draft", "pending", "private", "publish", "future")
WEBHOOK_STATUSES = ("active", "paused", "disabled")
_ROLES = ("all", "administrator", "editor", "author", "contributor", "subscriber", "customer", "shop_manager")
_CURRENCIES = {
    "USD": "&#36;",
    "EUR": "&euro;",
    "GBP": "&pound;",
    "CAD": "&#36;",
    "AUD": "&#36;",
    "NZD": "&#36;",
    "CHF": "CHF",
    "JPY": "&yen;",
    "SEK": "&#107;&#114;",
    "NOK": "&#107;&#114;",
    "DKK": "kr.",
    "PLN": "&#122;&#322;",
    "BRL": "&#82;&#36;",
    "INR": "&#8377;",
    "ZAR": "&#82;",
    "MXN": "&#36;",
}
"""Some currencies, with the HTML-entity symbols ``get_woocommerce_currency_symbol`` gives for them."""

TOPIC_HOOKS: dict[str, list[str]] = {
    "coupon.created": ["woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"],
    "coupon.updated": ["woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"],
    "coupon.deleted": ["wp_trash_post"],
    "coupon.restored": ["untrashed_post"],
    "customer.created": ["user_register", "woocommerce_created_customer", "woocommerce_new_customer"],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
    "order.created": ["woocommerce_new_order"],
    "order.updated": [
        "woocommerce_update_order",
        "woocommerce_order_refunded",
        "woocommerce_delete_order_refund",
    ],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": [
        "woocommerce_process_product_meta",
        "woocommerce_new_product",
        "woocommerce_new_product_variation",
    ],
    "product.updated": [
        "woocommerce_process_product_meta",
        "woocommerce_update_product",
        "woocommerce_update_product_variation",
    ],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
    "product.published": ["woocommerce_product_published"],
}

_BILLING = ("first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode")
_BILLING_KEYS = (*_BILLING, "country", "email", "phone")
_SHIPPING_KEYS = (*_BILLING, "country", "phone")
_DEMO_PRODUCTS = (
    ("Ceramic Mug", "MUG-1", "12.00", 50),
    ("Logo T-Shirt", "TSHIRT-1", "20.00", 25),
    ("Art Poster", "POSTER-1", "8.50", 100),
    ("Zip Hoodie", "HOODIE-1", "45.00", 10),
    ("Sticker Pack", "STICKER-1", "3.00", 500),
)
