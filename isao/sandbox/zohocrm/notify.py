"""Instant notifications: live channels and the POST delivered to each one watching a change."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import orjson

from isao.sandbox.zohocrm.constants import Json
from isao.sandbox.zohocrm.core import _Core
from isao.sandbox.zohocrm.schema import Module
from isao.sandbox.zohocrm.values import _parse_stamp


class Notifier(_Core):
    def _resource_uri(self, channel: Json, module: str) -> str:
        return f"{self.base_url}/crm/{channel.get('version', 'v8')}/{module}"

    def _expired(self, channel: Json) -> bool:
        return (_parse_stamp(channel["channel_expiry"]) or 0) <= self.clock()

    def _live_channels(self) -> list[Json]:
        return [c for c in self.store.all("watch") if not self._expired(c)]

    def _notify(
        self, version: str, module: Module, operation: str, changed: list[tuple[str, list[str], Json]]
    ) -> None:
        """One POST per live channel watching ``{module}.{event}``; Zoho signs nothing and echoes the
        channel's ``token`` in the body."""
        event = {"insert": "create", "update": "edit", "delete": "delete"}[operation]
        wanted = {f"{module.api_name}.{event}", f"{module.api_name}.all"}
        for channel in self._live_channels():
            if not wanted.intersection(channel["events"]):
                continue
            body: Json = {
                "server_time": int(self.clock() * 1000),
                "query_params": dict(parse_qsl(urlsplit(channel["notify_url"]).query)),
                "module": module.api_name,
                "resource_uri": self._resource_uri(channel, module.api_name),
                "ids": [record_id for record_id, _, _ in changed],
                "affected_fields": [
                    {record_id: fields} for record_id, fields, _ in changed if operation == "update"
                ],
                "operation": operation,
                "channel_id": channel["channel_id"],
                "token": channel["token"],
            }
            if channel["return_affected_field_values"] and operation == "update":
                body["affected_values"] = [
                    {
                        "record_id": record_id,
                        "values": {f: self._render(module, stored).get(f) for f in fields},
                    }
                    for record_id, fields, stored in changed
                ]
            self.outbox.send(channel["notify_url"], orjson.dumps(body), {"Content-Type": "application/json"})
