"""Check answers against a provider's published OpenAPI document (``tests/specs``), so a sandbox cannot
drift into a private dialect. OpenAPI 3.0 schemas are JSON Schema with ``nullable``; documents the specs
refer to but that were not published with them (Zoho's modules/tags/users) are accepted as any value."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import orjson
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SPECS = Path(__file__).parent / "specs"


def _nullable(node: Any) -> Any:
    """``{"type": "string", "nullable": true}`` → ``{"type": ["string", "null"]}``, recursively; and
    ``oneOf`` read as ``anyOf``: Zoho's success and error wrappers both accept a success body."""
    if isinstance(node, dict):
        node = {("anyOf" if key == "oneOf" else key): _nullable(value) for key, value in node.items()}
        if node.pop("nullable", False) is True and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    return node


@cache
def _document(path: Path) -> dict[str, Any]:
    return dict(_nullable(orjson.loads(path.read_bytes())))


class Spec:
    def __init__(self, provider: str, name: str) -> None:
        self.folder = SPECS / provider
        self.uri = f"file:///{provider}/{name}"
        self.document = _document(self.folder / name)
        self.registry: Registry = Registry(retrieve=self._retrieve)  # type: ignore[call-arg]
        self.registry = self.registry.with_resource(self.uri, DRAFT7.create_resource(self.document))
        self._operations = [
            (re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"), path, operations)
            for path, operations in self.document["paths"].items()
        ]

    def _retrieve(self, uri: str) -> Resource[Any]:
        local = self.folder / uri.rsplit("/", 1)[-1]
        if local.exists():
            return DRAFT7.create_resource(_document(local))
        return DRAFT7.create_resource(_Anything())  # not published with the spec: any pointer, any value

    def _operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        for pattern, template, operations in self._operations:
            if pattern.match(path) and method.lower() in operations:
                return template, dict(operations[method.lower()])
        raise AssertionError(f"{method} {path} is not in {self.uri}")

    def validate(self, method: str, path: str, status: int, body: Any) -> None:
        """Raise ``AssertionError`` naming the first way ``body`` differs from the documented answer."""
        template, operation = self._operation(method, path)
        responses = operation["responses"]
        candidates = [str(status), f"{str(status)[0]}XX", "default"]
        if 200 <= status < 300:  # Zoho documents 200 where it answers 201 and 202: same body schema
            candidates += sorted(c for c in responses if c.startswith("2"))
        code = next((c for c in candidates if c in responses), None)
        assert code is not None, f"{method} {path}: status {status} is not documented ({list(responses)})"
        pointer = f"/paths/{_escape(template)}/{method.lower()}/responses/{code}"
        response = responses[code]
        if "$ref" in response:
            pointer = response["$ref"].lstrip("#")
            response = self.registry.resolver(self.uri).lookup(response["$ref"]).contents
        media = next((m for m in ("application/json", "*/*") if m in (response.get("content") or {})), None)
        if media is None or "schema" not in response["content"][media]:
            return
        schema = {"$ref": f"{self.uri}#{pointer}/content/{_escape(media)}/schema"}
        validator = jsonschema.Draft7Validator(schema, registry=self.registry)
        error = jsonschema.exceptions.best_match(validator.iter_errors(body))
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "(root)"
            raise AssertionError(f"{method} {path} {status}: at {where}: {error.message}")


class _Anything(dict[str, Any]):
    """A document in which every pointer resolves to the empty schema."""

    def __missing__(self, key: str) -> _Anything:
        return _Anything()


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")
