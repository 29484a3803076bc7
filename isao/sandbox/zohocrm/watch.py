"""``/actions/watch``: subscribing, updating, listing and disabling notification channels."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from isao.sandbox.zohocrm.answers import _err, _error, _json, _missing_param, _Reject, _reject
from isao.sandbox.zohocrm.constants import _DATETIME, _DIGITS, _EVENT, DEFAULT_CHANNEL_TTL, VERSIONS, Json
from isao.sandbox.zohocrm.notify import Notifier
from isao.sandbox.zohocrm.schema import MODULES
from isao.sandbox.zohocrm.values import _parse_stamp, _stamp


class WatchEndpoints(Notifier):
    async def _watch(self, request: Request) -> Response:
        version, refused = self._enter(request, ["GET", "POST", "PUT", "PATCH", "DELETE"])
        if refused is not None:
            return refused
        if request.method == "GET":
            return self._list_channels(request)
        if request.method == "DELETE":
            return self._disable_channels(request)
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        items = body.get("watch")
        if not isinstance(items, list) or not items:
            return _error(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": "watch", "json_path": "$.watch"},
            )
        results: list[Json] = []
        for index, item in enumerate(items):
            try:
                results.append(self._subscribe(version, request.method, item, index))
            except _Reject as rejected:
                results.append(rejected.item)
        ok = all(r["status"] == "success" for r in results)
        return _json({"watch": results}, (201 if request.method == "POST" else 200) if ok else 202)

    def _subscribe(self, version: str, method: str, item: Any, index: int) -> Json:
        path = f"$.watch[{index}]"
        if not isinstance(item, dict):
            raise _reject(
                "INVALID_DATA", "invalid data", {"expected_data_type": "jsonobject", "json_path": path}
            )
        channel = item.get("channel_id")
        if channel is None:
            raise _reject(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": "channel_id", "json_path": f"{path}.channel_id"},
            )
        if isinstance(channel, bool) or not _DIGITS.fullmatch(str(channel)):
            raise _reject(
                "INVALID_DATA",
                "invalid data",
                {"expected_data_type": "long", "api_name": "channel_id", "json_path": f"{path}.channel_id"},
            )
        key = str(channel)
        current = self.store.get("watch", key)
        if current is not None and self._expired(current):
            current = None
        if method in ("PUT", "PATCH") and current is None:
            raise _reject(
                "INVALID_DATA", "invalid data", {"api_name": "channel_id", "json_path": f"{path}.channel_id"}
            )
        if method == "PATCH" and item.get("_delete_events") is True:
            assert current is not None  # PATCH of an unknown channel was refused above
            return self._drop_events(key, current, self._events(item, path))
        base = current if current is not None and method in ("POST", "PATCH") else {}
        merged = {**base, **{k: v for k, v in item.items() if k != "_delete_events"}}
        events = self._events(merged, path)
        if current is not None and method in ("POST", "PATCH"):  # events are added, not replaced
            events = list(dict.fromkeys([*current["events"], *self._events(item, path, required=False)]))
        url = merged.get("notify_url")
        if not url:
            raise _reject(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": "notify_url", "json_path": f"{path}.notify_url"},
            )
        if (
            not isinstance(url, str)
            or urlsplit(url).scheme not in ("http", "https")
            or not urlsplit(url).netloc
        ):
            raise _reject(
                "INVALID_DATA", "invalid data", {"api_name": "notify_url", "json_path": f"{path}.notify_url"}
            )
        token = merged.get("token")
        if token is not None and (not isinstance(token, str) or len(token) > 50):
            raise _reject(
                "INVALID_DATA",
                "invalid data",
                {"api_name": "token", "json_path": f"{path}.token", "maximum_length": 50},
            )
        expiry = self._channel_expiry(version, merged.get("channel_expiry"), f"{path}.channel_expiry")
        channel_doc = {
            "channel_id": channel,
            "events": events,
            "notify_url": url,
            "token": token,
            "channel_expiry": expiry,
            "version": version,
            "return_affected_field_values": merged.get("return_affected_field_values") is True,
        }
        self.store.put("watch", key, channel_doc)
        message = {
            "POST": "Successfully subscribed for actions-watch of the given module",
            "PUT": "Successfully updated the subscribe details",
            "PATCH": "Successfully updated the subscribe details",
        }[method]
        return self._watch_ok(channel_doc, message)

    def _drop_events(self, key: str, current: Json, dropped: list[str]) -> Json:
        remaining = [e for e in current["events"] if e not in dropped]
        if remaining:
            self.store.put("watch", key, {**current, "events": remaining})
        else:
            self.store.delete("watch", key)
        shown = {**current, "events": remaining or dropped}
        return self._watch_ok(shown, "Successfully removed the subscribe details")

    @staticmethod
    def _events(item: Json, path: str, *, required: bool = True) -> list[str]:
        events = item.get("events")
        if events is None and not required:
            return []
        if not isinstance(events, list) or not events:
            raise _reject(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": "events", "json_path": f"{path}.events"},
            )
        for event in events:
            matched = _EVENT.fullmatch(event) if isinstance(event, str) else None
            if matched is None or matched.group(1) not in MODULES:
                raise _reject(
                    "INVALID_DATA", "invalid data", {"api_name": "events", "json_path": f"{path}.events"}
                )
        return list(dict.fromkeys(events))

    def _channel_expiry(self, version: str, raw: Any, path: str) -> str:
        """At most a week ahead from v6 on, a day before; beyond that (or absent) Zoho uses one hour."""
        now = self.clock()
        default = _stamp(now + DEFAULT_CHANNEL_TTL)
        if raw is None:
            return default
        parsed = _parse_stamp(raw) if isinstance(raw, str) and _DATETIME.fullmatch(raw) else None
        if parsed is None or parsed <= now:
            raise _reject(
                "INVALID_DATA",
                "invalid data",
                {"expected_data_type": "datetime", "api_name": "channel_expiry", "json_path": path},
            )
        longest = 7 * 86400 if VERSIONS.index(version) >= VERSIONS.index("v6") else 86400
        return _stamp(parsed) if parsed - now <= longest else default

    def _watch_ok(self, channel: Json, message: str) -> Json:
        return {
            "code": "SUCCESS",
            "details": {"events": self._resources(channel)},
            "message": message,
            "status": "success",
        }

    def _resources(self, channel: Json) -> list[Json]:
        names = dict.fromkeys(e.split(".")[0] for e in channel["events"])
        conditions = VERSIONS.index(channel.get("version", "v8")) >= VERSIONS.index("v6")  # field conditions
        return [
            {
                "channel_expiry": channel["channel_expiry"],
                "resource_uri": self._resource_uri(channel, name),
                "resource_id": MODULES[name].id,
                "resource_name": name,
                "channel_id": str(channel["channel_id"]),
                **({"notification_condition": []} if conditions else {}),
            }
            for name in names
        ]

    def _list_channels(self, request: Request) -> Response:
        channels = self._live_channels()
        wanted, module = request.query_params.get("channel_id"), request.query_params.get("module")
        if wanted:
            channels = [c for c in channels if str(c["channel_id"]) == wanted]
        if module:
            channels = [
                c for c in channels if any(e.split(".")[0].lower() == module.lower() for e in c["events"])
            ]
        if not channels:
            return Response(status_code=204)
        shown = [
            {
                **resource,
                "events": channel["events"],
                "notify_url": channel["notify_url"],
                "token": channel["token"],
                "notify_on_related_action": False,
                "fields": None,
                "return_affected_field_values": channel["return_affected_field_values"],
            }
            for channel in channels
            for resource in self._resources(channel)
        ]
        info = {"per_page": 200, "page": 1, "count": len(shown), "more_records": False}
        return _json({"watch": shown, "info": info})

    def _disable_channels(self, request: Request) -> Response:
        raw = request.query_params.get("channel_ids")
        if not raw:
            return _missing_param("channel_ids")
        results: list[Json] = []
        for channel_id in (c.strip() for c in raw.split(",") if c.strip()):
            removed = self.store.delete("watch", channel_id)
            if removed is None:
                results.append(_err("INVALID_DATA", "invalid data", {"channel_id": channel_id}))
            else:
                results.append(self._watch_ok(removed, "Successfully un-subscribed from actions-watch"))
        ok = all(r["status"] == "success" for r in results)
        return _json({"watch": results}, 200 if ok else 202)
