"""``/crm/v3/properties/{object}``: listing, reading and creating property definitions."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from isao.sandbox.hubspot.answers import _error, _invalid, _Json
from isao.sandbox.hubspot.constants import PROPERTIES
from isao.sandbox.hubspot.core import _Core
from isao.sandbox.hubspot.parsing import _body, _object
from isao.sandbox.hubspot.schema import _definition
from isao.sandbox.hubspot.values import _iso, _now_ms


class PropertyEndpoints(_Core):
    async def _properties(self, request: Request) -> Response:
        self._caller(request)
        kind = self._kind(request.path_params["object"])
        if request.method == "GET":
            return _Json({"results": [self._property_out(d) for d in self._definitions(kind).values()]})
        body = _object(await _body(request), "the request body")
        missing = [key for key in ("name", "label", "type", "fieldType", "groupName") if not body.get(key)]
        if missing:
            raise _invalid(f"Missing required fields: {', '.join(missing)}")
        name = str(body["name"])
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,99}", name):
            raise _invalid(
                f"Property name {name!r} must start with a lowercase letter and contain only lowercase "
                "letters, digits and underscores"
            )
        if name in self._definitions(kind):
            raise _error(409, f"Property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
        type_ = body["type"]
        if type_ not in ("string", "number", "date", "datetime", "enumeration", "bool"):
            raise _invalid(f"{type_} is not a valid property type")
        options = body.get("options") or []
        if not isinstance(options, list):
            raise _invalid("options must be an array")
        if type_ == "enumeration" and not options:
            raise _invalid("Enumeration properties need options")
        definition = _definition(
            name,
            str(body["label"]),
            str(body["groupName"]),
            type_,
            str(body["fieldType"]),
            [(str(_object(o, "an option").get("value")), str(o.get("label"))) for o in options],
            unique=bool(body.get("hasUniqueValue")),
        )
        now = _iso(_now_ms())
        definition |= {
            "hubspotDefined": False,
            "createdAt": now,
            "updatedAt": now,
            "objectType": kind.name,
            "description": str(body.get("description") or ""),
            "formField": bool(body.get("formField")),
            "modificationMetadata": {"archivable": True, "readOnlyDefinition": False, "readOnlyValue": False},
        }
        self.store.put(PROPERTIES, f"{kind.name}:{name}", definition)
        self._unique = self._custom = None
        return _Json(self._property_out(definition), status_code=201)

    async def _property(self, request: Request) -> Response:
        self._caller(request)
        kind = self._kind(request.path_params["object"])
        definition = self._definitions(kind).get(request.path_params["name"])
        if definition is None:
            raise _error(
                404,
                f"Unable to find property {request.path_params['name']} for {kind.name}",
                "OBJECT_NOT_FOUND",
            )
        return _Json(self._property_out(definition))

    @staticmethod
    def _property_out(definition: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in definition.items() if key != "objectType"}
