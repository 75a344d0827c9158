"""The task registry: every job Leadwire queues, by name. Explicit, no magic dispatch."""
from __future__ import annotations

from typing import Callable

from connector import capture

TASKS: dict[str, Callable] = {
    "capture.process": capture.process,
}
