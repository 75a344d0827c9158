"""One tick at a time across workers: the worker that loses the Redis lock skips its tick quietly (no error,
no traceback), and an unreachable Redis or database skips a tick without raising."""
from __future__ import annotations

import logging

import redis
from sqlalchemy.exc import OperationalError

from connector.jobs import worker
from tests.support.servers import free_port


def test_the_worker_that_loses_the_tick_lock_skips_quietly(make_runtime, sqlite_url, redis_url, caplog, monkeypatch):
    rt = make_runtime(sqlite_url)
    ticks = []
    monkeypatch.setattr(worker, "run_tick", lambda runtime: ticks.append(runtime))
    conn = redis.Redis.from_url(redis_url)
    other = conn.lock(worker.TICK_LOCK, timeout=worker.TICK_LOCK_SECONDS)
    assert other.acquire(blocking=False)  # another worker is ticking
    with caplog.at_level(logging.DEBUG):
        assert [worker._tick_once(rt, conn) for _ in range(3)] == ["busy"] * 3
    assert ticks == [] and not [r for r in caplog.records if r.levelno >= logging.WARNING]
    other.release()
    assert worker._tick_once(rt, conn) == "ran" and ticks == [rt]
    assert conn.get(worker.TICK_LOCK) is None  # released after the tick


def test_an_unreachable_redis_or_database_skips_the_tick_without_raising(make_runtime, sqlite_url, redis_url,
                                                                        monkeypatch):
    rt = make_runtime(sqlite_url)
    gone = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    assert worker._tick_once(rt, gone) == "Redis unreachable (ConnectionError)"
    def down(runtime):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError())

    monkeypatch.setattr(worker, "run_tick", down)
    conn = redis.Redis.from_url(redis_url)
    assert worker._tick_once(rt, conn) == "the database is unreachable (OperationalError)"
    assert conn.get(worker.TICK_LOCK) is None
