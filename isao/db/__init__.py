"""Storage: engine and sessions, models, migrations."""

from isao.db.engine import Database

__all__ = ["Database"]
