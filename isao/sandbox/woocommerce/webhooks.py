"""The ``/webhooks`` resource: list, read, create (with its ping), update and delete webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from isao.sandbox.woocommerce.call import _Call
from isao.sandbox.woocommerce.constants import NAMESPACE, TOPIC_HOOKS, USER_AGENT, WEBHOOK_STATUSES
from isao.sandbox.woocommerce.core import _Core, _public
from isao.sandbox.woocommerce.formats import _parse_date
from isao.sandbox.woocommerce.replies import WPError, _missing_params, _reply
from isao.sandbox.woocommerce.schema import _BOOL, WEBHOOK_LIST_SPECS, WEBHOOK_SPECS, _validate


class WebhookEndpoints(_Core):
    """``/webhooks`` and ``/webhooks/{id}``."""

    # --- webhooks resource ---------------------------------------------------------------------------------

    def _render_webhook(self, hook: Mapping[str, Any]) -> dict[str, Any]:
        data = _public(hook)
        data["_links"] = {
            "self": [{"href": self.rest_url(f"/{NAMESPACE}/webhooks/{hook['id']}")}],
            "collection": [{"href": self.rest_url(f"/{NAMESPACE}/webhooks")}],
        }
        return data

    async def _list_webhooks(self, call: _Call) -> Response:
        args = _validate(call.params, WEBHOOK_LIST_SPECS)
        call.require("list")
        hooks = self.store.all("webhooks")
        if args.get("status", "all") != "all":
            hooks = [h for h in hooks if h["status"] == args["status"]]
        if args.get("include"):
            hooks = [h for h in hooks if h["id"] in args["include"]]
        if args.get("exclude"):
            hooks = [h for h in hooks if h["id"] not in args["exclude"]]
        if args.get("search"):
            hooks = [h for h in hooks if str(args["search"]).lower() in h["name"].lower()]
        if "after" in args:
            hooks = [h for h in hooks if h["_created"] > (_parse_date(args["after"]) or 0)]
        if "before" in args:
            hooks = [h for h in hooks if h["_created"] < (_parse_date(args["before"]) or 0)]
        keys: dict[str, Callable[[dict[str, Any]], Any]] = {
            "date": lambda h: (h["_created"], h["id"]),
            "id": lambda h: h["id"],
            "title": lambda h: (h["name"].lower(), h["id"]),
        }
        hooks = self._sort(hooks, keys[args.get("orderby", "date")], args.get("order", "desc"))
        return self._page(call, [self._render_webhook(h) for h in hooks], args)

    async def _get_webhook(self, call: _Call, id_: str) -> Response:
        call.require("read")
        hook = self._find(
            "webhooks", int(id_), "woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.", 400
        )
        return _reply(self._render_webhook(hook))

    async def _create_webhook(self, call: _Call) -> Response:
        call.require("create")
        missing = [name for name in ("topic", "delivery_url") if call.params.get(name) in (None, "")]
        if missing:
            raise _missing_params(missing)
        values = _validate(call.params, WEBHOOK_SPECS)
        if call.params.get("id"):
            raise WPError("woocommerce_rest_shop_webhook_exists", "Cannot create existing shop_webhook.", 400)
        topic = values["topic"].strip().lower()
        if not _valid_topic(topic):
            raise WPError(
                "woocommerce_rest_shop_webhook_invalid_topic",
                "Webhook topic is required and must be valid.",
                400,
            )
        if not _valid_url(values["delivery_url"]):
            raise WPError(
                "woocommerce_rest_shop_webhook_invalid_delivery_url",
                "Webhook delivery URL must be a valid URL starting with http:// or https://.",
                400,
            )
        now = int(self.clock())
        id_ = self.store.next_id("webhooks", 1)
        moment = datetime.fromtimestamp(now, UTC)
        resource, _, event = topic.partition(".")
        hook = {
            "id": id_,
            "name": values.get("name") or moment.strftime("Webhook created on %b %d, %Y @ %I:%M %p"),
            "status": values.get("status", "active"),
            "topic": topic,
            "resource": resource,
            "event": event,
            "hooks": TOPIC_HOOKS.get(topic, [event] if resource == "action" else []),
            "delivery_url": values["delivery_url"],
            **self._dates(now),
            "_secret": values.get("secret") or secrets.token_urlsafe(37)[:50],
            "_failure_count": 0,
            "_api_version": "wp_api_v3",
            "_user_id": 1,
            "_created": now,
            "_modified": now,
        }
        self.store.put("webhooks", id_, hook)
        location = self.rest_url(f"/{NAMESPACE}/webhooks/{id_}")
        response = _reply(self._render_webhook(hook), 201, {"Location": location})
        await self._ping(hook)
        return response

    async def _update_webhook(self, call: _Call, id_: str) -> Response:
        call.require("edit")
        hook = self._find(
            "webhooks", int(id_), "woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.", 400
        )
        params = call.params
        if params.get("topic"):
            topic = str(params["topic"]).strip().lower()
            if not _valid_topic(topic):
                raise WPError(
                    "woocommerce_rest_shop_webhook_invalid_topic", "Webhook topic must be valid.", 400
                )
            resource, _, event = topic.partition(".")
            hook.update(topic=topic, resource=resource, event=event, hooks=TOPIC_HOOKS.get(topic, [event]))
        if params.get("delivery_url"):
            if not _valid_url(str(params["delivery_url"])):
                raise WPError(
                    "woocommerce_rest_shop_webhook_invalid_delivery_url",
                    "Webhook delivery URL must be a valid URL starting with http:// or https://.",
                    400,
                )
            hook["delivery_url"] = str(params["delivery_url"])
        if params.get("secret"):
            hook["_secret"] = str(params["secret"])
        if params.get("status"):
            status = str(params["status"]).lower()
            if status not in WEBHOOK_STATUSES:
                raise WPError(
                    "woocommerce_rest_shop_webhook_invalid_status", "Webhook status must be valid.", 400
                )
            if status == "active" and hook["status"] != "active":
                hook["_failure_count"] = 0
            hook["status"] = status
        if params.get("name"):
            hook["name"] = str(params["name"])
        self._touch(hook)
        self.store.put("webhooks", hook["id"], hook)
        return _reply(self._render_webhook(hook))

    async def _delete_webhook(self, call: _Call, id_: str) -> Response:
        call.require("delete")
        force = _validate(call.params, {"force": _BOOL}).get("force", False)
        if not force:
            raise WPError("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
        hook = self._find(
            "webhooks", int(id_), "woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.", 404
        )
        self.store.delete("webhooks", hook["id"])
        return _reply(self._render_webhook(hook))

    async def _ping(self, hook: Mapping[str, Any]) -> None:
        """``deliver_ping``: the form post ``webhook_id=<id>``, sent before the create request answers.
        Its outcome does not count as a delivery failure, and the REST API ignores it."""
        done = asyncio.Event()
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
        self.outbox.send(
            hook["delivery_url"], f"webhook_id={hook['id']}".encode(), headers, lambda _: done.set()
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), self.outbox.timeout + 1)


def _valid_topic(topic: str) -> bool:
    """``wc_is_webhook_valid_topic``: ``action.<hook>`` or a known resource and event."""
    resource, _, event = topic.partition(".")
    if resource == "action" and event:
        return True
    return topic in TOPIC_HOOKS


def _valid_url(url: str) -> bool:
    return re.fullmatch(r"https?://[^\s/?#]+[^\s]*", url) is not None
