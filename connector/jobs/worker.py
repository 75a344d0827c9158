"""The RQ side: the function RQ calls, and `leadwire worker` (RQ worker + periodic tick).

The worker outlives outages: when Redis drops (RQ retries while idle, but its work loop ends when Redis
fails under a job or a heartbeat) or PostgreSQL is unreachable
(at start, or under a job or a tick), it waits with backoff and carries on; only SIGTERM / SIGINT end it.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from types import FrameType
from typing import Any

import redis
from rq import SimpleWorker
from rq.exceptions import StopRequested
from rq.serializers import JSONSerializer
from sqlalchemy.exc import DBAPIError

from connector.core.backoff import Backoff
from connector.core.runtime import Runtime
from connector.jobs.backends import RQQueue, run_task
from connector.jobs.boot import build_runtime
from connector.jobs.tick import run_tick

log = logging.getLogger(__name__)
_runtime: Runtime | None = None

RECONNECT = Backoff(first=timedelta(seconds=0.5), factor=2.0, cap=timedelta(seconds=15))
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
TICK_LOCK, TICK_LOCK_SECONDS = "leadwire:tick", 60


def _rt() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = build_runtime(queue="rq")
    return _runtime


def perform(task: str, *args: Any) -> None:
    """Entry point of every RQ job: build the runtime once per process, then run the task."""
    run_task(_rt(), task, *args)


def perform_wake(task: str) -> None:
    """Entry point of a wake-up job (RQQueue.wake): clear the task's flag, then run the task."""
    rt = _rt()
    if isinstance(rt.queue, RQQueue):
        rt.queue.connection.delete(RQQueue.wake_flag(task))
    run_task(rt, task)


class _Worker(SimpleWorker):
    """RQ's in-process worker, remembering a stop request (SIGTERM / SIGINT): RQ's work loop also ends on
    its own when Redis drops, and only a stop request should end `leadwire worker`."""

    stopping = False
    max_connection_wait_time = RECONNECT.cap.total_seconds()  # RQ's own wait between reconnects while idle

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        super().request_stop(signum, frame)


def _connected(sleep: Callable[[float], None]) -> Runtime:
    """The process's runtime, waiting with backoff while the database cannot be reached."""
    failures = 0
    while True:
        try:
            return _rt()
        except DBAPIError as exc:
            failures += 1
            wait = RECONNECT.wait(failures).total_seconds()
            log.warning("worker: the database is unreachable (%s); trying again in %.1f s", type(exc).__name__, wait)
            sleep(wait)


def _tick_once(rt: Runtime, connection: redis.Redis) -> str:
    """Run the tick if this worker takes the cluster-wide tick lock; say what happened (never raises)."""
    lock = connection.lock(TICK_LOCK, timeout=TICK_LOCK_SECONDS)
    try:
        if not lock.acquire(blocking=False):
            return "busy"  # another worker ticks now: nothing to report
    except REDIS_DOWN as exc:
        return f"Redis unreachable ({type(exc).__name__})"
    try:
        run_tick(rt)
        return "ran"
    except DBAPIError as exc:
        return f"the database is unreachable ({type(exc).__name__})"
    except Exception:
        log.exception("tick failed")
        return "failed"
    finally:
        try:
            lock.release()
        except (redis.exceptions.LockError, *REDIS_DOWN):
            pass  # expired, or Redis is gone: the lock times out by itself


def run_worker(tick_seconds: float = 2.0, burst: bool = False, *, sleep: Callable[[float], None] = time.sleep) -> None:
    """Run an RQ worker on the leadwire queue, with the tick in a thread (one tick at a time, cluster-wide),
    until SIGTERM / SIGINT (or, with `burst`, until the queue is empty)."""
    rt = _connected(sleep)
    queue = rt.queue
    if not isinstance(queue, RQQueue):  # build_runtime(queue="rq") makes one
        raise TypeError(f"the worker needs the RQ queue, not {type(queue).__name__}")
    stop = threading.Event()

    def ticker() -> None:
        last = "ran"
        while not stop.wait(tick_seconds):
            state = _tick_once(rt, queue.connection)
            if state not in ("ran", "busy", "failed", last):
                log.warning("tick skipped: %s; it runs again once that is back", state)
            last = state if state != "busy" else last

    if not burst:
        threading.Thread(target=ticker, daemon=True, name="leadwire-tick").start()
    failures = 0
    try:
        while True:
            # SimpleWorker runs jobs in this process: a forked child would reuse the parent's database connections
            worker = _Worker([queue.rq], connection=queue.connection, serializer=JSONSerializer)
            try:
                worker.work(burst=burst, with_scheduler=False)
            except REDIS_DOWN:
                pass  # Redis dropped under a job or a heartbeat (RQ retries only its idle wait itself)
            if worker.stopping or burst:
                return
            failures = _wait_for_redis(queue.connection, failures, sleep)
    except StopRequested:  # SIGTERM while waiting for Redis
        return
    finally:
        stop.set()


def _wait_for_redis(connection: redis.Redis, failures: int, sleep: Callable[[float], None]) -> int:
    """Sleep with backoff until Redis answers a PING; return the failures counted so far (0 once back)."""
    while True:
        failures += 1
        wait = RECONNECT.wait(failures).total_seconds()
        log.warning("worker: lost Redis; reconnecting in %.1f s", wait)
        sleep(wait)
        try:
            connection.ping()
        except REDIS_DOWN:
            continue
        log.warning("worker: Redis is back after %d attempts", failures)
        return 0
