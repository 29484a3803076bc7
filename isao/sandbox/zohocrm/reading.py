"""Listing records: sorting, page numbers, page tokens and ``If-Modified-Since``."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import orjson
from starlette.requests import Request
from starlette.responses import Response

from isao.sandbox.zohocrm.answers import _error, _invalid_param, _json, _missing_param
from isao.sandbox.zohocrm.constants import MAX_PAGE, PAGE_NUMBER_REACH, TOKEN_PAGE_TTL, VERSIONS, Json
from isao.sandbox.zohocrm.core import _Core
from isao.sandbox.zohocrm.schema import Module
from isao.sandbox.zohocrm.values import _parse_stamp, _stamp


@dataclass(frozen=True)
class _Listing:
    sort_by: str
    sort_order: str
    since: float | None
    offset: int


class ReadEndpoints(_Core):
    def _list(self, request: Request, version: str, module: Module) -> Response:
        query = request.query_params
        fields = self._fields_param(module, query.get("fields"))
        if isinstance(fields, Response):
            return fields
        if fields is None and VERSIONS.index(version) >= VERSIONS.index("v5"):
            return _missing_param("fields")
        per_page = self._int_param(query, "per_page", MAX_PAGE, 1, MAX_PAGE)
        if isinstance(per_page, Response):
            return per_page
        tokens = VERSIONS.index(version) >= VERSIONS.index("v2.1")
        listing = self._listing(request, module, per_page, tokens)
        if isinstance(listing, Response):
            return listing
        records = self.store.all(module.api_name)
        if "ids" in query:
            wanted = {i.strip() for i in query["ids"].split(",") if i.strip()}
            records = [r for r in records if r["id"] in wanted]
        if listing.since is not None:
            since = listing.since
            records = [r for r in records if (_parse_stamp(r["Modified_Time"]) or 0) > since]
            if not records:
                return Response(status_code=304)
        records.sort(
            key=lambda r: (r[listing.sort_by] if listing.sort_by != "id" else "", int(r["id"])),
            reverse=listing.sort_order == "desc",
        )
        window = records[listing.offset : listing.offset + per_page]
        if not window:
            return Response(status_code=204)
        more = listing.offset + per_page < len(records)
        info: Json = {
            "per_page": per_page,
            "count": len(window),
            "page": listing.offset // per_page + 1,
            "sort_by": listing.sort_by,
            "sort_order": listing.sort_order,
            "more_records": more,
        }
        if tokens:
            info["next_page_token"] = (
                self._page_token(module, listing, listing.offset + per_page) if more else None
            )
            previous = max(0, listing.offset - per_page)
            info["previous_page_token"] = (
                self._page_token(module, listing, previous) if listing.offset else None
            )
            info["page_token_expiry"] = _stamp(self.clock() + TOKEN_PAGE_TTL)
        return _json({"data": [self._render(module, r, fields) for r in window], "info": info})

    def _listing(self, request: Request, module: Module, per_page: int, tokens: bool) -> _Listing | Response:
        query = request.query_params
        token = query.get("page_token")
        if token:
            return self._read_page_token(module, token) if tokens else _invalid_param("page_token", token)
        sort_by, sort_order = query.get("sort_by", "id"), query.get("sort_order", "desc")
        if sort_by not in ("id", "Created_Time", "Modified_Time"):
            return _invalid_param("sort_by", sort_by)
        if sort_order not in ("asc", "desc"):
            return _invalid_param("sort_order", sort_order)
        page = self._int_param(query, "page", 1, 1, None)
        if isinstance(page, Response):
            return page
        offset = (page - 1) * per_page
        if tokens and offset >= PAGE_NUMBER_REACH:
            return _error(
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                "You cannot fetch more than 2000 records with the page param; use page_token instead",
                {"limit": PAGE_NUMBER_REACH},
            )
        since: float | None = None
        header = request.headers.get("if-modified-since")
        if header:
            since = _parse_stamp(header)
            if since is None:
                return _error("INVALID_DATA", "invalid data", {"header_name": "If-Modified-Since"})
        return _Listing(sort_by, sort_order, since, offset)

    def _page_token(self, module: Module, listing: _Listing, offset: int) -> str:
        state = {
            "m": module.api_name,
            "b": listing.sort_by,
            "d": listing.sort_order,
            "s": listing.since,
            "o": offset,
            "e": int(self.clock() + TOKEN_PAGE_TTL),
        }
        return base64.urlsafe_b64encode(orjson.dumps(state)).decode().rstrip("=")

    def _read_page_token(self, module: Module, token: str) -> _Listing | Response:
        try:
            state = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            listing = _Listing(str(state["b"]), str(state["d"]), state["s"], int(state["o"]))
            valid = state["m"] == module.api_name and float(state["e"]) > self.clock()
        except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            valid = False
        return listing if valid else _invalid_param("page_token", token)
