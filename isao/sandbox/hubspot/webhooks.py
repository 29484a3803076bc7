"""The app webhooks API (``/webhooks/v3/{app_id}``): target settings and subscriptions."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from isao.sandbox.hubspot.answers import _error, _invalid, _Json
from isao.sandbox.hubspot.constants import APP_ID, SUBSCRIPTIONS, WEBHOOK_EVENT_TYPES, WEBHOOK_SETTINGS
from isao.sandbox.hubspot.core import _Core
from isao.sandbox.hubspot.kinds import _KIND_ALIASES
from isao.sandbox.hubspot.parsing import _body, _inputs, _object
from isao.sandbox.hubspot.values import _iso, _now_ms


class WebhookEndpoints(_Core):
    # --- the webhooks API ---

    async def _settings(self, request: Request) -> Response:
        self._developer(request)
        key = str(APP_ID)
        current = self.store.get(WEBHOOK_SETTINGS, key)
        if request.method == "DELETE":
            self.store.delete(WEBHOOK_SETTINGS, key)
            return Response(status_code=204)
        if request.method == "GET":
            if current is None:
                raise _error(404, f"No webhook settings exist for app {APP_ID}", "OBJECT_NOT_FOUND")
            return _Json(current)
        body = _object(await _body(request), "the request body")
        target = body.get("targetUrl")
        parts = urlsplit(target) if isinstance(target, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise _invalid("targetUrl must be an absolute http(s) URL")
        throttling = _object(body.get("throttling"), "throttling")
        concurrent = throttling.get("maxConcurrentRequests")
        if not isinstance(concurrent, int) or isinstance(concurrent, bool) or concurrent < 1:
            raise _invalid("throttling.maxConcurrentRequests must be a positive integer")
        now = _iso(_now_ms())
        settings = {
            "targetUrl": target,
            "throttling": {"maxConcurrentRequests": concurrent},
            "createdAt": current["createdAt"] if current else now,
            "updatedAt": now,
        }
        self.store.put(WEBHOOK_SETTINGS, key, settings)
        return _Json(settings)

    async def _subscriptions(self, request: Request) -> Response:
        self._developer(request)
        if request.method == "GET":
            return _Json({"results": sorted(self.store.all(SUBSCRIPTIONS), key=lambda s: int(s["id"]))})
        body = _object(await _body(request), "the request body")
        event_type = body.get("eventType")
        if event_type not in WEBHOOK_EVENT_TYPES:
            raise _invalid(f"eventType {event_type!r} is not a valid subscription type")
        property_name = body.get("propertyName")
        if event_type.endswith(".propertyChange"):
            kind = _KIND_ALIASES.get(event_type.partition(".")[0])
            if not isinstance(property_name, str) or not property_name:
                raise _invalid("propertyName is required for propertyChange subscriptions")
            if kind is not None and property_name not in self._definitions(kind):
                raise _invalid(f"Property {property_name!r} does not exist on {kind.name}")
        elif property_name is not None:
            raise _invalid("propertyName is only allowed on propertyChange subscriptions")
        for existing in self.store.all(SUBSCRIPTIONS):
            if existing["eventType"] == event_type and existing.get("propertyName") == property_name:
                raise _error(
                    409,
                    f"A subscription for {event_type}"
                    + (f" on {property_name}" if property_name else "")
                    + " already exists",
                    "CONFLICT",
                    context={"subscriptionId": [existing["id"]]},
                )
        now = _iso(_now_ms())
        subscription = {
            "id": str(self.store.next_id("subscriptions", start=4_000_001)),
            "eventType": event_type,
            "active": bool(body.get("active", False)),
            "createdAt": now,
            "updatedAt": now,
        }
        if property_name:
            subscription["propertyName"] = property_name
        self.store.put(SUBSCRIPTIONS, subscription["id"], subscription)
        return _Json(subscription, status_code=201)

    async def _subscription(self, request: Request) -> Response:
        self._developer(request)
        subscription_id = request.path_params["id"]
        subscription = self.store.get(SUBSCRIPTIONS, subscription_id)
        if subscription is None:
            raise _error(404, f"Subscription {subscription_id} does not exist", "OBJECT_NOT_FOUND")
        if request.method == "DELETE":
            self.store.delete(SUBSCRIPTIONS, subscription_id)
            return Response(status_code=204)
        if request.method == "PATCH":
            active = _object(await _body(request), "the request body").get("active")
            if not isinstance(active, bool):
                raise _invalid("active must be a boolean")
            subscription |= {"active": active, "updatedAt": _iso(_now_ms())}
            self.store.put(SUBSCRIPTIONS, subscription_id, subscription)
        return _Json(subscription)

    async def _subscriptions_batch(self, request: Request) -> Response:
        self._developer(request)
        started = _iso(_now_ms())
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in _inputs(await _body(request)):
            subscription = self.store.get(SUBSCRIPTIONS, str(item.get("id")))
            if subscription is None or not isinstance(item.get("active"), bool):
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND" if subscription is None else "VALIDATION_ERROR",
                        "message": f"Cannot update subscription {item.get('id')}",
                        "context": {"ids": [str(item.get("id"))]},
                        "errors": [],
                        "links": {},
                    }
                )
                continue
            subscription |= {"active": item["active"], "updatedAt": _iso(_now_ms())}
            self.store.put(SUBSCRIPTIONS, subscription["id"], subscription)
            results.append(subscription)
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": _iso(_now_ms()),
        }
        if errors:
            return _Json(body | {"numErrors": len(errors), "errors": errors}, status_code=207)
        return _Json(body)
