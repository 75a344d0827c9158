"""Wiring: build the runtime of a process from its settings (web, worker, CLI, demo and tests)."""
from __future__ import annotations

from connector.core.clock import Clock
from connector.core.config import Settings, load_settings
from connector.core.errors import ConfigError
from connector.core.runtime import Queue, Runtime
from connector.flows import load_spec
from connector.jobs.backends import InlineQueue, RQQueue, ThreadQueue
from connector.store import Database


def build_runtime(settings: Settings | None = None, *, queue: str | Queue | None = None,
                  clock: Clock | None = None, upgrade: bool = True) -> Runtime:
    """Build a runtime; `queue` is "inline", "thread", "rq", a queue object, or None (rq if REDIS_URL).

    With `upgrade`, the embedded default (SQLite) migrates itself; a shared database (PostgreSQL) must
    already be migrated by `leadwire db upgrade`, else ConfigError says to run it."""
    settings = settings or load_settings()
    spec = load_spec(settings.flows_path, env=settings.env)
    db = Database(settings.database_url)
    if upgrade and db.dialect == "sqlite":
        db.upgrade()
    elif upgrade:
        lag = db.schema_lag()
        if lag:
            db.dispose()
            raise ConfigError(f"the database is not migrated ({lag}): run `leadwire db upgrade` first")
    if queue is None:
        queue = "rq" if settings.redis_url else "thread"
    backend = _backend(queue, settings)
    rt = Runtime(settings=settings, db=db, queue=backend, clock=clock or Clock(), spec=spec)
    backend.runtime = rt
    return rt


def _backend(queue: str | Queue, settings: Settings) -> Queue:
    """The queue object for a backend name ("inline", "thread", "rq"), or the queue object given."""
    if not isinstance(queue, str):
        return queue
    if queue == "inline":
        return InlineQueue()
    if queue == "thread":
        return ThreadQueue()
    if queue == "rq":
        if not settings.redis_url:
            raise ConfigError("the rq queue needs REDIS_URL")
        return RQQueue(settings.redis_url)
    raise ValueError(f"unknown queue {queue!r}; use inline, thread or rq")
