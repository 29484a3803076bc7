"""What contacts and deals share: the API's field names map to columns by one rule, a record is found only in
its own company, and deleting it leaves a ``<kind>.deleted`` event that carries the record as it was."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from isao.crm import events
from isao.crm.errors import NotFound
from isao.db.models import Contact, Deal

R = TypeVar("R", Contact, Deal)


def columns(model: type[BaseModel]) -> dict[str, str]:
    """A request model's fields (``phoneNumber``) and the columns that keep them (``phone_number``)."""
    return {field: re.sub(r"(?<!^)(?=[A-Z])", "_", field).lower() for field in model.model_fields}


def get(session: Session, model: type[R], company_id: str, record_id: str) -> R:
    row = session.scalar(select(model).where(model.company_id == company_id, model.id == record_id))
    if row is None:
        raise NotFound(model.__name__)
    return row


def delete(
    session: Session, model: type[R], company_id: str, record_id: str, shape: Callable[[R], dict[str, Any]]
) -> dict[str, Any]:
    """Delete and return the record in its API shape (``shape``)."""
    row = get(session, model, company_id, record_id)
    data = shape(row)
    session.delete(row)
    events.record(session, company_id, f"{model.__name__.lower()}.deleted", record_id, data)
    return data
