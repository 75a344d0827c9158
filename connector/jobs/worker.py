"""The RQ side: the function RQ calls, and `leadwire worker` (RQ worker + periodic tick)."""
from __future__ import annotations

import logging
import threading
from typing import Any

from connector.core.runtime import Runtime
from connector.jobs.backends import RQQueue, run_task
from connector.jobs.boot import build_runtime
from connector.jobs.tick import run_tick

log = logging.getLogger(__name__)
_runtime: Runtime | None = None


def _rt() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = build_runtime(queue="rq")
    return _runtime


def perform(task: str, *args: Any) -> None:
    """Entry point of every RQ job: build the runtime once per process, then run the task."""
    run_task(_rt(), task, *args)


def run_worker(tick_seconds: float = 2.0, burst: bool = False) -> None:
    """Run an RQ worker on the leadwire queue, with the tick in a thread (one tick at a time, cluster-wide)."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    rt = _rt()
    queue = rt.queue
    if not isinstance(queue, RQQueue):  # build_runtime(queue="rq") makes one
        raise TypeError(f"the worker needs the RQ queue, not {type(queue).__name__}")
    stop = threading.Event()

    def ticker() -> None:
        while not stop.wait(tick_seconds):
            try:
                with queue.connection.lock("leadwire:tick", timeout=60, blocking=False) as got:
                    if got:
                        run_tick(rt)
            except Exception:
                log.exception("tick failed")

    if not burst:
        threading.Thread(target=ticker, daemon=True, name="leadwire-tick").start()
    # SimpleWorker runs jobs in this process: a forked child would reuse the parent's database connections
    worker = SimpleWorker([queue.rq], connection=queue.connection, serializer=JSONSerializer)
    try:
        worker.work(burst=burst, with_scheduler=False)
    finally:
        stop.set()
