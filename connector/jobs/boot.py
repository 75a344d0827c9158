"""Wiring: build the runtime of a process from its settings (web, worker, CLI, demo and tests)."""
from __future__ import annotations

from connector.core.clock import Clock
from connector.core.config import Settings, load_settings
from connector.core.runtime import Queue, Runtime
from connector.flows import load_spec
from connector.jobs.backends import InlineQueue, RQQueue, ThreadQueue
from connector.store import Database


def build_runtime(settings: Settings | None = None, *, queue: str | Queue | None = None,
                  clock: Clock | None = None, upgrade: bool = True) -> Runtime:
    """Build a runtime; `queue` is "inline", "thread", "rq", a queue object, or None (rq if REDIS_URL)."""
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
