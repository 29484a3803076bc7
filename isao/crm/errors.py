"""Errors the CRM services raise; the API turns each into its documented HTTP body.

CrmError
├── NotFound          404  "Deal not found"
├── BadReference      400  a referenced record is unknown or belongs to another company
├── Invalid           422  per-field messages
└── DuplicateContact  409  carries the existing contact's id
"""

from __future__ import annotations


class CrmError(Exception):
    pass


class NotFound(CrmError):
    def __init__(self, resource: str) -> None:
        super().__init__(f"{resource} not found")
        self.resource = resource


class BadReference(CrmError):
    pass


class Invalid(CrmError):
    def __init__(self, details: dict[str, str]) -> None:
        super().__init__("Validation failed")
        self.details = details


class DuplicateContact(CrmError):
    def __init__(self, existing_id: str, field: str) -> None:
        super().__init__(f"A contact with this {field} already exists")
        self.existing_id = existing_id
        self.field = field
