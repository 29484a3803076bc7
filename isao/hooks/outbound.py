"""Delivering CRM events to webhook subscriptions.

Each (event, subscription) pair is one job, enqueued with the change itself (``isao.crm.events``).
A delivery POSTs ``{"event", "data", "id", "createdAt"}``, signed (``isao.hooks.signing``);
``id`` is the event's, the same on every retry, so receivers can drop repeats. 2xx is success; 410 removes the
subscription (the REST-hook convention); anything else is retried on the configured schedule
(about a day), and a run of ``webhook_disable_after`` failures disables the subscription.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from isao.config import Settings
from isao.crm.events import DELIVER
from isao.crm.webhooks import check_target_url
from isao.crypto import decrypt
from isao.db.models import Event, WebhookSubscription
from isao.errors import Invalid, RateLimited, Transient
from isao.hooks import signing
from isao.queue.context import JobContext
from isao.queue.registry import Registry
from isao.queue.retry import ScheduledRetryPolicy
from isao.timeutil import format_iso

_BODY_KEPT = 4096


class Deliverer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http = httpx.Client(
            timeout=settings.webhook_timeout_seconds,
            follow_redirects=False,
            headers={"User-Agent": "ISAO-Webhooks/1", "Content-Type": "application/json"},
        )

    def register(self, registry: Registry) -> None:
        registry.register(
            DELIVER,
            self.deliver,
            policy=ScheduledRetryPolicy(delays=self.settings.webhook_retry_schedule),
            max_attempts=len(self.settings.webhook_retry_schedule) + 1,
        )
        rate = self.settings.webhook_rate_per_second
        registry.rate_limits.append(lambda key: (rate, rate) if key.startswith("webhook:") else None)

    def close(self) -> None:
        self.http.close()

    def deliver(self, ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
        with ctx.db.read() as session:
            subscription = session.get(WebhookSubscription, payload["subscription_id"])
            event = session.get(Event, payload["event_id"])
            if subscription is None or event is None or not subscription.active:
                return {"skipped": "subscription removed or disabled"}
            url, secret = subscription.target_url, decrypt(subscription.secret_encrypted)
            body = orjson.dumps(
                {
                    "event": event.type,
                    "data": event.data,
                    "id": event.id,
                    "createdAt": format_iso(event.created_at),
                }
            )
        check_target_url(url, allow_private=self.settings.allow_private_webhook_targets)
        headers = {"X-Isao-Event": event.type, "X-Isao-Delivery": ctx.job.id} | signing.headers(
            secret, body, ctx.now.timestamp()
        )
        request = {"method": "POST", "url": url, "headers": headers, "body": body.decode()}
        try:
            answer = self.http.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            self._record(ctx, subscription.id, ok=False)
            raise Transient(f"{type(error).__name__}: {error}", request=request) from error
        response = {
            "status": answer.status_code,
            "headers": dict(answer.headers),
            "body": answer.text[:_BODY_KEPT],
        }
        if answer.is_success:
            self._record(ctx, subscription.id, ok=True)
            return {"status": answer.status_code}
        if answer.status_code == 410:
            with ctx.db.write() as session:
                gone = session.get(WebhookSubscription, subscription.id)
                if gone is not None:
                    session.delete(gone)
            raise Invalid(
                "410 Gone: the receiver unsubscribed; subscription removed",
                request=request,
                response=response,
            )
        self._record(ctx, subscription.id, ok=False)
        if answer.status_code == 429:
            retry_after = answer.headers.get("Retry-After", "")
            wait = float(retry_after) if retry_after.isdigit() else 0.0
            raise RateLimited("receiver answered 429", wait, request=request, response=response)
        raise Transient(f"receiver answered {answer.status_code}", request=request, response=response)

    def _record(self, ctx: JobContext, subscription_id: str, *, ok: bool) -> None:
        with ctx.db.write() as session:
            subscription = session.get(WebhookSubscription, subscription_id)
            if subscription is None:
                return
            if ok:
                subscription.consecutive_failures = 0
                subscription.last_success_at = ctx.now
                return
            subscription.consecutive_failures += 1
            subscription.last_failure_at = ctx.now
            if subscription.consecutive_failures >= self.settings.webhook_disable_after:
                subscription.active = False
                subscription.disabled_at = ctx.now
