"""The task registry: every job Leadwire queues, by name. Explicit, no magic dispatch."""
from __future__ import annotations

from typing import Callable

from connector import capture, notify, sync

TASKS: dict[str, Callable] = {
    "capture.process": capture.process,
    "notify.send": notify.send_task,
    "sync.drain": sync.drain_task,
}
