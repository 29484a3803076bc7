"""Input models for contacts and deals: the one place their fields are validated and normalised.

Field names are the API's (camelCase). Unknown fields are ignored, as the seed clients send extras.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal, Self

import phonenumbers
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from isao.config import get_settings
from isao.timeutil import parse_iso

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MAX_VALUE = Decimal("9999999999999999.99")


def _email(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > 320 or not _EMAIL.match(value):
        raise ValueError("Email must be a valid email address")
    return value.lower()


def normalize_phone(value: str | None) -> str | None:
    """E.164 via libphonenumber; numbers without ``+`` are read in ``ISAO_DEFAULT_PHONE_REGION``."""
    if value is None or value.strip() == "":
        return None
    try:
        parsed = phonenumbers.parse(value, get_settings().default_phone_region)
    except phonenumbers.NumberParseException:
        raise ValueError("Phone number is not a valid phone number") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError("Phone number is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _date(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("Must be an ISO 8601 date")
    try:
        return parse_iso(value)
    except ValueError:
        raise ValueError("Must be an ISO 8601 date, e.g. 2024-12-30 or 2024-12-30T15:30:00.000Z") from None


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _tags(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    return list(dict.fromkeys(tag.strip() for tag in value if tag.strip()))


Text = Annotated[str | None, Field(default=None, max_length=255)]
Email = Annotated[str | None, Field(default=None, max_length=320), AfterValidator(_email)]
Phone = Annotated[str | None, Field(default=None, max_length=64), AfterValidator(normalize_phone)]
Tags = Annotated[
    list[Annotated[str, Field(max_length=100)]] | None,
    Field(default=None, max_length=100),
    AfterValidator(_tags),
]
Date = Annotated[datetime | None, BeforeValidator(_date), Field(default=None)]
Money = Annotated[Decimal, Field(ge=0, le=MAX_VALUE), AfterValidator(_money)]
Probability = Annotated[float | None, Field(default=None, ge=0, le=100)]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$"), AfterValidator(str.upper)]
Status = Literal["open", "won", "lost"]
Priority = Literal["low", "medium", "high"]


def refuse_nul(data: Any) -> Any:
    """Text fields may not carry NUL characters (PostgreSQL cannot store them)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if (isinstance(value, str) and "\x00" in value) or (
                isinstance(value, list) and any(isinstance(item, str) and "\x00" in item for item in value)
            ):
                raise ValueError(f"{key}: {key[:1].upper() + key[1:]} must not contain NUL characters")
    return data


class Input(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    _no_nul = model_validator(mode="before")(refuse_nul)


class ContactFields(Input):
    name: Text = None
    firstName: Text = None
    lastName: Text = None
    email: Email = None
    phoneNumber: Phone = None
    position: Text = None
    currentCompany: Text = None
    city: Text = None
    country: Text = None
    tags: Tags = None


class ContactCreate(ContactFields):
    @model_validator(mode="after")
    def _name_required(self) -> Self:
        if not self.name:
            derived = " ".join(part for part in (self.firstName, self.lastName) if part)
            if not derived:
                raise ValueError("name: Name is required")
            self.name = derived
        return self


class ContactUpdate(ContactFields):
    @model_validator(mode="after")
    def _name_not_blank(self) -> Self:
        if "name" in self.model_fields_set and not self.name:
            raise ValueError("name: Name cannot be empty")
        return self


class DealFields(Input):
    description: Annotated[str | None, Field(default=None, max_length=10_000)] = None
    stage: Annotated[str | None, Field(default=None, max_length=100)] = None
    probability: Probability = None
    expectedCloseDate: Date = None
    actualCloseDate: Date = None
    source: Annotated[str | None, Field(default=None, max_length=100)] = None
    contactId: Annotated[str | None, Field(default=None, max_length=64)] = None
    assignedToId: Annotated[str | None, Field(default=None, max_length=64)] = None


class DealCreate(DealFields):
    title: Annotated[str, Field(min_length=1, max_length=255)]
    value: Money
    currency: Currency = "EUR"
    priority: Priority = "medium"
    status: Status = "open"


class DealUpdate(DealFields):
    title: Annotated[str | None, Field(default=None, min_length=1, max_length=255)] = None
    value: Annotated[Money | None, Field(default=None)] = None
    currency: Annotated[Currency | None, Field(default=None)] = None
    priority: Priority | None = None
    status: Status | None = None

    @model_validator(mode="after")
    def _no_nulls_for_required(self) -> Self:
        for name in ("title", "value", "currency", "priority", "status"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name}: {name.capitalize()} cannot be null")
        return self


class DealStatusUpdate(Input):
    status: Status | None = None
    stage: Annotated[str | None, Field(default=None, max_length=100)] = None
    probability: Probability = None
    actualCloseDate: Date = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set & {"status", "stage", "probability", "actualCloseDate"}:
            raise ValueError("status: Provide at least one of status, stage, probability, actualCloseDate")
        if "status" in self.model_fields_set and self.status is None:
            raise ValueError("status: Status cannot be null")
        return self
