"""``/crm/v3/objects/{object}``: list, read, create, update and archive one record."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from isao.sandbox.hubspot.answers import _invalid, _Json, _not_found
from isao.sandbox.hubspot.constants import LIST_MAX
from isao.sandbox.hubspot.deliveries import _Deliveries
from isao.sandbox.hubspot.parsing import _body, _flag, _limit, _names, _object
from isao.sandbox.hubspot.records import _Records


class ObjectEndpoints(_Records, _Deliveries):
    # --- objects: basic ---

    async def _list(self, request: Request) -> Response:
        self._caller(request)
        kind = self._kind(request.path_params["object"])
        limit = _limit(request, 10, LIST_MAX)
        after_raw = request.query_params.get("after")
        if after_raw is not None and not after_raw.isdigit():
            raise _invalid(f"after must be a record id cursor, got {after_raw!r}")
        after = int(after_raw or 0)
        archived = _flag(request, "archived")
        associated = [self._kind(name) for name in _names(request, "associations")]
        names = _names(request, "properties") or None
        docs = [
            doc
            for doc in self.store.all(kind.name)
            if doc["archived"] == archived and int(doc["id"]) >= after
        ]
        docs.sort(key=lambda doc: int(doc["id"]))
        page = docs[:limit]
        body: dict[str, Any] = {
            "results": [self._public(kind, doc, names, associations=associated) for doc in page]
        }
        if len(docs) > limit:
            next_after = str(int(page[-1]["id"]) + 1)
            query = [(k, v) for k, v in request.query_params.multi_items() if k != "after"] + [
                ("after", next_after)
            ]
            body["paging"] = {
                "next": {"after": next_after, "link": f"{self.base_url}{request.url.path}?{urlencode(query)}"}
            }
        return _Json(body)

    async def _get(self, request: Request) -> Response:
        self._caller(request)
        kind = self._kind(request.path_params["object"])
        object_id = request.path_params["id"]
        doc = self._find(
            kind, object_id, request.query_params.get("idProperty"), archived=_flag(request, "archived")
        )
        if doc is None:
            raise _not_found(object_id)
        associated = [self._kind(name) for name in _names(request, "associations")]
        return _Json(self._public(kind, doc, _names(request, "properties") or None, associations=associated))

    async def _create(self, request: Request) -> Response:
        caller = self._caller(request)
        kind = self._kind(request.path_params["object"])
        body = _object(await _body(request), "the request body")
        links = self._association_inputs(kind, body.get("associations"))
        doc, written = self._write(kind, None, body.get("properties"))
        for to_kind, to_id, type_id in links:
            self._link(kind, doc["id"], to_kind, to_id, type_id)
        self._announce([written], caller)
        return _Json(self._public(kind, doc, [*kind.defaults, *written.changed]), status_code=201)

    async def _update(self, request: Request) -> Response:
        caller = self._caller(request)
        kind = self._kind(request.path_params["object"])
        object_id = request.path_params["id"]
        body = _object(await _body(request), "the request body")
        current = self._find(kind, object_id, request.query_params.get("idProperty"))
        if current is None:
            raise _not_found(object_id)
        doc, written = self._write(kind, current, body.get("properties"))
        self._announce([written], caller)
        return _Json(self._public(kind, doc, [*kind.defaults, *written.changed]))

    async def _archive(self, request: Request) -> Response:
        """Archiving is idempotent at HubSpot: an unknown or already archived id still answers 204."""
        caller = self._caller(request)
        kind = self._kind(request.path_params["object"])
        doc = self._find(kind, request.path_params["id"], None)
        if doc is not None:
            self._announce([self._archive_doc(kind, doc)], caller)
        return Response(status_code=204)
