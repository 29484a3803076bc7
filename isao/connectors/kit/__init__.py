"""The connector kit: what a provider's client declares instead of writing it again. The frame is
``isao.connectors.base.ApiClient`` (credentials with single-flight refresh, one call with what was sent and
what came back, ``classify``). The blocks:

- ``auth``: API keys in a header or the query, bearer tokens, Basic auth;
- ``oauth2``: the refresh-token grant at a token endpoint (form or JSON, lifetimes from ``expires_in`` or a
  default, rotated refresh tokens, extra fields such as Salesforce's ``instance_url``), its refusals
  classified;
- ``paging``: the next page of each style (page numbers with totals, ``Link`` headers, cursors in the body,
  ``starting_after``/``has_more``, ``nextRecordsUrl``, GraphQL ``pageInfo``);
- ``errors``: a table from a provider's error codes to ``isao.errors`` classes;
- ``isao.connectors._signing``: webhook signatures compared in constant time.

A connector never imports the engine, and shares no code with its provider's sandbox.
"""
