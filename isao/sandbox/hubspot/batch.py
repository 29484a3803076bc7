"""``/crm/v3/objects/{object}/batch/{op}``: create, read, update, upsert and archive in batches."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from isao.sandbox.hubspot.answers import _error, _invalid, _Json, _not_found
from isao.sandbox.hubspot.core import _Caller, _Written
from isao.sandbox.hubspot.deliveries import _Deliveries
from isao.sandbox.hubspot.kinds import _Kind
from isao.sandbox.hubspot.parsing import _body, _flag, _inputs, _object
from isao.sandbox.hubspot.records import _Records
from isao.sandbox.hubspot.values import _iso, _now_ms
from isao.sandbox.kit.answers import Fail


class BatchEndpoints(_Records, _Deliveries):
    # --- objects: batch ---

    async def _batch(self, request: Request) -> Response:
        caller = self._caller(request)
        kind = self._kind(request.path_params["object"])
        op = request.path_params["op"]
        if op not in ("create", "read", "update", "upsert", "archive"):
            raise _error(404, f"No route matches POST {request.url.path}", "OBJECT_NOT_FOUND")
        body = _object(await _body(request), "the request body")
        inputs = _inputs(body)
        started = _iso(_now_ms())
        if op == "read":
            return self._batch_read(request, kind, body, inputs, started)
        if op == "archive":
            written = []
            for item in inputs:
                doc = self._find(kind, str(item.get("id", "")), None)
                if doc is not None:
                    written.append(self._archive_doc(kind, doc))
            self._announce(written, caller)
            return Response(status_code=204)
        if op == "update":
            ids = [str(item.get("id")) for item in inputs]
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise _invalid(
                    f"Duplicate IDs found in batch input: [{', '.join(duplicates)}]. IDs must be unique"
                )
        return self._batch_write(kind, op, inputs, caller, started)

    def _batch_write(
        self, kind: _Kind, op: str, inputs: list[dict[str, Any]], caller: _Caller, started: str
    ) -> Response:
        """All or nothing, unless inputs carry ``objectWriteTraceId``: that allows per-input errors (207)."""
        partial = any("objectWriteTraceId" in item for item in inputs)
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        written: list[_Written] = []
        undo: list[tuple[str, dict[str, Any] | None]] = []
        for item in inputs:
            trace = item.get("objectWriteTraceId")
            try:
                result, change, before = self._batch_one(kind, op, item)
            except Fail as fail:
                if not partial:
                    self._rollback(kind, undo)
                    raise
                context = {"objectWriteTraceId": [str(trace)]} if trace is not None else {}
                if item.get("id") is not None:
                    context["ids"] = [str(item["id"])]
                errors.append(
                    {
                        "status": "error",
                        "category": fail.body.get("category", "VALIDATION_ERROR"),
                        "message": fail.body.get("message", ""),
                        "context": context,
                        "errors": fail.body.get("errors", []),
                        "links": {},
                    }
                )
                continue
            undo.append((change.id, before))
            if trace is not None:
                result["objectWriteTraceId"] = str(trace)
            results.append(result)
            written.append(change)
        self._announce(written, caller)
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": _iso(_now_ms()),
        }
        if errors:
            body |= {"numErrors": len(errors), "errors": errors}
            return _Json(body, status_code=207)
        return _Json(body, status_code=201 if op == "create" else 200)

    def _batch_one(
        self, kind: _Kind, op: str, item: dict[str, Any]
    ) -> tuple[dict[str, Any], _Written, dict[str, Any] | None]:
        if op == "create":
            links = self._association_inputs(kind, item.get("associations"))
            doc, written = self._write(kind, None, item.get("properties"))
            for to_kind, to_id, type_id in links:
                self._link(kind, doc["id"], to_kind, to_id, type_id)
            return self._public(kind, doc, [*kind.defaults, *written.changed]), written, None
        object_id = str(item.get("id") or "")
        if not object_id:
            raise _invalid("Invalid input JSON: every input needs an id")
        id_property = item.get("idProperty")
        if op == "update":
            current = self._find(kind, object_id, id_property)
            if current is None:
                raise _not_found(object_id)
            doc, written = self._write(kind, current, item.get("properties"))
            return self._public(kind, doc, [*kind.defaults, *written.changed]), written, current
        if not id_property or id_property == "hs_object_id":
            raise _invalid("idProperty must name a unique property (e.g. email for contacts) to upsert")
        current = self._find(kind, object_id, id_property)
        properties = dict(_object(item.get("properties") or {}, "properties"))
        if current is None:
            properties[id_property] = object_id
        doc, written = self._write(kind, current, properties)
        public = self._public(kind, doc, [*kind.defaults, *written.changed])
        return {**public, "new": current is None}, written, current

    def _rollback(self, kind: _Kind, undo: list[tuple[str, dict[str, Any] | None]]) -> None:
        for object_id, before in reversed(undo):
            if before is None:
                self._drop(kind, object_id)
            else:
                self._put(kind, before)

    def _batch_read(
        self, request: Request, kind: _Kind, body: dict[str, Any], inputs: list[dict[str, Any]], started: str
    ) -> Response:
        names = body.get("properties") or None
        if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise _invalid("Invalid input JSON: properties must be an array of strings")
        id_property = body.get("idProperty")
        archived = _flag(request, "archived")
        results, missing, seen = [], [], set()
        for item in inputs:
            object_id = str(item.get("id", ""))
            doc = self._find(kind, object_id, id_property, archived=archived)
            if doc is None:
                missing.append(object_id)
            elif doc["id"] not in seen:
                seen.add(doc["id"])
                results.append(self._public(kind, doc, names))
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": _iso(_now_ms()),
        }
        if not missing:
            return _Json(out)
        error = {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": f"Could not get some {kind.label} objects, they may be deleted or not exist. "
            "Check that ids are valid.",
            "context": {"ids": missing},
            "errors": [],
            "links": {},
        }
        return _Json(out | {"numErrors": 1, "errors": [error]}, status_code=207)
