"""The shared base of the sandbox's endpoint groups: auth (the accounts server is ``zohoaccounts``), request
parsing, and the rendering of stored records."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from isao.sandbox.zohoaccounts import ZohoProduct
from isao.sandbox.zohocrm.answers import _bad_method, _error, _invalid_param, _invalid_url
from isao.sandbox.zohocrm.constants import MAX_FIELDS, USER, VERSIONS, Json, Stored
from isao.sandbox.zohocrm.schema import _MODULES_BY_LOWER, _SYSTEM, MODULES, Module


class _Core(ZohoProduct):
    def _auth(self, request: Request) -> Response | None:
        refused = self.zoho_auth(request)
        if refused == "missing":
            return _error("AUTHENTICATION_FAILURE", "Authentication failed", status=401)
        if refused == "invalid":
            return _error("INVALID_TOKEN", "invalid oauth token", status=401)
        return None

    def _enter(self, request: Request, methods: Iterable[str]) -> tuple[str, Response | None]:
        """The version, or the answer that ends the request: unknown path, bad auth, bad method."""
        version = request.path_params["version"]
        if version not in VERSIONS:
            return version, _invalid_url()
        refused = self._auth(request)
        if refused is not None:
            return version, refused
        if request.method not in methods:
            return version, _bad_method()
        return version, None

    def _module(self, request: Request) -> Module | None:
        return _MODULES_BY_LOWER.get(request.path_params["module"].lower())

    async def _body(self, request: Request) -> Json | Response:
        raw = await request.body()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _error("INVALID_DATA", "body")
        if not isinstance(body, dict):
            return _error("INVALID_DATA", "body")
        return body

    @staticmethod
    def _int_param(query: Any, name: str, default: int, low: int, high: int | None) -> int | Response:
        raw = query.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
            return _invalid_param(name, raw)
        return int(raw)

    @staticmethod
    def _fields_param(module: Module, raw: str | None) -> list[str] | Response | None:
        if raw is None:
            return None
        names = [n.strip() for n in raw.split(",") if n.strip()]
        if len(names) > MAX_FIELDS:
            return _error(
                "LIMIT_EXCEEDED", "Max field limit exceeded", {"limit": MAX_FIELDS, "param_name": "fields"}
            )
        for name in names:
            if name not in _SYSTEM and module.field(name) is None:
                return _error("INVALID_DATA", "invalid data", {"api_name": name, "param_name": "fields"})
        return names or None

    def _render(
        self, module: Module, stored: Stored, fields: list[str] | None = None, *, lookups: bool = True
    ) -> Json:
        """A stored record in Zoho's shape: every field present (null when empty), lookups named (unless
        ``lookups`` is false: a filter that reads no lookup need not fetch each one's record)."""
        record: Json = {}
        for f in module.fields:
            value = stored.get(f.api_name)
            if f.data_type == "ownerlookup" and value is not None:
                value = dict(USER)
            elif f.data_type == "lookup" and value is not None and lookups:
                target = self.store.get(MODULES[f.lookup or ""].api_name, value["id"])
                value = (
                    {"name": self._display(MODULES[f.lookup or ""], target), "id": value["id"]}
                    if target
                    else None
                )
            record[f.api_name] = value
        if module.field("Full_Name") is not None:
            record["Full_Name"] = self._display(module, stored)
        record.update({k: stored[k] for k in _SYSTEM})
        if fields is not None:
            return {"id": stored["id"], **{name: record.get(name) for name in fields}}
        return record

    @staticmethod
    def _display(module: Module, stored: Stored | None) -> str | None:
        if stored is None:
            return None
        if module.display == "Full_Name":
            return " ".join(p for p in (stored.get("First_Name"), stored.get("Last_Name")) if p) or None
        value = stored.get(module.display)
        return value if isinstance(value, str) else None
