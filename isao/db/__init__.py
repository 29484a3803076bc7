"""Storage: engine and sessions, models, migrations."""

from isao.db.engine import Database, insert_for

__all__ = ["Database", "insert_for"]
