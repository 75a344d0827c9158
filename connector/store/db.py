"""Engine, sessions and schema upgrades for one database URL."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:  # alembic is imported only when migrating
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x4C45414457495245  # pg_advisory_lock key of `leadwire db upgrade` ("LEADWIRE")


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


class Database:
    """One database: `with db.session() as s:` is one transaction, committed on success."""

    def __init__(self, url: str, *, pool_size: int = 10):
        self.url = url
        kwargs: dict[str, Any] = {"future": True, "hide_parameters": True}  # logs and errors never carry lead values
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            # no pre-ping (a round trip per checkout): connections are recycled, and a batch that meets a
            # dropped one fails as a whole and is taken again (capture/batch.py)
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)
        self.engine: Engine = create_engine(url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: commits when the block ends, rolls back on error."""
        with self._sessions() as session:
            with session.begin():
                yield session

    def upgrade(self) -> None:
        """Bring the schema to the newest migration. On PostgreSQL under an advisory lock: a second
        upgrade at the same time waits for the first, then finds nothing left to do."""
        from alembic import command  # local: alembic is loaded only by the processes that migrate

        if self.dialect != "postgresql":
            command.upgrade(alembic_config(self.url, self.engine), "head")
            return
        with self.engine.connect() as lock:
            lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            try:
                command.upgrade(alembic_config(self.url, self.engine), "head")
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                lock.commit()

    def schema_lag(self) -> str | None:
        """None when the schema is at the newest migration; else what it is at and what is newest."""
        from alembic.runtime.migration import MigrationContext  # local: as in upgrade
        from alembic.script import ScriptDirectory

        heads = set(ScriptDirectory.from_config(alembic_config(self.url)).get_heads())
        with self.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
        if current == heads:
            return None
        return f"schema at {', '.join(sorted(current)) or 'no migration'}, newest is {', '.join(sorted(heads))}"

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str, engine: Engine | None = None) -> Config:
    """Alembic configuration for the migrations shipped inside the package."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["engine"] = engine
    return cfg
