"""Form-encoded bodies with bracket nesting, as Rack and Stripe read them: ``metadata[order]=7`` is a
nested object, ``expand[]=a&expand[]=b`` a list, ``items[0][price]=p`` a list of objects."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_PART = re.compile(r"\[([^\[\]]*)\]")


class FormError(ValueError):
    """A key whose brackets do not nest (``a[b]=1&a=2``)."""


def nested(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        head = key.split("[", 1)[0]
        parts = [head, *_PART.findall(key[len(head) :])]
        _put(root, parts, value, key)
    return _lists(root)


def _put(node: dict[str, Any], parts: list[str], value: str, key: str) -> None:
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "":  # ``a[]``: append
            part = str(len(node))
        if last:
            node[part] = value
            return
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise FormError(f"{key}: {part} is both a value and an object")
        node = child


def _lists(node: dict[str, Any]) -> dict[str, Any]:
    """Objects whose keys are 0, 1, 2… become lists."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(value, dict):
            inner = _lists(value)
            if inner and all(k.isdigit() for k in inner):
                out[key] = [inner[k] for k in sorted(inner, key=int)]
            else:
                out[key] = inner
        else:
            out[key] = value
    return out
