"""Deleting records, one or many by ``ids``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from isao.sandbox.zohocrm.answers import _err, _error, _missing_param, _per_record
from isao.sandbox.zohocrm.constants import _DIGITS, MAX_WRITE, Json
from isao.sandbox.zohocrm.notify import Notifier
from isao.sandbox.zohocrm.schema import Module


class DeleteEndpoints(Notifier):
    def _delete_many(self, request: Request, version: str, module: Module) -> Response:
        raw = request.query_params.get("ids")
        if not raw:
            return _missing_param("ids")
        ids = [i.strip() for i in raw.split(",") if i.strip()]
        if len(ids) > MAX_WRITE:
            return _error("LIMIT_EXCEEDED", "Record count exceeded", {"limit": MAX_WRITE})
        return _per_record([self._delete_one(version, module, record_id) for record_id in ids], 200)

    def _delete_one(self, version: str, module: Module, record_id: str) -> Json:
        removed = self.store.delete(module.api_name, record_id) if _DIGITS.fullmatch(record_id) else None
        if removed is None:
            return _err("INVALID_DATA", "the id given seems to be invalid", {"id": record_id})
        self._notify(version, module, "delete", [(record_id, [], removed)])
        return {
            "code": "SUCCESS",
            "details": {"id": record_id},
            "message": "record deleted",
            "status": "success",
        }
