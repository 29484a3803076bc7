"""Limits, fixed ids and value patterns the Zoho CRM sandbox shares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

VERSIONS = ("v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8")
MAX_WRITE, MAX_PAGE, PAGE_NUMBER_REACH, MAX_FIELDS = 100, 200, 2000, 50
TOKEN_PAGE_TTL = 86400
ID_PREFIX = "5843210000000"  # 13 digits + a 6-digit sequence: Zoho's 19-digit ids
USER = {"name": "Sandbox Admin", "id": "5843210000000000101", "email": "crm.admin@example.com"}
ORG_ID = "5843210000000000011"
DEFAULT_CHANNEL_TTL = 3600
_DIGITS = re.compile(r"\d{1,19}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})")
_EVENT = re.compile(r"([A-Za-z_]+)\.(create|edit|delete|all)")

Json = dict[str, Any]
Stored = Mapping[str, Any]
"""A stored record as filters read it (``Store.scan``): never changed in place."""
