"""One module per provider: the wire format of its API and of its webhooks.

Connectors import nothing from ``isao`` except ``isao.errors``: they know the wire, not the business.
``webhooks`` is the registry the inbound receiver uses to verify a delivery by provider name.
"""
