"""Stripe API v1 sandbox: customers, products, prices, payment intents, charges, invoices with their lines
(invoice items), refunds and events, with webhook endpoints whose deliveries are signed with
``Stripe-Signature``.

Wire facts follow ``saas-apis-directory.md`` §2 and the companion's §6, and what the official ``stripe``
package sends and parses:

- ``/v1`` bodies are form-encoded with bracket nesting (``metadata[order]=7``, ``expand[]=customer``);
  amounts are integers in minor units, times Unix seconds. ``Authorization: Bearer sk_test_…`` (or Basic
  with the key as user). Every answer carries ``Request-Id``; ``Stripe-Version`` is echoed.
- Lists are newest first, ``limit`` 1-100 (default 10), ``starting_after`` / ``ending_before`` with
  ``has_more``; ``expand[]`` replaces an id with its object (``data.customer`` in lists).
- Search (``/v1/customers/search?query=email:'…'``) pages with ``page``/``next_page`` and has its own,
  lower rate ceiling (20 per second, the ``search_rate_limit`` knob by default).
- ``Idempotency-Key`` on a POST: the same key and parameters replay the first answer
  (``Idempotent-Replayed: true``); other parameters under the same key are an ``idempotency_error``.
- Errors are ``{"error": {type, code, message, param, doc_url}}``; 429s carry ``code: rate_limit``.
- Confirming a payment intent with a test payment method succeeds at once (``pm_card_visa``) or is
  declined (``pm_card_chargeDeclined``: 402 ``card_declined``), and makes a charge.

Deviations, on purpose: no search lag (Stripe's index trails writes by about a minute); webhook retries are
three in about a second and a half (Stripe: three days); one account, test mode only.
"""

from __future__ import annotations

from isao.sandbox.stripe.app import API_KEY, SEARCH_RATE, StripeSandbox

__all__ = ["API_KEY", "SEARCH_RATE", "StripeSandbox"]
