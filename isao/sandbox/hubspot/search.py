"""``/crm/v3/objects/{object}/search``: filter groups, free-text query, sorting and the result ceiling."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from isao.sandbox.hubspot.answers import _invalid, _Json
from isao.sandbox.hubspot.constants import (
    FILTER_GROUPS_MAX,
    FILTERS_MAX,
    FILTERS_PER_GROUP_MAX,
    OPERATORS,
    SEARCH_CEILING,
    SEARCH_MAX,
)
from isao.sandbox.hubspot.kinds import _Kind
from isao.sandbox.hubspot.parsing import _body, _object
from isao.sandbox.hubspot.records import _Records
from isao.sandbox.hubspot.values import _number, _parse_time

_TOKEN_SPLIT = re.compile(r"[\s,;]+")


class SearchEndpoints(_Records):
    search_ceiling: int = SEARCH_CEILING
    """Results one search query can page through (settable so tests reach it with a few records)."""

    # --- objects: search ---

    async def _search(self, request: Request) -> Response:
        self._caller(request)
        kind = self._kind(request.path_params["object"])
        body = _object(await _body(request), "the request body")
        groups = body.get("filterGroups") or []
        if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
            raise _invalid("Invalid input JSON: filterGroups must be an array of objects")
        filters = [_object(f, "a filter") for g in groups for f in (g.get("filters") or [])]
        if (
            len(groups) > FILTER_GROUPS_MAX
            or len(filters) > FILTERS_MAX
            or any(len(g.get("filters") or []) > FILTERS_PER_GROUP_MAX for g in groups)
        ):
            raise _invalid(
                f"Too many filters: at most {FILTER_GROUPS_MAX} filterGroups of {FILTERS_PER_GROUP_MAX} "
                f"filters each, {FILTERS_MAX} filters in total"
            )
        limit = body.get("limit", 10)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= SEARCH_MAX:
            raise _invalid(f"limit must be an integer between 0 and {SEARCH_MAX}")
        after_raw = str(body.get("after") or "0")
        if not after_raw.isdigit():
            raise _invalid(f"after must be a numeric offset, got {after_raw!r}")
        after = int(after_raw)
        if after >= self.search_ceiling:
            raise _invalid(
                f"Search results are limited to the first {self.search_ceiling} results; after={after} is "
                "past them. Narrow the filters (e.g. a later lower bound on the modified date)."
            )
        definitions = self._definitions(kind)
        for f in filters:
            name = f.get("propertyName")
            if f.get("operator", "EQ") not in OPERATORS:
                raise _invalid(
                    f"Unknown filter operator {f.get('operator')!r}; use one of {', '.join(OPERATORS)}"
                )
            if name not in definitions:
                raise _invalid(
                    f"Property {name!r} does not exist on {kind.name}; it cannot be searched",
                    context={"propertyName": [str(name)]},
                )
        docs = [doc for doc in self.store.all(kind.name) if not doc["archived"]]
        if groups:
            docs = [doc for doc in docs if any(self._matches_group(definitions, doc, g) for g in groups)]
        query = body.get("query")
        if isinstance(query, str) and query.strip():
            docs = [doc for doc in docs if self._matches_query(kind, doc, query)]
        docs = self._sorted(kind, docs, body.get("sorts") or [], definitions)
        names = body.get("properties") or None
        if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise _invalid("Invalid input JSON: properties must be an array of strings")
        # Pages stop at the ceiling, but ``paging`` still points past it while more match: a client that
        # follows it blindly meets the 400 above rather than a quiet, truncated result.
        page = docs[after : min(after + limit, self.search_ceiling)]
        out: dict[str, Any] = {
            "total": len(docs),
            "results": [self._public(kind, doc, names) for doc in page],
        }
        if after + limit < len(docs):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return _Json(out)

    def _matches_group(self, definitions: dict[str, Any], doc: dict[str, Any], group: dict[str, Any]) -> bool:
        return all(self._matches(definitions, doc, f) for f in group.get("filters") or [])

    def _matches(self, definitions: dict[str, Any], doc: dict[str, Any], f: dict[str, Any]) -> bool:
        name, operator = f.get("propertyName", ""), str(f.get("operator", "EQ"))
        definition = definitions[name]
        value: str | None = doc["properties"].get(name)
        if operator == "HAS_PROPERTY":
            return value not in (None, "")
        if operator == "NOT_HAS_PROPERTY":
            return value in (None, "")
        if operator in ("IN", "NOT_IN"):
            wanted = {self._key(definition, str(v)) for v in f.get("values") or []}
            inside = value is not None and self._key(definition, value) in wanted
            return inside if operator == "IN" else not inside
        if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            pattern = str(f.get("value", "")).casefold()
            text = (value or "").casefold()
            found = bool(value) and (
                fnmatch.fnmatchcase(text, pattern)
                or any(fnmatch.fnmatchcase(t, pattern) for t in _TOKEN_SPLIT.split(text))
            )
            return found if operator == "CONTAINS_TOKEN" else not found
        if value is None:
            return operator == "NEQ"
        mine, theirs = self._key(definition, value), self._key(definition, str(f.get("value", "")))
        if operator == "BETWEEN":
            high = self._key(definition, str(f.get("highValue", "")))
            return _compare(theirs, mine) <= 0 <= _compare(high, mine)
        outcome = _compare(mine, theirs)
        return {
            "EQ": outcome == 0,
            "NEQ": outcome != 0,
            "LT": outcome < 0,
            "LTE": outcome <= 0,
            "GT": outcome > 0,
            "GTE": outcome >= 0,
        }.get(operator, False)

    @staticmethod
    def _key(definition: dict[str, Any], value: str) -> float | str:
        """How HubSpot compares a property: numbers and dates by value, text case-insensitively."""
        if definition["type"] == "number":
            number = _number(value)
            return number if number is not None else value.casefold()
        if definition["type"] in ("datetime", "date"):
            ms = _parse_time(value)
            return float(ms) if ms is not None else value.casefold()
        return value.casefold()

    def _matches_query(self, kind: _Kind, doc: dict[str, Any], query: str) -> bool:
        tokens = [
            t
            for name in kind.searchable
            for t in _TOKEN_SPLIT.split((doc["properties"].get(name) or "").casefold())
        ]
        return all(any(t.startswith(term) for t in tokens) for term in query.casefold().split())

    def _sorted(
        self, kind: _Kind, docs: list[dict[str, Any]], sorts: Any, definitions: dict[str, dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """One sort is honoured, given as ``{"propertyName", "direction"}`` or as ``"name"``/``"-name"``;
        ties and the default order go by id."""
        docs = sorted(docs, key=lambda doc: int(doc["id"]))
        if not isinstance(sorts, list) or not sorts:
            return docs
        first = sorts[0]
        if isinstance(first, str):
            name, descending = first.lstrip("-"), first.startswith("-")
        elif isinstance(first, dict):
            name, descending = str(first.get("propertyName", "")), first.get("direction") == "DESCENDING"
        else:
            raise _invalid("Invalid input JSON: sorts must be an array")
        definition = definitions.get(name)
        if definition is None:
            raise _invalid(f"Property {name!r} does not exist on {kind.name}; it cannot be sorted on")
        present = [doc for doc in docs if doc["properties"].get(name) not in (None, "")]
        absent = [doc for doc in docs if doc["properties"].get(name) in (None, "")]
        keyed = [(self._key(definition, doc["properties"][name]), doc) for doc in present]
        numeric = all(isinstance(key, float) for key, _ in keyed)
        keyed.sort(key=lambda pair: pair[0] if numeric else str(pair[0]), reverse=descending)
        return [doc for _, doc in keyed] + absent


def _compare(a: float | str, b: float | str) -> int:
    if isinstance(a, float) and isinstance(b, float):
        return (a > b) - (a < b)
    x, y = str(a), str(b)
    return (x > y) - (x < y)
