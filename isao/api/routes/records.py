"""What the contacts and deals endpoints share, declared once: a page of records, and one record to create,
get, update or delete, always in the caller's company.

FastAPI reads an endpoint's parameters from its signature, so each endpoint here is given the signature of
its kind: the scope its caller needs (``ContactsRead``), the path parameter (``contact_id``) and the body's
model. The route names (``get_contact``) keep the OpenAPI document's operation ids.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.responses import Response

from isao.api import params
from isao.api.responses import ok, ok_page, page_meta
from isao.api.schemas import Deleted, errors, one, success
from isao.crm.keys import Principal
from isao.crm.listing import Page

Row = TypeVar("Row")
Render = Callable[..., tuple[str, int]]
"""``isao.crm.pages.contacts`` and the like: (session, company id, page, filters…) → (JSON array, total)."""


@dataclass(frozen=True)
class Kind(Generic[Row]):
    """One kind of record, as its endpoints need it."""

    noun: str  # "contact": /{contact_id}, "Get a contact", get_contact
    out: type[BaseModel]  # its shape in the OpenAPI document
    read: Any  # the caller's dependency for reading (``ContactsRead``), and for writing
    write: Any
    create: Callable[[Session, str, Any], dict[str, Any]]  # (session, company id, body) → the API's shape
    get: Callable[[Session, str, str], Row]  # (session, company id, id)
    update: Callable[[Session, str, str, Any], Row]  # (session, company id, id, body)
    delete: Callable[[Session, str, str], object]
    shape: Callable[[Row], dict[str, Any]]  # a row in the API's shape
    conflicts: tuple[int, ...] = ()  # (409,) where a write can collide with an existing record

    @property
    def id(self) -> str:
        return f"{self.noun}_id"


def page_of(
    request: Request, caller: Principal, render: Render, paging: Page, created_since: str | None,
    updated_since: str | None, **filters: Any,
) -> Response:  # fmt: skip
    """A list endpoint's answer: ``render``'s page of the caller's records matching ``filters``."""
    filters["created_since"] = params.since("createdSince", created_since)
    filters["updated_since"] = params.since("updatedSince", updated_since)
    with request.app.state.db.read() as session:
        data, total = render(session, caller.company_id, paging, **filters)
    return ok_page(data, page_meta(paging, total))


def create(router: APIRouter, kind: Kind[Any], body: type[BaseModel]) -> None:
    def endpoint(request: Request, caller: Principal, **given: Any) -> Response:
        with request.app.state.db.write() as session:
            data = kind.create(session, caller.company_id, given["body"])
        return ok(data, status_code=201)

    router.add_api_route(
        "", _signed(endpoint, kind.write, body=body), methods=["POST"], name=f"create_{kind.noun}",
        summary=f"Create a {kind.noun}", status_code=201, response_model=None,
        responses={201: success(one(kind.out), "Created"), **errors(400, *kind.conflicts)},
    )  # fmt: skip


def get(router: APIRouter, kind: Kind[Any]) -> None:
    def endpoint(request: Request, caller: Principal, **given: Any) -> Response:
        with request.app.state.db.read() as session:
            return ok(kind.shape(kind.get(session, caller.company_id, given[kind.id])))

    router.add_api_route(
        f"/{{{kind.id}}}", _signed(endpoint, kind.read, **{kind.id: str}), methods=["GET"],
        name=f"get_{kind.noun}", summary=f"Get a {kind.noun}", response_model=None,
        responses={200: success(one(kind.out), f"The {kind.noun}"), **errors(404)},
    )  # fmt: skip


def update(
    router: APIRouter, kind: Kind[Any], body: type[BaseModel], *, what: str = "", summary: str = ""
) -> None:
    """``PUT /{id}`` (or ``/{id}/what``): a partial update, fields left out keep their value."""

    def endpoint(request: Request, caller: Principal, **given: Any) -> Response:
        with request.app.state.db.write() as session:
            data = kind.shape(kind.update(session, caller.company_id, given[kind.id], given["body"]))
        return ok(data)

    router.add_api_route(
        f"/{{{kind.id}}}" + (f"/{what}" if what else ""),
        _signed(endpoint, kind.write, **{kind.id: str}, body=body),
        methods=["PUT"], name="_".join(["update", kind.noun, *([what] if what else [])]),
        summary=summary or f"Update a {kind.noun} (fields left out keep their value)", response_model=None,
        responses={200: success(one(kind.out), "Updated"), **errors(400, 404, *kind.conflicts)},
    )  # fmt: skip


def delete(router: APIRouter, kind: Kind[Any], *, summary: str) -> None:
    def endpoint(request: Request, caller: Principal, **given: Any) -> Response:
        with request.app.state.db.write() as session:
            kind.delete(session, caller.company_id, given[kind.id])
        return ok({"id": given[kind.id], "deleted": True})

    router.add_api_route(
        f"/{{{kind.id}}}", _signed(endpoint, kind.write, **{kind.id: str}), methods=["DELETE"],
        name=f"delete_{kind.noun}", summary=summary, response_model=None,
        responses={200: success(one(Deleted), "Deleted"), **errors(404)},
    )  # fmt: skip


def _signed(endpoint: Callable[..., Response], caller: Any, **named: Any) -> Callable[..., Response]:
    """``endpoint`` with the signature FastAPI should read: the request, the caller (``caller`` checks its
    key and scope), then ``named`` parameters by type (path parameters, the body)."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter("request", keyword, annotation=Request),
        inspect.Parameter("caller", keyword, annotation=caller),
        *(inspect.Parameter(name, keyword, annotation=annotation) for name, annotation in named.items()),
    ]
    endpoint.__signature__ = inspect.Signature(parameters, return_annotation=Response)  # type: ignore[attr-defined]
    return endpoint
