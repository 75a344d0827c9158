"""The task registry: every job Leadwire queues, by name. Explicit, no magic dispatch."""
from __future__ import annotations

from collections.abc import Callable

from connector import notify
from connector.capture import batch
from connector.sync import deliveries, drain, erasure

TASKS: dict[str, Callable[..., None]] = {
    "capture.drain": batch.drain_task,
    "capture.process": batch.process,
    "notify.send": notify.send_task,
    "sync.drain": drain.drain_task,
    "sync.deliveries": deliveries.take_task,
    erasure.CRM_DELETE: erasure.crm_delete_task,
}
