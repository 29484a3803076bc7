"""Evaluate a step's compiled field mapping against a source record."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from isao.sync.expressions import Template
from isao.sync.recipe import ValueMap

Values = Mapping[str, Any]


def evaluate(fields: Values, record: Values, context: Values) -> dict[str, Any]:
    """The destination fields; a field whose value comes out ``None`` is left out (not sent as null), so
    a shop that leaves a value empty never blanks what the CRM holds."""
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        value = _value(spec, record, context)
        if value is not None:
            out[name] = value
    return out


def _value(spec: Any, record: Values, context: Values) -> Any:
    if isinstance(spec, Template):
        return spec(record, context)
    if isinstance(spec, ValueMap):
        key = spec.source(record, context)
        return _value(spec.map.get(str(key) if key is not None else "", spec.default), record, context)
    if isinstance(spec, dict):
        nested = evaluate(spec, record, context)
        return nested or None
    if isinstance(spec, list):
        return [_value(item, record, context) for item in spec]
    return spec


def to_wire(value: Any) -> Any:
    """JSON-ready: exact Decimals become ints or the float with the same shortest text (``98.25``)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: to_wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_wire(item) for item in value]
    return value
