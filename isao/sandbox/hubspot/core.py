"""The shared base of the sandbox's endpoint groups: state, fixtures, authentication, property
definitions, the unique-value index and finding stored records."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.requests import Request

from isao.sandbox.base import Sandbox
from isao.sandbox.faults import Faults
from isao.sandbox.hubspot.answers import _error, _invalid, _property_failure, _PropertyError
from isao.sandbox.hubspot.constants import (
    APP_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    DEVELOPER_API_KEY,
    FIXTURE_TIME,
    PIPELINES,
    PRIVATE_APP_TOKEN,
    PROPERTIES,
    REFRESH_TOKEN,
    SCOPES,
    TOKEN_TTL,
)
from isao.sandbox.hubspot.kinds import _KIND_ALIASES, KINDS, _Kind
from isao.sandbox.hubspot.schema import BUILTIN, DEFAULT_STAGES
from isao.sandbox.hubspot.values import _iso
from isao.sandbox.kit.oauth2 import Authority


@dataclass(frozen=True)
class _Caller:
    kind: Literal["private", "oauth"]
    token: str


@dataclass
class _Written:
    """A record write not yet announced: webhooks go out only once the whole request succeeded."""

    kind: _Kind
    id: str
    action: Literal["created", "updated", "deleted"]
    changed: dict[str, str | None] = field(default_factory=dict)


def _expired_message(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return f"The OAuth token used to make this call expired {int(seconds // size)} {unit}(s) ago."
    return f"The OAuth token used to make this call expired {int(max(0, seconds))} second(s) ago."


class _Core(Sandbox):
    """State, fixtures, authentication and stored records, shared by every endpoint group."""

    def __init__(self, *, store_path: Any = None, faults: Faults | None = None) -> None:
        super().__init__(store_path=store_path, faults=faults)
        self.tokens = Authority(TOKEN_TTL, prefix="CN", refresh_prefix="na1-", store=self.store)
        self.tokens.add_client(CLIENT_ID, CLIENT_SECRET)
        self.tokens.add_refresh_token(REFRESH_TOKEN, CLIENT_ID, SCOPES, fixed=True)
        self._pending: list[dict[str, Any]] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._unique: dict[tuple[str, str, str], str] | None = None
        self._custom: dict[str, dict[str, dict[str, Any]]] | None = None
        self._daily_day, self._daily_used = "", 0
        if self.store.count(PIPELINES) == 0:
            self._fixtures()

    # --- fixtures ---

    def _fixtures(self) -> None:
        stages = [
            {
                "label": label,
                "displayOrder": index,
                "metadata": {"isClosed": str(stage.startswith("closed")).lower(), "probability": probability},
                "id": stage,
                "createdAt": FIXTURE_TIME,
                "updatedAt": FIXTURE_TIME,
                "archived": False,
                "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
            }
            for index, (stage, label, probability) in enumerate(DEFAULT_STAGES)
        ]
        pipeline = {
            "label": "Sales Pipeline",
            "displayOrder": 0,
            "id": "default",
            "stages": stages,
            "createdAt": FIXTURE_TIME,
            "updatedAt": FIXTURE_TIME,
            "archived": False,
        }
        self.store.put(PIPELINES, "deals:default", pipeline)

    # --- authentication ---

    def _caller(self, request: Request) -> _Caller:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token:
            if token == PRIVATE_APP_TOKEN:
                return _Caller("private", token)
            state = self.tokens.check(token)
            if state == "valid":
                return _Caller("oauth", token)
            if state == "expired":
                expires_at = self.tokens.expires_at(token) or time.time()
                raise _error(
                    401,
                    _expired_message(time.time() - expires_at),
                    "EXPIRED_AUTHENTICATION",
                    context={"expire time": [_iso(int(expires_at * 1000))]},
                )
        raise _error(
            401,
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
            "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            "INVALID_AUTHENTICATION",
        )

    def _developer(self, request: Request) -> None:
        """The webhooks API takes the developer account's API key as ``hapikey``, for the app it owns."""
        if request.query_params.get("hapikey") != DEVELOPER_API_KEY:
            raise _error(
                401,
                "The API key provided is invalid. View or manage your API key here: "
                "https://app.hubspot.com/l/api-key/",
                "INVALID_AUTHENTICATION",
            )
        if request.path_params["app_id"] != str(APP_ID):
            raise _error(
                404,
                f"App {request.path_params['app_id']} does not exist or does not belong to this "
                "developer account",
                "OBJECT_NOT_FOUND",
            )

    # --- records ---

    def _kind(self, name: str) -> _Kind:
        kind = _KIND_ALIASES.get(name)
        if kind is None:
            raise _invalid(f"Unable to infer object type from: {name}")
        return kind

    def _definitions(self, kind: _Kind) -> dict[str, dict[str, Any]]:
        if self._custom is None:
            self._custom = {name: {} for name in KINDS}
            for doc in self.store.all(PROPERTIES):
                self._custom[doc["objectType"]][doc["name"]] = doc
        return BUILTIN[kind.name] | self._custom[kind.name]

    def _unique_names(self, kind: _Kind) -> list[str]:
        return [name for name, d in self._definitions(kind).items() if d.get("hasUniqueValue")]

    def _index(self) -> dict[tuple[str, str, str], str]:
        """(object, unique property, folded value) → id of the live record holding it."""
        if self._unique is None:
            self._unique = {}
            for kind in KINDS.values():
                names = self._unique_names(kind)
                for doc in self.store.all(kind.name):
                    self._index_doc(kind, doc, names)
        return self._unique

    def _index_doc(self, kind: _Kind, doc: dict[str, Any], names: list[str]) -> None:
        assert self._unique is not None
        for name in names:
            value = doc["properties"].get(name)
            if value and not doc["archived"]:
                self._unique[(kind.name, name, value.casefold())] = doc["id"]

    def _put(self, kind: _Kind, doc: dict[str, Any]) -> None:
        previous = self.store.get(kind.name, doc["id"])
        index = self._index()
        names = self._unique_names(kind)
        if previous is not None:
            for name in names:
                value = previous["properties"].get(name)
                if value and index.get((kind.name, name, value.casefold())) == doc["id"]:
                    del index[(kind.name, name, value.casefold())]
        self.store.put(kind.name, doc["id"], doc)
        self._index_doc(kind, doc, names)

    def _drop(self, kind: _Kind, object_id: str) -> None:
        """Undo a create (batch rollback)."""
        doc = self.store.get(kind.name, object_id)
        if doc is not None:
            doc["archived"] = True
            self._put(kind, doc)
            self.store.delete(kind.name, object_id)

    def _holder(self, kind: _Kind, name: str, value: str) -> str | None:
        return self._index().get((kind.name, name, value.casefold()))

    def _find(
        self, kind: _Kind, object_id: str, id_property: str | None, *, archived: bool = False
    ) -> dict[str, Any] | None:
        if id_property and id_property != "hs_object_id":
            definition = self._definitions(kind).get(id_property)
            if definition is None:
                raise _property_failure(
                    [
                        _PropertyError(
                            id_property, "PROPERTY_DOESNT_EXIST", f'Property "{id_property}" does not exist'
                        )
                    ]
                )
            if not definition.get("hasUniqueValue"):
                raise _invalid(f"{id_property} is not a unique property and cannot be used as idProperty")
            found = self._holder(kind, id_property, object_id)
            return self.store.get(kind.name, found) if found and not archived else None
        doc = self.store.get(kind.name, object_id)
        return doc if doc is not None and doc["archived"] == archived else None
