"""Vendor rate limits shared by every process: "blocked until" marks and call windows per limit key.

A key names one vendor limit, e.g. "hubspot:ten_secondly", "hubspot:daily", "hubspot:search",
"salesforce:daily". `block(key, until)` records that the vendor refused calls until `until` (epoch
seconds); `wait(key)` is how long a caller must still wait; `take(key, per, window)` reserves one call
in a fixed window of `window` seconds holding at most `per` calls and returns the seconds to wait first
(0: go now). Memory limits serve one process (the embedded default, tests); RedisLimits serve every
process of a deployment through the REDIS_URL server.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol


class Limits(Protocol):
    def block(self, key: str, until: float) -> None: ...
    def wait(self, key: str) -> float: ...
    def take(self, key: str, per: int, window: float) -> float: ...


class MemoryLimits:
    """Limits held in this process (thread-safe); `now` is injectable for tests."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.now = now
        self._blocked: dict[str, float] = {}
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (window number, calls taken in it)
        self._lock = threading.Lock()

    def block(self, key: str, until: float) -> None:
        with self._lock:
            self._blocked[key] = max(until, self._blocked.get(key, 0.0))

    def wait(self, key: str) -> float:
        with self._lock:
            return max(0.0, self._blocked.get(key, 0.0) - self.now())

    def take(self, key: str, per: int, window: float) -> float:
        with self._lock:
            now = self.now()
            number = math.floor(now / window)
            current, taken = self._windows.get(key, (number, 0))
            if current != number:
                current, taken = number, 0
            if taken < per:
                self._windows[key] = (current, taken + 1)
                return 0.0
            return (current + 1) * window - now


class RedisLimits:
    """Limits in Redis, so that every web and worker process keeps within one vendor budget."""

    def __init__(self, connection: Any, *, prefix: str = "leadwire:limits:",
                 now: Callable[[], float] = time.time) -> None:
        self.redis = connection
        self.prefix = prefix
        self.now = now

    def block(self, key: str, until: float) -> None:
        ttl = max(1, math.ceil(until - self.now()))
        name = f"{self.prefix}blocked:{key}"
        current = self.redis.get(name)
        if current is None or float(current) < until:
            self.redis.set(name, repr(until), ex=ttl)

    def wait(self, key: str) -> float:
        value = self.redis.get(f"{self.prefix}blocked:{key}")
        return max(0.0, float(value) - self.now()) if value is not None else 0.0

    def take(self, key: str, per: int, window: float) -> float:
        now = self.now()
        number = math.floor(now / window)
        name = f"{self.prefix}window:{key}:{number}"
        pipe = self.redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, max(1, math.ceil(window)) + 1)
        taken = int(pipe.execute()[0])
        return 0.0 if taken <= per else (number + 1) * window - now


def limits_for(env: Any) -> Limits:
    """RedisLimits when REDIS_URL is set (shared by all processes), else MemoryLimits."""
    url = env.get("REDIS_URL") if hasattr(env, "get") else None
    if url:
        import redis  # local: the embedded default runs without the redis client
        return RedisLimits(redis.Redis.from_url(url))
    return MemoryLimits()
