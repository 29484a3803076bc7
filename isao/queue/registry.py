"""Handlers by job kind, and the hooks the worker calls without knowing who provides them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from isao.queue.context import JobContext
from isao.queue.jobs import Prepare
from isao.queue.retry import RetryPolicy

Handler = Callable[[JobContext, dict[str, Any]], Any]
Refresher = Callable[[str], None]
RateLimits = Callable[[str], tuple[float, float] | None]


@dataclass
class Kind:
    handler: Handler
    policy: RetryPolicy | None = None
    max_attempts: int | None = None
    prepare: Prepare | None = None
    """Called in the transaction that gives a job of this kind to a worker (its claim, or
    ``JobContext.hand_over``): what the job would do first in a transaction of its own (the sync engine
    takes its record's lock)."""


@dataclass
class Registry:
    kinds: dict[str, Kind] = field(default_factory=dict)
    refreshers: dict[str, Refresher] = field(default_factory=dict)
    rate_limits: list[RateLimits] = field(default_factory=list)

    def register(
        self,
        kind: str,
        handler: Handler,
        *,
        policy: RetryPolicy | None = None,
        max_attempts: int | None = None,
        prepare: Prepare | None = None,
    ) -> None:
        self.kinds[kind] = Kind(handler, policy, max_attempts, prepare)

    def handler(self, kind: str, **options: Any) -> Callable[[Handler], Handler]:
        def decorate(fn: Handler) -> Handler:
            self.register(kind, fn, **options)
            return fn

        return decorate

    def on_auth_expired(self, scheme: str, refresher: Refresher) -> None:
        """``refresher(connection_id)`` for connections whose id starts with ``scheme``."""
        self.refreshers[scheme] = refresher

    def refresh(self, connection_id: str) -> None:
        for prefix, refresher in self.refreshers.items():
            if connection_id.startswith(prefix):
                refresher(connection_id)
                return
        raise LookupError(f"no token refresher for {connection_id}")

    def limits_for(self, rate_key: str) -> tuple[float, float] | None:
        """(tokens per second, burst) for a rate key, from the first provider that knows it."""
        for lookup in self.rate_limits:
            found = lookup(rate_key)
            if found:
                return found
        return None
