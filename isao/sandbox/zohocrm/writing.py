"""Inserting, updating and upserting records: validation, coercion, duplicates and lookups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from starlette.responses import Response

from isao.sandbox.zohocrm.answers import _error, _per_record, _Reject, _reject
from isao.sandbox.zohocrm.constants import _DATE, _DATETIME, _DIGITS, _EMAIL, ID_PREFIX, MAX_WRITE, USER, Json
from isao.sandbox.zohocrm.notify import Notifier
from isao.sandbox.zohocrm.schema import _TEXTUAL, MODULES, Field, Module, _mandatory
from isao.sandbox.zohocrm.values import _parse_stamp, _same_value, _stamp, _valid_date


class WriteEndpoints(Notifier):
    def _write(
        self,
        version: str,
        module: Module,
        body: Json,
        mode: Literal["create", "update", "upsert"],
        path_id: str | None = None,
    ) -> Response:
        data = body.get("data")
        if data is None:
            return _error(
                "MANDATORY_NOT_FOUND", "required field not found", {"api_name": "data", "json_path": "$.data"}
            )
        if not isinstance(data, list) or not data:
            return _error(
                "INVALID_DATA",
                "invalid data",
                {"expected_data_type": "jsonarray", "api_name": "data", "json_path": "$.data"},
            )
        if len(data) > MAX_WRITE or (path_id is not None and len(data) > 1):
            return _error("LIMIT_EXCEEDED", "Record count exceeded", {"limit": 1 if path_id else MAX_WRITE})
        check = body.get("duplicate_check_fields")
        if mode == "upsert" and check is not None:
            allowed = {*module.duplicate_check, *(f.api_name for f in module.fields if f.unique)}
            if not isinstance(check, list) or not check or any(name not in allowed for name in check):
                return _error(
                    "INVALID_DATA",
                    "invalid data",
                    {"api_name": "duplicate_check_fields", "json_path": "$.duplicate_check_fields"},
                )
        order = list(check) if isinstance(check, list) else list(module.duplicate_check)
        results: list[Json] = []
        changes: dict[str, list[tuple[str, list[str], Json]]] = {"insert": [], "update": []}
        for index, item in enumerate(data):
            try:
                if not isinstance(item, dict):
                    raise _reject(
                        "INVALID_DATA",
                        "invalid data",
                        {"expected_data_type": "jsonobject", "json_path": f"$.data[{index}]"},
                    )
                result, operation, affected, stored = self._apply(
                    version, module, item, index, mode, path_id, order
                )
            except _Reject as rejected:
                results.append(rejected.item)
                continue
            results.append(result)
            changes[operation].append((stored["id"], affected, stored))
        for kind, changed in changes.items():
            if changed:
                self._notify(version, module, kind, changed)
        return _per_record(results, 201 if mode == "create" else 200)

    def _apply(
        self,
        version: str,
        module: Module,
        item: Json,
        index: int,
        mode: str,
        path_id: str | None,
        order: list[str],
    ) -> tuple[Json, Literal["insert", "update"], list[str], Json]:
        existing: Json | None = None
        duplicate_field: str | None = None
        if mode == "update":
            record_id = path_id or item.get("id")
            if record_id is None:
                raise _reject(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    {"api_name": "id", "json_path": f"$.data[{index}].id"},
                )
            existing = (
                self.store.get(module.api_name, str(record_id)) if _DIGITS.fullmatch(str(record_id)) else None
            )
            if existing is None:
                raise _reject("INVALID_DATA", "the id given seems to be invalid", {"id": str(record_id)})
        elif mode == "upsert":
            existing, duplicate_field = self._find_duplicate(module, item, order)
        values = self._clean(version, module, item, index, existing)
        now = _stamp(self.clock())
        if existing is None:
            record_id = f"{ID_PREFIX}{self.store.next_id('record_ids', start=100001):06d}"
            stored = {
                "Owner": {"id": USER["id"]},
                **values,
                "id": record_id,
                "Created_Time": now,
                "Modified_Time": now,
                "Created_By": dict(USER),
                "Modified_By": dict(USER),
            }
            affected: list[str] = []
            operation: Literal["insert", "update"] = "insert"
            message = "record added"
        else:
            affected = [k for k, v in values.items() if existing.get(k) != v]
            stored = {**existing, **values, "Modified_Time": now, "Modified_By": dict(USER)}
            operation, message = "update", "record updated"
        self.store.put(module.api_name, stored["id"], stored)
        details = {
            "Modified_Time": now,
            "Modified_By": {"name": USER["name"], "id": USER["id"]},
            "Created_Time": stored["Created_Time"],
            "id": stored["id"],
            "Created_By": {"name": USER["name"], "id": USER["id"]},
            "$approval_state": "approved",
        }
        result: Json = {"code": "SUCCESS", "details": details, "message": message, "status": "success"}
        if mode == "upsert":
            result = {
                "code": "SUCCESS",
                "duplicate_field": duplicate_field,
                "action": operation,
                "details": details,
                "message": message,
                "status": "success",
            }
        return result, operation, affected, stored

    def _find_duplicate(self, module: Module, item: Json, order: list[str]) -> tuple[Json | None, str | None]:
        for name in order:
            value = item.get(name)
            if value in (None, ""):
                continue
            for record in self.store.scan(module.api_name):
                if _same_value(record.get(name), value):
                    return self.store.get(module.api_name, record["id"]), name
        return None, None

    def _clean(self, version: str, module: Module, item: Json, index: int, existing: Json | None) -> Json:
        """The record's writable values in stored form, or ``_Reject`` with Zoho's first complaint:
        mandatory fields, then types and lookups, then unique fields."""
        path = f"$.data[{index}]"
        for name in _mandatory(module, version):
            present = item.get(name) if name in item or existing is None else existing.get(name)
            if present is None or (isinstance(present, str) and not present.strip()):
                raise _reject(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    {"api_name": name, "json_path": f"{path}.{name}"},
                )
        values: Json = {}
        for name, value in item.items():
            field = module.field(name)
            if field is None or field.read_only:
                continue  # Zoho ignores names it does not know and fields it computes
            values[name] = self._coerce(field, value, f"{path}.{name}")
        for field in module.fields:
            value = values.get(field.api_name)
            if not field.unique or value in (None, ""):
                continue
            for record in self.store.scan(module.api_name):
                if (existing is None or record["id"] != existing["id"]) and _same_value(
                    record.get(field.api_name), value
                ):
                    raise _reject(
                        "DUPLICATE_DATA",
                        "duplicate data",
                        {
                            "api_name": field.api_name,
                            "json_path": f"{path}.{field.api_name}",
                            "id": record["id"],
                            "duplicate_record": {
                                "id": record["id"],
                                "module": {"api_name": module.api_name, "id": module.id},
                                "Owner": {"name": USER["name"], "id": USER["id"]},
                            },
                        },
                    )
        return values

    def _coerce(self, field: Field, value: Any, path: str) -> Any:
        def bad(expected: str, **extra: Any) -> _Reject:
            return _reject(
                "INVALID_DATA",
                "invalid data",
                {"expected_data_type": expected, "api_name": field.api_name, "json_path": path, **extra},
            )

        if value is None:
            return None
        kind = field.data_type
        if kind in _TEXTUAL or kind == "picklist":
            if not isinstance(value, str):
                raise bad(kind)
            if len(value) > field.length:
                raise _reject(
                    "INVALID_DATA",
                    "invalid data",
                    {"maximum_length": field.length, "api_name": field.api_name, "json_path": path},
                )
            if kind == "email" and value and not _EMAIL.fullmatch(value):
                raise bad("email")
            if field.restricted and value not in field.picklist:
                raise _reject(
                    "INVALID_DATA",
                    "Pipeline doesn't contain the Stage",
                    {"api_name": field.api_name, "json_path": path},
                )
            return value
        if kind in ("currency", "double"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad("double")
            return value
        if kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad("integer")
            return value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise bad("boolean")
            return value
        if kind == "date":
            if not isinstance(value, str) or not _DATE.fullmatch(value) or _valid_date(value) is None:
                raise bad("date")
            return value
        if kind == "datetime":
            if not isinstance(value, str) or not _DATETIME.fullmatch(value) or _parse_stamp(value) is None:
                raise bad("datetime")
            return value
        if kind == "ownerlookup":
            owner = value.get("id") if isinstance(value, dict) else value
            if str(owner) != USER["id"]:
                raise bad("ownerlookup")
            return {"id": USER["id"]}
        return self._lookup(field, value, bad)

    def _lookup(self, field: Field, value: Any, bad: Callable[[str], _Reject]) -> Json:
        target = MODULES[field.lookup or ""]
        if isinstance(value, dict) and value.get("id") is not None:
            record_id = str(value["id"])
        elif isinstance(value, str | int) and not isinstance(value, bool) and _DIGITS.fullmatch(str(value)):
            record_id = str(value)
        elif isinstance(value, dict) and isinstance(value.get("name"), str):
            named = [r for r in self.store.all(target.api_name) if self._display(target, r) == value["name"]]
            if not named:
                raise bad("lookup")
            record_id = named[0]["id"]
        else:
            raise bad("lookup")
        if not _DIGITS.fullmatch(record_id) or self.store.get(target.api_name, record_id) is None:
            raise bad("lookup")
        return {"id": record_id}
