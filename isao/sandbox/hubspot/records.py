"""Validating, storing and rendering one record: what every object write and read goes through."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from isao.sandbox.hubspot.answers import _error, _property_failure, _PropertyError
from isao.sandbox.hubspot.constants import FIRST_ID, PIPELINES
from isao.sandbox.hubspot.core import _Written
from isao.sandbox.hubspot.kinds import CONTACTS, DEALS, LINE_ITEMS, PRODUCTS, _Kind
from isao.sandbox.hubspot.links import _Links
from isao.sandbox.hubspot.parsing import _object
from isao.sandbox.hubspot.values import _format_number, _iso, _now_ms, _number, _parse_time

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class _Records(_Links):
    """One record's validation, write and public shape."""

    def _public(
        self,
        kind: _Kind,
        doc: dict[str, Any],
        names: Iterable[str] | None = None,
        *,
        associations: Iterable[_Kind] = (),
    ) -> dict[str, Any]:
        stored = doc["properties"]
        known = self._definitions(kind)
        wanted = {*(names or kind.defaults), "createdate", kind.modified, "hs_object_id"}
        properties = {name: stored.get(name) for name in sorted(wanted) if name in known or name in stored}
        result: dict[str, Any] = {
            "id": doc["id"],
            "properties": properties,
            "createdAt": doc["createdAt"],
            "updatedAt": doc["updatedAt"],
            "archived": doc["archived"],
        }
        if doc["archived"]:
            result["archivedAt"] = doc.get("archivedAt")
        linked = {}
        for other in associations:
            ids = self._linked(kind, doc["id"], other)
            if ids:
                kind_name = f"{kind.singular}_to_{other.singular}"
                linked[other.name] = {"results": [{"id": to_id, "type": kind_name} for to_id, _ in ids]}
        if linked:
            result["associations"] = linked
        return result

    def _clean(self, kind: _Kind, raw: Any, current: dict[str, Any] | None) -> dict[str, str | None]:
        """Validate and normalise property values as HubSpot does; a failure names every bad property."""
        given = _object(raw if raw is not None else {}, "properties")
        definitions = self._definitions(kind)
        errors: list[_PropertyError] = []
        out: dict[str, str | None] = {}
        for name, value in given.items():
            definition = definitions.get(name)
            if definition is None:
                errors.append(
                    _PropertyError(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
                )
                continue
            if definition["modificationMetadata"]["readOnlyValue"]:
                errors.append(
                    _PropertyError(
                        name, "READ_ONLY_VALUE", f'"{name}" is a read only property; its value cannot be set.'
                    )
                )
                continue
            if isinstance(value, dict | list):
                errors.append(_PropertyError(name, "INVALID_PROPERTY_VALUE", f"{name} must be a string"))
                continue
            if value is None or value == "":
                out[name] = None
                continue
            if isinstance(value, bool):
                text = str(value).lower()
            elif isinstance(value, float):
                text = _format_number(value)
            else:
                text = str(value)
            normalised, problem = self._coerce(kind, definition, text)
            if problem is not None:
                errors.append(problem)
            else:
                out[name] = normalised
        if errors:
            raise _property_failure(errors)
        merged = {**(current["properties"] if current else {}), **out}
        if kind is DEALS:
            self._check_stage(out, merged)
        if kind is LINE_ITEMS:
            self._price_line_item(out, merged)
        for name in self._unique_names(kind):
            value = out.get(name)
            holder = self._holder(kind, name, value) if value else None
            if holder is not None and (current is None or holder != current["id"]):
                if kind is CONTACTS and name == "email":
                    raise _error(409, f"Contact already exists. Existing ID: {holder}", "CONFLICT")
                raise _error(
                    409,
                    f"A {kind.singular} with {name} {value!r} already exists. Existing ID: {holder}",
                    "CONFLICT",
                )
        return out

    def _coerce(
        self, kind: _Kind, definition: dict[str, Any], text: str
    ) -> tuple[str, _PropertyError | None]:
        name, type_ = definition["name"], definition["type"]
        if type_ == "number":
            if _number(text) is None:
                return text, _PropertyError(name, "INVALID_FLOAT", f"{text} was not a valid number.")
            return text.strip(), None
        if type_ in ("datetime", "date"):
            ms = _parse_time(text)
            if ms is None:
                return text, _PropertyError(
                    name, "INVALID_DATE", f"{text} was not a valid date or timestamp."
                )
            if type_ == "datetime":
                return _iso(ms), None
            if ms % 86_400_000:
                return text, _PropertyError(
                    name, "INVALID_DATE", f"{text} is not midnight UTC; date properties hold a day."
                )
            return _iso(ms)[:10], None
        if type_ == "bool":
            if text.lower() not in ("true", "false"):
                return text, _PropertyError(name, "INVALID_BOOLEAN", f"{text} was not a valid boolean.")
            return text.lower(), None
        if type_ == "enumeration" and definition.get("externalOptions"):
            if not text.isdigit():
                return text, _PropertyError(name, "INVALID_OPTION", f"{text} was not a valid owner id.")
            return text, None
        if type_ == "enumeration" and definition["options"]:
            allowed = [option["value"] for option in definition["options"]]
            if text not in allowed:
                return text, _PropertyError(
                    name,
                    "INVALID_OPTION",
                    f"{text} was not one of the allowed options: [{', '.join(allowed)}]",
                )
        if kind is CONTACTS and name == "email":
            if not _EMAIL.match(text.strip()):
                return text, _PropertyError(name, "INVALID_EMAIL", f"Email address {text} is invalid")
            return text.strip().lower(), None
        return text, None

    def _check_stage(self, out: dict[str, str | None], merged: dict[str, Any]) -> None:
        """A deal's stage must belong to its pipeline (HubSpot puts a deal without one in ``default``)."""
        if "dealstage" not in out and "pipeline" not in out:
            return
        if merged.get("dealstage") and not merged.get("pipeline"):
            out["pipeline"] = merged["pipeline"] = "default"
        pipeline_id = merged.get("pipeline")
        if not pipeline_id:
            return
        pipeline = self.store.get(PIPELINES, f"deals:{pipeline_id}")
        if pipeline is None:
            ids = [doc["id"] for doc in self.store.all(PIPELINES)]
            raise _property_failure(
                [
                    _PropertyError(
                        "pipeline",
                        "INVALID_OPTION",
                        f"{pipeline_id} was not one of the allowed options: [{', '.join(ids)}]",
                    )
                ]
            )
        stage = merged.get("dealstage")
        stages = [s["id"] for s in pipeline["stages"] if not s["archived"]]
        if stage and stage not in stages:
            raise _property_failure(
                [
                    _PropertyError(
                        "dealstage",
                        "INVALID_OPTION",
                        f"{stage} was not one of the allowed options for pipeline {pipeline_id}: "
                        f"[{', '.join(stages)}]",
                    )
                ]
            )

    def _price_line_item(self, out: dict[str, str | None], merged: dict[str, Any]) -> None:
        """A line item copies its catalogue product's name, price and SKU; ``amount`` is computed."""
        product_id = out.get("hs_product_id")
        if product_id:
            product = self.store.get(PRODUCTS.name, product_id)
            if product is None or product["archived"]:
                raise _property_failure(
                    [
                        _PropertyError(
                            "hs_product_id",
                            "INVALID_OBJECT_ID",
                            f"Product with id {product_id} does not exist",
                        )
                    ]
                )
            for name in ("name", "price", "hs_sku", "description"):
                if not merged.get(name) and product["properties"].get(name):
                    out[name] = merged[name] = product["properties"][name]
        price, quantity = _number(merged.get("price") or ""), _number(merged.get("quantity") or "")
        if price is not None and quantity is not None:
            discount = _number(merged.get("discount") or "") or 0.0
            amount = _format_number(round(quantity * (price - discount), 6))
            if merged.get("amount") != amount:
                out["amount"] = merged["amount"] = amount

    def _write(
        self, kind: _Kind, current: dict[str, Any] | None, raw: Any
    ) -> tuple[dict[str, Any], _Written]:
        """Validate, then store one record; the caller announces the change once its request succeeded."""
        cleaned = self._clean(kind, raw, current)
        now = _iso(_now_ms())
        if current is None:
            object_id = str(self.store.next_id("objects", start=FIRST_ID))
            properties: dict[str, str] = {name: value for name, value in cleaned.items() if value is not None}
            properties |= {
                "hs_object_id": object_id,
                "createdate": properties.get("createdate") or now,
                kind.modified: now,
            }
            doc: dict[str, Any] = {
                "id": object_id,
                "properties": properties,
                "createdAt": now,
                "updatedAt": now,
                "archived": False,
            }
            self._put(kind, doc)
            return doc, _Written(kind, object_id, "created", dict(properties))
        doc = current
        properties = dict(doc["properties"])
        changed: dict[str, str | None] = {}
        for name, value in cleaned.items():
            if properties.get(name) != value:
                changed[name] = value
                if value is None:
                    properties.pop(name, None)
                else:
                    properties[name] = value
        if changed:
            properties[kind.modified] = now
            doc = doc | {"properties": properties, "updatedAt": now}
            self._put(kind, doc)
        return doc, _Written(kind, doc["id"], "updated", changed)

    def _archive_doc(self, kind: _Kind, doc: dict[str, Any]) -> _Written:
        now = _iso(_now_ms())
        self._put(kind, doc | {"archived": True, "archivedAt": now})
        return _Written(kind, doc["id"], "deleted")
