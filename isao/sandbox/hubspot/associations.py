"""Associations v4: default and labelled links, unlinking, listing and the batch routes."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from isao.sandbox.hubspot.answers import _error, _invalid, _Json
from isao.sandbox.hubspot.constants import ASSOCIATIONS_MAX
from isao.sandbox.hubspot.kinds import INVERSE_TYPE, _Kind
from isao.sandbox.hubspot.links import _Links
from isao.sandbox.hubspot.parsing import _body, _inputs, _limit, _object
from isao.sandbox.hubspot.values import _iso, _now_ms
from isao.sandbox.kit.answers import Fail


class AssociationEndpoints(_Links):
    @staticmethod
    def _types(type_ids: list[int]) -> list[dict[str, Any]]:
        return [{"category": "HUBSPOT_DEFINED", "typeId": t, "label": None} for t in type_ids]

    @staticmethod
    def _default_result(
        kind: _Kind, object_id: str, to_kind: _Kind, to_id: str, type_id: int
    ) -> list[dict[str, Any]]:
        return [
            {
                "from": {"id": object_id},
                "to": {"id": to_id},
                "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id},
            },
            {
                "from": {"id": to_id},
                "to": {"id": object_id},
                "associationSpec": {
                    "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": INVERSE_TYPE[type_id],
                },
            },
        ]

    async def _associate_default(self, request: Request) -> Response:
        self._caller(request)
        p = request.path_params
        kind, to_kind = self._kind(p["object"]), self._kind(p["to"])
        type_id = self._default_type(kind, to_kind)
        self._require(kind, p["id"])
        self._require(to_kind, p["to_id"])
        started = _iso(_now_ms())
        self._link(kind, p["id"], to_kind, p["to_id"], type_id)
        return _Json(
            {
                "status": "COMPLETE",
                "results": self._default_result(kind, p["id"], to_kind, p["to_id"], type_id),
                "startedAt": started,
                "completedAt": _iso(_now_ms()),
            }
        )

    async def _associate_labelled(self, request: Request) -> Response:
        self._caller(request)
        p = request.path_params
        kind, to_kind = self._kind(p["object"]), self._kind(p["to"])
        specs = await _body(request)
        if not isinstance(specs, list) or not specs:
            raise _invalid("Invalid input JSON: the body must be a non-empty array of association types")
        type_ids = [self._type_id(kind, _object(spec, "an association type"), to_kind) for spec in specs]
        self._require(kind, p["id"])
        self._require(to_kind, p["to_id"])
        for type_id in type_ids:
            self._link(kind, p["id"], to_kind, p["to_id"], type_id)
        return _Json(self._labels_between(kind, p["id"], to_kind, p["to_id"]), status_code=201)

    @staticmethod
    def _labels_between(kind: _Kind, object_id: str, to_kind: _Kind, to_id: str) -> dict[str, Any]:
        """HubSpot-defined types carry no label, so ``labels`` stays empty."""
        return {
            "fromObjectTypeId": kind.type_id,
            "fromObjectId": object_id,
            "toObjectTypeId": to_kind.type_id,
            "toObjectId": to_id,
            "labels": [],
        }

    async def _dissociate(self, request: Request) -> Response:
        self._caller(request)
        p = request.path_params
        self._unlink(self._kind(p["object"]), p["id"], self._kind(p["to"]), p["to_id"])
        return Response(status_code=204)

    async def _list_associations(self, request: Request) -> Response:
        self._caller(request)
        p = request.path_params
        kind, to_kind = self._kind(p["object"]), self._kind(p["to"])
        limit = _limit(request, ASSOCIATIONS_MAX, ASSOCIATIONS_MAX)
        after = request.query_params.get("after")
        if after is not None and not after.isdigit():
            raise _invalid(f"after must be an object id cursor, got {after!r}")
        linked = [
            (to_id, types)
            for to_id, types in self._linked(kind, p["id"], to_kind)
            if after is None or int(to_id) >= int(after)
        ]
        page = linked[:limit]
        body: dict[str, Any] = {
            "results": [
                {"toObjectId": to_id, "associationTypes": self._types(types)} for to_id, types in page
            ]
        }
        if len(linked) > limit:
            body["paging"] = {
                "next": {
                    "after": linked[limit][0],
                    "link": f"{self.base_url}{request.url.path}?after={linked[limit][0]}",
                }
            }
        return _Json(body)

    async def _batch_associations(self, request: Request) -> Response:
        self._caller(request)
        p = request.path_params
        kind, to_kind = self._kind(p["object"]), self._kind(p["to"])
        op = p["op"]
        if op not in ("create", "read", "archive", "associate/default"):
            raise _error(404, f"No route matches POST {request.url.path}", "OBJECT_NOT_FOUND")
        inputs = _inputs(await _body(request), 1000 if op == "read" else 2000)
        started = _iso(_now_ms())
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in inputs:
            from_id = str(_object(item.get("from") if op != "read" else item, "from").get("id", ""))
            try:
                if op == "read":
                    self._require(kind, from_id)
                    linked = self._linked(kind, from_id, to_kind)
                    if not linked:
                        errors.append(
                            {
                                "status": "error",
                                "category": "OBJECT_NOT_FOUND",
                                "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                                "message": f"No {to_kind.singular} is associated with {kind.singular} "
                                f"{from_id}.",
                                "context": {"fromObjectId": [from_id]},
                                "errors": [],
                                "links": {},
                            }
                        )
                        continue
                    results.append(
                        {
                            "from": {"id": from_id},
                            "to": [
                                {"toObjectId": to_id, "associationTypes": self._types(types)}
                                for to_id, types in linked
                            ],
                        }
                    )
                    continue
                if op == "archive":
                    targets = item.get("to")
                    for target in targets if isinstance(targets, list) else []:
                        self._unlink(kind, from_id, to_kind, str(_object(target, "to").get("id", "")))
                    continue
                to_id = str(_object(item.get("to"), "to").get("id", ""))
                if op == "associate/default":
                    type_ids = [self._default_type(kind, to_kind)]
                else:
                    types = item.get("types")
                    if not isinstance(types, list) or not types:
                        raise _invalid("Invalid input JSON: types must be a non-empty array")
                    type_ids = [
                        self._type_id(kind, _object(t, "an association type"), to_kind) for t in types
                    ]
                self._require(kind, from_id)
                self._require(to_kind, to_id)
                for type_id in type_ids:
                    self._link(kind, from_id, to_kind, to_id, type_id)
                if op == "associate/default":
                    results.extend(self._default_result(kind, from_id, to_kind, to_id, type_ids[0]))
                else:
                    results.append(self._labels_between(kind, from_id, to_kind, to_id))
            except Fail as fail:
                errors.append(
                    {
                        "status": "error",
                        "category": fail.body.get("category", "VALIDATION_ERROR"),
                        "message": fail.body.get("message", ""),
                        "context": {"fromObjectId": [from_id]},
                        "errors": [],
                        "links": {},
                    }
                )
        if op == "archive":
            return Response(status_code=204)
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": _iso(_now_ms()),
        }
        if errors:
            return _Json(body | {"numErrors": len(errors), "errors": errors}, status_code=207)
        return _Json(body, status_code=201 if op == "create" else 200)
