"""Storage: SQLAlchemy models, sessions and Alembic migrations (SQLite and PostgreSQL alike)."""
from connector.store.db import Database

__all__ = ["Database"]
