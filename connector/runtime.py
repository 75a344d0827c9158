"""The runtime: settings, database, queue, clock and flow spec, built once per process."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connector.clock import Clock
from connector.config import Settings, load_settings
from connector.store import Database


@dataclass
class Runtime:
    """Everything a use case needs from the outside world."""

    settings: Settings
    db: Database
    queue: Any
    clock: Clock
    spec: Any
    mailer: Any = None
    extras: dict = field(default_factory=dict)

    def close(self) -> None:
        self.queue.close()
        self.db.dispose()


def build_runtime(settings: Settings | None = None, *, queue: str | Any | None = None,
                  clock: Clock | None = None, upgrade: bool = True) -> Runtime:
    """Build a runtime; `queue` is "inline", "thread", "rq", a queue object, or None (rq if REDIS_URL)."""
    from connector.flows import load_spec
    from connector.jobs import InlineQueue, RQQueue, ThreadQueue

    settings = settings or load_settings()
    spec = load_spec(settings.flows_path, env=settings.env)
    db = Database(settings.database_url)
    if upgrade:
        db.upgrade()
    if queue is None:
        queue = "rq" if settings.redis_url else "thread"
    if queue == "inline":
        queue = InlineQueue()
    elif queue == "thread":
        queue = ThreadQueue()
    elif queue == "rq":
        queue = RQQueue(settings.redis_url)
    rt = Runtime(settings=settings, db=db, queue=queue, clock=clock or Clock(), spec=spec)
    queue.runtime = rt
    return rt
