"""Webhook deliveries: signed bodies for the events a request queued, and the failure count that
disables a webhook."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from isao.sandbox.kit.signing import hmac_b64
from isao.sandbox.kit.webhooks import deliver
from isao.sandbox.outbox import Delivery
from isao.sandbox.woocommerce.constants import _WP_SALT, MAX_DELIVERY_FAILURES, USER_AGENT
from isao.sandbox.woocommerce.core import _Core
from isao.sandbox.woocommerce.formats import _specialchars_decode
from isao.sandbox.woocommerce.replies import wp_json


class WebhookDeliveries(_Core):
    """Sending ``*.created``/``*.updated``/``*.deleted`` and recording how each delivery went."""

    # --- webhook deliveries ---------------------------------------------------------------------------------

    def _emit(self, events: list[tuple[str, str, int]]) -> None:
        if not events:
            return
        hooks = [h for h in self.store.all("webhooks") if h["status"] == "active"]
        for resource, event, id_ in events:
            topic = f"{resource}.{event}"
            targets = [h for h in hooks if h["topic"] == topic]
            if not targets:
                continue
            payload: dict[str, Any] | None = {"id": id_}
            if event != "deleted":
                record = self.store.get(resource + "s", id_)
                payload = self._render(resource + "s", record) if record is not None else None
            if payload is None:
                continue
            body = wp_json(payload).strip()
            for hook in targets:
                self._deliver(hook, topic, body)

    def _deliver(self, hook: Mapping[str, Any], topic: str, body: bytes) -> None:
        resource, _, event = topic.partition(".")
        key = _specialchars_decode(str(hook["_secret"])).encode()
        signature = hmac_b64(key, body)
        moment = f"{hook['id']}{int(self.clock())}".encode()
        headers = {
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json",
            "X-WC-Webhook-Source": self.base_url.rstrip("/") + "/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": signature,
            "X-WC-Webhook-ID": str(hook["id"]),
            "X-WC-Webhook-Delivery-ID": hmac.new(_WP_SALT, moment, hashlib.md5).hexdigest(),
        }
        hook_id = int(hook["id"])
        deliver(self.outbox, str(hook["delivery_url"]), lambda _: (body, headers),
                on_result=lambda done: self._delivered(hook_id, done))  # fmt: skip

    def _delivered(self, hook_id: int, delivery: Delivery) -> None:
        """``log_delivery``/``failed_delivery``: 200 to 302 resets the count; otherwise count up, and disable
        once the count already exceeds the maximum."""
        hook = self.store.get("webhooks", hook_id)
        if hook is None:
            return
        if delivery.status is not None and 200 <= delivery.status < 303:
            hook["_failure_count"] = 0
        elif hook["_failure_count"] > MAX_DELIVERY_FAILURES:
            hook["status"] = "disabled"
        else:
            hook["_failure_count"] += 1
        self.store.put("webhooks", hook_id, hook)

    def failure_count(self, webhook_id: int) -> int:
        """WooCommerce keeps it on the webhook but the REST API does not show it; tests read it here."""
        hook = self.store.get("webhooks", webhook_id)
        return int(hook["_failure_count"]) if hook else 0
