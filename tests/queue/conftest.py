"""Queue tests run on the private database (``qdb`` in tests/conftest.py), emptied before each test."""

from __future__ import annotations

import pytest

from isao.db import Database
from tests.conftest import empty_queue


@pytest.fixture(autouse=True)
def _empty_queue(qdb: Database) -> None:
    empty_queue(qdb)
