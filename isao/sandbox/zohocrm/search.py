"""``/{module}/search`` by criteria, email, phone or word."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from isao.sandbox.zohocrm.answers import _error, _json, _missing_param, _path_invalid
from isao.sandbox.zohocrm.constants import MAX_PAGE, Stored
from isao.sandbox.zohocrm.core import _Core
from isao.sandbox.zohocrm.criteria import _evaluate, _names, _parse_criteria
from isao.sandbox.zohocrm.schema import _TEXTUAL, Module


class SearchEndpoints(_Core):
    async def _search(self, request: Request) -> Response:
        _, refused = self._enter(request, ["GET"])
        if refused is not None:
            return refused
        module = self._module(request)
        if module is None:
            return _path_invalid(0)
        query = request.query_params
        fields = self._fields_param(module, query.get("fields"))
        if isinstance(fields, Response):
            return fields
        per_page = self._int_param(query, "per_page", MAX_PAGE, 1, MAX_PAGE)
        page = self._int_param(query, "page", 1, 1, None)
        if isinstance(per_page, Response):
            return per_page
        if isinstance(page, Response):
            return page
        match = self._matcher(module, query)
        if isinstance(match, Response):
            return match
        # Filter the stored documents in place; copy only the page that is answered.
        records = sorted(
            (r for r in self.store.scan(module.api_name) if match(r)), key=lambda r: int(r["id"])
        )
        chosen = records[(page - 1) * per_page : page * per_page]
        window = [self.store.get(module.api_name, r["id"]) or {} for r in chosen]
        if not window:
            return Response(status_code=204)
        info = {
            "per_page": per_page,
            "count": len(window),
            "page": page,
            "more_records": page * per_page < len(records),
        }
        return _json({"data": [self._render(module, r, fields) for r in window], "info": info})

    def _matcher(self, module: Module, query: Any) -> Callable[[Stored], bool] | Response:
        if query.get("criteria"):
            parsed = _parse_criteria(query["criteria"], module)
            if isinstance(parsed, str):
                return _error("INVALID_QUERY", "invalid query formed", {"reason": parsed})
            lookups = any((f := module.field(name)) and f.data_type == "lookup" for name in _names(parsed))
            return lambda record: _evaluate(parsed, self._render(module, record, lookups=lookups))
        for param, kinds in (("email", ("email",)), ("phone", ("phone",))):
            if query.get(param):
                wanted = query[param].strip().lower()
                names = [f.api_name for f in module.fields if f.data_type in kinds]

                def matches(record: Stored, names: list[str] = names, wanted: str = wanted) -> bool:
                    return any(str(record.get(n) or "").lower() == wanted for n in names)

                return matches
        if query.get("word"):
            word = query["word"].strip().lower()
            texts = [f.api_name for f in module.fields if f.data_type in _TEXTUAL]
            return lambda r: any(word in str(r.get(n) or "").lower() for n in texts)
        return _missing_param("criteria", "email", "phone", "word")
