"""Error envelopes: a provider raises ``Fail`` with its own body from anywhere below a route, and the
sandbox renders it with ``Sandbox.answer`` (its media type, its encoder), so no endpoint threads an error
response back up by hand."""

from __future__ import annotations

from typing import Any


class Fail(Exception):
    """An answer in the provider's own shape: ``body`` is its envelope (a JSON object, Salesforce's array)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        message = body.get("message") if isinstance(body, dict) else None
        super().__init__(message or f"HTTP {status}")
        self.status, self.body, self.headers = status, body, headers or {}
