"""The sandbox kit: building blocks a provider's sandbox declares instead of writing them again.

The frame is ``isao.sandbox.base.Sandbox`` (store, fault gate, outbox, admin endpoints, ``Fail``
rendering). The blocks:

- ``ids``: integer ids, Shopify GIDs, Zoho's 19-digit ids, Salesforce's 18-character ids, Stripe's
  prefixed ids;
- ``paging``: numbered pages with totals, opaque cursors, ``starting_after``/``has_more``, query locators
  (``nextRecordsUrl``), GraphQL connections;
- ``oauth2``: an OAuth 2 authority (clients, refresh tokens and scopes, token lifetimes, authorization codes,
  refresh caps, rotation), shareable between sandboxes (``isao.sandbox.zohoaccounts``);
- ``answers``: ``Fail``, an error envelope raised from anywhere below a route;
- ``limits``: leaky buckets and daily allotments behind providers' own rate headers;
- ``signing`` and ``webhooks``: HMAC signatures and deliveries with the provider's retries;
- ``forms``: form-encoded bodies with bracket nesting (Stripe's ``metadata[k]=v``, ``expand[]=…``).

Nothing here is shared with ``isao.connectors``: an emulator built from the connector's own code would agree
with the connector's mistakes.
"""
