"""Webhook deliveries with the provider's retry schedule, on top of the sandbox's outbox.

A provider builds each attempt's body and headers (HubSpot counts ``attemptNumber`` in the body, Stripe
signs a new timestamp) and says how many further attempts a failure earns; the waits double from
``backoff``. Schedules are kept short (seconds, not the providers' hours), and documented per sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from isao.sandbox.outbox import Delivery, Outbox

Attempt = Callable[[int], tuple[bytes, dict[str, str]]]
"""Attempt number (0 first) → the body and headers to send."""
Settled = Callable[[Delivery], Awaitable[None] | None]


def deliver(
    outbox: Outbox,
    url: str,
    attempt: Attempt,
    *,
    retries: int = 0,
    backoff: float = 0.2,
    on_result: Settled | None = None,
    number: int = 0,
) -> None:
    """Send attempt ``number``; a failure is sent again after ``backoff * 2**number`` s, ``retries`` times.
    ``on_result`` sees every attempt (WooCommerce counts failures to disable a webhook)."""
    body, headers = attempt(number)

    async def settle(delivery: Delivery) -> None:
        if on_result is not None:
            outcome = on_result(delivery)
            if outcome is not None:
                await outcome
        if delivery.ok or number >= retries:
            return
        await asyncio.sleep(backoff * 2**number)
        deliver(
            outbox, url, attempt, retries=retries, backoff=backoff, on_result=on_result, number=number + 1
        )

    outbox.send(url, body, headers, on_result=settle)
