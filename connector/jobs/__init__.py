"""Queue backends (inline, thread, RQ), the task registry and the periodic tick."""
from connector.jobs.queue import InlineQueue, Queue, RQQueue, ThreadQueue

__all__ = ["Queue", "InlineQueue", "ThreadQueue", "RQQueue"]
