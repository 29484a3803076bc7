"""Apply Alembic migrations programmatically: ``isao serve`` and the tests upgrade on start."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def newest() -> str:
    """The head revision: revision ids are the versions' file-name prefixes (``0005_….py`` is ``0005``)."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def current(url: str) -> str | None:
    """The database's revision, or None when it has none yet (or cannot say)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database to ``revision``. A database already at the head is left without loading
    Alembic, which is a tenth of a second of every start."""
    if revision == "head" and current(url) == newest():
        return
    from alembic import command

    command.upgrade(alembic_config(url), revision)
