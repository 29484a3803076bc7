"""The record routes (``/{module}`` and ``/{module}/{id}``, ``/{module}/upsert``), dispatched by method."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from isao.sandbox.zohocrm.answers import _json, _path_invalid, _per_record
from isao.sandbox.zohocrm.constants import _DIGITS
from isao.sandbox.zohocrm.deleting import DeleteEndpoints
from isao.sandbox.zohocrm.reading import ReadEndpoints
from isao.sandbox.zohocrm.writing import WriteEndpoints


class RecordEndpoints(ReadEndpoints, WriteEndpoints, DeleteEndpoints):
    async def _collection(self, request: Request) -> Response:
        version, refused = self._enter(request, ["GET", "POST", "PUT", "DELETE"])
        if refused is not None:
            return refused
        module = self._module(request)
        if module is None:
            return _path_invalid(0)
        if request.method == "GET":
            return self._list(request, version, module)
        if request.method == "DELETE":
            return self._delete_many(request, version, module)
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        return self._write(version, module, body, "create" if request.method == "POST" else "update")

    async def _single(self, request: Request) -> Response:
        version, refused = self._enter(request, ["GET", "PUT", "DELETE"])
        if refused is not None:
            return refused
        module = self._module(request)
        if module is None:
            return _path_invalid(0)
        record_id = request.path_params["id"]
        stored = self.store.get(module.api_name, record_id) if _DIGITS.fullmatch(record_id) else None
        if stored is None:
            return _path_invalid(1)
        if request.method == "GET":
            return _json({"data": [self._render(module, stored)]})
        if request.method == "DELETE":
            return _per_record([self._delete_one(version, module, record_id)], 200)
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        return self._write(version, module, body, "update", path_id=record_id)

    async def _upsert(self, request: Request) -> Response:
        version, refused = self._enter(request, ["POST"])
        if refused is not None:
            return refused
        module = self._module(request)
        if module is None:
            return _path_invalid(0)
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        return self._write(version, module, body, "upsert")
