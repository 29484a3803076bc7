"""Alembic environment: runs against the URL ``isao.db.migrate`` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from isao.db.models import Base


def run() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "isao.db.migrate passes the URL"
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
