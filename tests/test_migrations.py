"""Migrations build exactly the models' schema, and go down and up again, on the database under test."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from isao.db import Database
from isao.db.migrate import alembic_config
from isao.db.models import Base


def test_schema_matches_models(db: Database) -> None:
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_downgrade_and_upgrade_on_a_fresh_sqlite(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    database = Database(url)
    with database.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    database.dispose()


def test_sqlite_runs_in_wal_mode(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite pragmas")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_quick_head_check_agrees_with_alembic(db: Database, tmp_path) -> None:
    """``upgrade`` skips Alembic when the database is at ``newest()``: that must be Alembic's own head."""
    from alembic.script import ScriptDirectory

    from isao.db.migrate import current, newest

    assert newest() == ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()
    assert current(db.url) == newest()
    assert current(f"sqlite:///{tmp_path / 'empty.db'}") is None
