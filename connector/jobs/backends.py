"""Three backends of the Queue protocol (connector.core.runtime): inline, threads, RQ.

Jobs carry a task name and JSON arguments (ids), never objects.
"""
from __future__ import annotations

import logging
import queue as stdlib_queue
import threading
from typing import Any

from connector.core.runtime import Queue, Runtime
from connector.jobs.tasks import TASKS
from connector.jobs.tick import run_tick

log = logging.getLogger(__name__)
WAKE = "__wake__"  # ThreadQueue: marks a job queued by wake()
WAKE_TTL = 10  # RQQueue: seconds a wake-up flag lives, so a lost wake-up job is replaced after it


def run_task(rt: Runtime, task: str, *args: Any) -> None:
    """Run one registered task; unknown names are a programming error."""
    TASKS[task](rt, *args)


def _attached(queue: Queue) -> Runtime:
    """The runtime a queue runs its jobs with (build_runtime attaches it)."""
    if queue.runtime is None:
        raise RuntimeError(f"{type(queue).__name__} has no runtime: build it with build_runtime")
    return queue.runtime


class InlineQueue:
    """Runs each job at once in the caller (tests, CLI import). Errors propagate to the caller.

    `synchronous`: when a wake-up returns, the caller's own work is done — a batch waits for rows
    another caller holds instead of skipping them (capture/batch.py)."""

    synchronous = True

    def __init__(self) -> None:
        self.runtime: Runtime | None = None

    def enqueue(self, task: str, *args: Any) -> None:
        run_task(_attached(self), task, *args)

    def wake(self, task: str) -> None:
        run_task(_attached(self), task)

    def close(self) -> None:
        pass


class ThreadQueue:
    """Embedded default: background worker threads plus a tick thread every `tick_seconds`."""

    def __init__(self, workers: int = 2, tick_seconds: float = 1.0) -> None:
        self.runtime: Runtime | None = None
        self._jobs: stdlib_queue.Queue[tuple[str, tuple[Any, ...]]] = stdlib_queue.Queue()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._pending = 0
        self._tick_seconds = tick_seconds
        self._threads = [threading.Thread(target=self._work, daemon=True, name=f"leadwire-worker-{i}")
                         for i in range(workers)]
        self._threads.append(threading.Thread(target=self._ticker, daemon=True, name="leadwire-tick"))
        self._started = False
        self._waking: set[str] = set()  # wake-ups queued and not started yet

    def start(self) -> None:
        if not self._started:
            self._started = True
            for t in self._threads:
                t.start()

    def enqueue(self, task: str, *args: Any) -> None:
        with self._idle:
            self._pending += 1
        self._jobs.put((task, args))
        self.start()

    def wake(self, task: str) -> None:
        with self._idle:
            if task in self._waking:
                return
            self._waking.add(task)
            self._pending += 1
        self._jobs.put((task, (WAKE,)))
        self.start()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every enqueued job has run (demo and tests)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                task, args = self._jobs.get(timeout=0.2)
            except stdlib_queue.Empty:
                continue
            if args == (WAKE,):
                with self._idle:
                    self._waking.discard(task)  # a wake-up from now on runs the task again
                args = ()
            try:
                run_task(_attached(self), task, *args)
            except Exception:  # the tick re-takes unfinished work from the database
                log.exception("job %s failed", task)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _ticker(self) -> None:
        while not self._stop.wait(self._tick_seconds):
            try:
                run_tick(_attached(self))
            except Exception:
                log.exception("tick failed")

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            if t.is_alive():
                t.join(timeout=5)


class RQQueue:
    """Production: RQ on Redis with the JSON serializer; `leadwire worker` runs the jobs."""

    name = "leadwire"

    def __init__(self, redis_url: str) -> None:
        import redis
        from rq import Queue as RQ
        from rq.serializers import JSONSerializer

        self.connection = redis.Redis.from_url(redis_url)
        self.rq = RQ(self.name, connection=self.connection, serializer=JSONSerializer)
        self.runtime: Runtime | None = None

    def enqueue(self, task: str, *args: Any) -> None:
        self.rq.enqueue("connector.jobs.worker.perform", task, *args, result_ttl=0, failure_ttl=86400)

    @staticmethod
    def wake_flag(task: str) -> str:
        return f"leadwire:wake:{task}"

    def wake(self, task: str) -> None:
        """One Redis command (SET NX) while a wake-up job is pending; the job clears the flag as it
        starts (worker.perform_wake), so a wake-up after that queues the next one."""
        if self.connection.set(self.wake_flag(task), 1, nx=True, ex=WAKE_TTL):
            self.rq.enqueue("connector.jobs.worker.perform_wake", task, result_ttl=0, failure_ttl=86400)

    def close(self) -> None:
        self.connection.close()
