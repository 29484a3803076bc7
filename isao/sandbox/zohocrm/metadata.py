"""Users, org and metadata (the SDK reads fields before any record call)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from isao.sandbox.zohocrm.answers import _error, _json, _missing_param
from isao.sandbox.zohocrm.constants import ORG_ID, USER, Json
from isao.sandbox.zohocrm.core import _Core
from isao.sandbox.zohocrm.schema import _JSON_TYPES, _MODULES_BY_LOWER, MODULES, Field, Module, _mandatory


class MetadataEndpoints(_Core):
    async def _users(self, request: Request) -> Response:
        _, refused = self._enter(request, ["GET"])
        if refused is not None:
            return refused
        user = {
            **USER,
            "full_name": USER["name"],
            "first_name": "Sandbox",
            "last_name": "Admin",
            "status": "active",
            "confirm": True,
            "role": {"name": "CEO", "id": "5843210000000000121"},
            "profile": {"name": "Administrator", "id": "5843210000000000131"},
        }
        return _json(
            {"users": [user], "info": {"per_page": 200, "count": 1, "page": 1, "more_records": False}}
        )

    async def _org(self, request: Request) -> Response:
        _, refused = self._enter(request, ["GET"])
        if refused is not None:
            return refused
        org = {
            "id": ORG_ID,
            "company_name": "ISAO Sandbox",
            "primary_email": USER["email"],
            "currency": "USD",
            "country_code": "US",
            "domain_name": f"org{ORG_ID}",
        }
        return _json({"org": [org]})

    async def _fields(self, request: Request) -> Response:
        version, refused = self._enter(request, ["GET"])
        if refused is not None:
            return refused
        name = request.query_params.get("module")
        if not name:
            return _missing_param("module")
        module = _MODULES_BY_LOWER.get(name.lower())
        if module is None:
            return _error(
                "INVALID_MODULE", "The module name given seems to be invalid", {"param_name": "module"}
            )
        mandatory = set(_mandatory(module, version))
        return _json(
            {"fields": [self._field_meta(module, f, f.api_name in mandatory) for f in module.fields]}
        )

    def _field_meta(self, module: Module, field: Field, mandatory: bool) -> Json:
        number = module.fields.index(field) + 1
        meta: Json = {
            "api_name": field.api_name,
            "field_label": field.label,
            "display_label": field.label,
            "data_type": field.data_type,
            "json_type": _JSON_TYPES[field.data_type],
            "id": f"584321000000{module.id[-3:]}{number:04d}",
            "system_mandatory": mandatory,
            "custom_field": False,
            "read_only": field.read_only,
            "field_read_only": field.read_only,
            "visible": True,
            "length": field.length,
            "unique": {"casesensitive": "false"} if field.unique else {},
        }
        if field.lookup is not None:
            target = MODULES[field.lookup]
            meta["lookup"] = {
                "display_label": field.label,
                "api_name": field.api_name,
                "module": {"api_name": target.api_name, "id": target.id},
            }
        if field.picklist:
            meta["pick_list_values"] = [
                {
                    "display_value": v,
                    "actual_value": v,
                    "sequence_number": i + 1,
                    "id": f"584321000001{module.id[-3:]}{number:02d}{i:02d}",
                }
                for i, v in enumerate(field.picklist)
            ]
        return meta

    async def _modules(self, request: Request) -> Response:
        _, refused = self._enter(request, ["GET"])
        if refused is not None:
            return refused
        modules = [
            {
                "api_name": m.api_name,
                "module_name": m.api_name,
                "singular_label": m.singular,
                "plural_label": m.api_name,
                "id": m.id,
                "api_supported": True,
                "generated_type": "default",
                "creatable": True,
                "editable": True,
                "deletable": True,
                "viewable": True,
            }
            for m in MODULES.values()
        ]
        return _json({"modules": modules})
