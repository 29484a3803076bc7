"""Webhook deliveries: writes become events, gathered into batches and sent signed, with retries."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from isao.sandbox.hubspot.constants import (
    APP_ID,
    BATCH_MAX,
    CLIENT_SECRET,
    PORTAL_ID,
    SUBSCRIPTIONS,
    WEBHOOK_SETTINGS,
)
from isao.sandbox.hubspot.core import _Caller, _Core, _Written
from isao.sandbox.hubspot.signing import _signature_v3
from isao.sandbox.hubspot.values import _now_ms
from isao.sandbox.kit.webhooks import deliver

_AGENT = "HubSpot Connect 2.0 (http://dev.hubspot.com/) - WebhooksExecutorDaemon-executor"


class _Deliveries(_Core):
    """Events from writes, batched and delivered to the app's webhook target."""

    webhook_batch_seconds: float = 0.1
    """How long events gather before a delivery (HubSpot batches up to 100 events per request)."""
    webhook_retries: int = 3
    """Further attempts after a failed delivery (HubSpot makes up to 10 over a day; kept short here)."""
    webhook_backoff_seconds: float = 0.2

    # --- webhook deliveries ---

    def _announce(self, written: list[_Written], caller: _Caller) -> None:
        """Turn writes into events for the active subscriptions; they leave in batches shortly after."""
        settings = self.store.get(WEBHOOK_SETTINGS, str(APP_ID))
        if settings is None or not written:
            return
        subscriptions = [s for s in self.store.all(SUBSCRIPTIONS) if s["active"]]
        occurred = _now_ms()
        events: list[dict[str, Any]] = []
        for change in written:
            for subscription in subscriptions:
                obj, _, event = subscription["eventType"].partition(".")
                if obj != change.kind.singular:
                    continue
                extra: dict[str, Any]
                if event == "creation" and change.action == "created":
                    extra = {"changeFlag": "NEW"}
                elif event == "deletion" and change.action == "deleted":
                    extra = {"changeFlag": "DELETED"}
                elif event == "propertyChange" and subscription.get("propertyName") in change.changed:
                    name = subscription["propertyName"]
                    extra = {"propertyName": name, "propertyValue": change.changed[name] or ""}
                else:
                    continue
                events.append(
                    {
                        "eventId": self.store.next_id("webhook_events", start=100_000_001),
                        "subscriptionId": int(subscription["id"]),
                        "portalId": PORTAL_ID,
                        "appId": APP_ID,
                        "occurredAt": occurred,
                        "subscriptionType": subscription["eventType"],
                        "attemptNumber": 0,
                        "objectId": int(change.id),
                        **extra,
                        # Every API write is the app's own: both token kinds belong to APP_ID here.
                        "changeSource": "INTEGRATION",
                        "sourceId": str(APP_ID),
                    }
                )
        if not events:
            return
        self._pending.extend(events)
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(
                self.webhook_batch_seconds, self._flush
            )

    def _flush(self) -> None:
        self._flush_handle = None
        events, self._pending = self._pending, []
        settings = self.store.get(WEBHOOK_SETTINGS, str(APP_ID))
        if settings is None:
            return
        for start in range(0, len(events), BATCH_MAX):
            self._deliver(settings["targetUrl"], events[start : start + BATCH_MAX], 0)

    def _deliver(self, url: str, events: list[dict[str, Any]], attempt: int) -> None:
        def build(number: int) -> tuple[bytes, dict[str, str]]:
            body = json.dumps(
                [{**event, "attemptNumber": number} for event in events], separators=(",", ":")
            ).encode()
            timestamp = str(_now_ms())
            return body, {
                "Content-Type": "application/json",
                "User-Agent": _AGENT,
                "X-HubSpot-Signature": hashlib.sha256(CLIENT_SECRET.encode() + body).hexdigest(),
                "X-HubSpot-Signature-Version": "v1",
                "X-HubSpot-Signature-v3": _signature_v3(CLIENT_SECRET, url, body, timestamp),
                "X-HubSpot-Request-Timestamp": timestamp,
            }

        deliver(
            self.outbox,
            url,
            build,
            retries=self.webhook_retries,
            backoff=self.webhook_backoff_seconds,
            number=attempt,
        )
