"""Webhooks: ISAO's outgoing deliveries (signed, retried) and the inbound receiver for providers."""
