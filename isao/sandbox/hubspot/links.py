"""Storing and checking associations between records, shared by the object and association endpoints."""

from __future__ import annotations

from typing import Any

from isao.sandbox.hubspot.answers import _invalid
from isao.sandbox.hubspot.constants import ASSOCIATIONS
from isao.sandbox.hubspot.core import _Core
from isao.sandbox.hubspot.kinds import ASSOCIATION_TYPES, DEFAULT_TYPE, INVERSE_TYPE, KINDS, _Kind
from isao.sandbox.hubspot.parsing import _object


class _Links(_Core):
    """Association storage: checking types and targets, linking both ways, listing live targets."""

    def _association_inputs(self, kind: _Kind, raw: Any) -> list[tuple[_Kind, str, int]]:
        """Check the ``associations`` of a create body; every target must exist before anything is written."""
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise _invalid("Invalid input JSON: associations must be an array")
        links = []
        for item in raw:
            item = _object(item, "an association")
            to_id = str(_object(item.get("to"), "association.to").get("id", ""))
            types = item.get("types")
            if not isinstance(types, list) or not types:
                raise _invalid("Invalid input JSON: association.types must be a non-empty array")
            for spec in types:
                type_id = self._type_id(kind, _object(spec, "an association type"))
                to_kind = KINDS[ASSOCIATION_TYPES[type_id][1]]
                self._require(to_kind, to_id)
                links.append((to_kind, to_id, type_id))
        return links

    def _type_id(self, kind: _Kind, spec: dict[str, Any], to_kind: _Kind | None = None) -> int:
        category, type_id = spec.get("associationCategory"), spec.get("associationTypeId")
        pair = ASSOCIATION_TYPES.get(type_id) if isinstance(type_id, int) else None
        if (
            not isinstance(type_id, int)
            or category != "HUBSPOT_DEFINED"
            or pair is None
            or pair[0] != kind.name
            or (to_kind is not None and pair[1] != to_kind.name)
        ):
            raise _invalid(
                f"Association type {type_id} ({category}) is not valid from {kind.singular}"
                + (f" to {to_kind.singular}" if to_kind else "")
            )
        return type_id

    def _require(self, kind: _Kind, object_id: str) -> dict[str, Any]:
        doc = self.store.get(kind.name, object_id)
        if doc is None or doc["archived"]:
            raise _invalid(
                f"{kind.singular} {object_id} does not exist; it cannot be associated",
                context={"id": [object_id]},
            )
        return doc

    def _default_type(self, kind: _Kind, to_kind: _Kind) -> int:
        type_id = DEFAULT_TYPE.get((kind.name, to_kind.name))
        if type_id is None:
            raise _invalid(f"There is no default association from {kind.name} to {to_kind.name}")
        return type_id

    def _link(self, kind: _Kind, object_id: str, to_kind: _Kind, to_id: str, type_id: int) -> None:
        """Associations go both ways: the inverse type is stored with the other record."""
        for a, a_id, b, b_id, t in (
            (kind, object_id, to_kind, to_id, type_id),
            (to_kind, to_id, kind, object_id, INVERSE_TYPE[type_id]),
        ):
            key = f"{a.name}:{a_id}:{b.name}:{b_id}"
            doc = self.store.get(ASSOCIATIONS, key) or {
                "from": a.name,
                "fromId": a_id,
                "to": b.name,
                "toId": b_id,
                "types": [],
            }
            if t not in doc["types"]:
                doc["types"].append(t)
            self.store.put(ASSOCIATIONS, key, doc)

    def _unlink(self, kind: _Kind, object_id: str, to_kind: _Kind, to_id: str) -> None:
        self.store.delete(ASSOCIATIONS, f"{kind.name}:{object_id}:{to_kind.name}:{to_id}")
        self.store.delete(ASSOCIATIONS, f"{to_kind.name}:{to_id}:{kind.name}:{object_id}")

    def _linked(self, kind: _Kind, object_id: str, to_kind: _Kind) -> list[tuple[str, list[int]]]:
        """(to id, type ids) for live targets, in id order."""
        found = []
        for doc in self.store.all(ASSOCIATIONS):
            if doc["from"] == kind.name and doc["fromId"] == object_id and doc["to"] == to_kind.name:
                target = self.store.get(to_kind.name, doc["toId"])
                if target is not None and not target["archived"]:
                    found.append((doc["toId"], list(doc["types"])))
        return sorted(found, key=lambda pair: int(pair[0]))
