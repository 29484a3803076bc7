"""What the sub-commands share: the console, opening the database, finding a company."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.table import Column

from isao.cli.errors import Missing
from isao.config import get_settings
from isao.crm import companies
from isao.db import Database
from isao.db.migrate import upgrade

console = Console()


def pairs(values: list[str] | None, option: str, parse: Callable[[str], Any] = str) -> dict[str, Any]:
    """``name=value`` options (repeatable) as a dict; a malformed one is a usage error naming ``option``."""
    found: dict[str, Any] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{item!r} is not name=value", param_hint=option)
        found[name.strip()] = parse(value)
    return found


def id_column(header: str = "id") -> Column:
    """Ids are copied into the next command: never wrapped or cut, however narrow the terminal."""
    return Column(header, no_wrap=True, min_width=31)


def open_db() -> Database:
    """The configured database, migrated: every command works on a fresh install."""
    url = get_settings().resolved_database_url()
    upgrade(url)
    return Database(url, pool_size=2)


def find_company(db: Database, id_or_name: str) -> str:
    with db.read() as session:
        company = companies.find(session, id_or_name)
    if company is None:
        raise Missing("company with id or name", repr(id_or_name), "See `isao companies list`.")
    return company.id
