"""The runtime: settings, database, queue, clock, flow spec and mailer of one process.

`connector.jobs.boot.build_runtime` builds it; every use case takes it as `rt`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from connector.core.clock import Clock
from connector.core.config import Settings

if TYPE_CHECKING:  # annotations only: core imports nothing above it at run time
    from connector.flows.model import Spec
    from connector.notify.mailer import Mailer
    from connector.store.db import Database


class Queue(Protocol):
    """Where use cases put work: a task name and JSON arguments (ids), never objects."""

    runtime: Runtime | None

    def enqueue(self, task: str, *args: Any) -> None:
        """Run task `task` with `args` at some point, at least once."""

    def wake(self, task: str) -> None:
        """Run task `task` (no arguments) soon; wake-ups of a task not yet started coalesce into one,
        and a wake-up made after the task started runs it again."""

    def close(self) -> None:
        """Stop background work, finishing what was taken."""


@dataclass
class Runtime:
    """Everything a use case needs from the outside world."""

    settings: Settings
    db: Database
    queue: Queue
    clock: Clock
    spec: Spec
    mailer: Mailer | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.queue.close()
        self.db.dispose()
