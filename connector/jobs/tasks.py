"""The task registry: every job Leadwire queues, by name. Explicit, no magic dispatch."""
from __future__ import annotations

from collections.abc import Callable

from connector import notify
from connector.capture import inbox
from connector.sync import deliveries, drain

TASKS: dict[str, Callable[..., None]] = {
    "capture.process": inbox.process,
    "notify.send": notify.send_task,
    "sync.drain": drain.drain_task,
    "sync.deliveries": deliveries.take_task,
}
