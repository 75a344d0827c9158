"""Vendor limits shared by every process: blocks until a time, and call windows, in memory and in Redis."""
from __future__ import annotations

import time

import pytest
import redis

from connector.crm.limits import MemoryLimits, RedisLimits, limits_for


class Now:
    """An injectable epoch clock."""

    def __init__(self, at: float = 1_767_600_000.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


@pytest.fixture(params=["memory", "redis"])
def limits(request):
    now = Now()
    if request.param == "memory":
        return MemoryLimits(now), now
    conn = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    return RedisLimits(conn, now=now), now


def test_a_block_holds_until_its_time_and_a_later_block_extends_it(limits):
    box, now = limits
    box.block("hubspot:daily", now.at + 100)
    box.block("hubspot:daily", now.at + 50)  # an earlier end never shortens a block
    assert box.wait("hubspot:daily") == pytest.approx(100) and box.wait("hubspot:ten_secondly") == 0
    now.at += 60
    assert box.wait("hubspot:daily") == pytest.approx(40)
    now.at += 41
    assert box.wait("hubspot:daily") == 0


def test_take_admits_per_calls_a_window_then_says_how_long_to_wait(limits):
    box, now = limits
    now.at = 1_767_600_000.0  # the start of a 1-s window
    assert [box.take("hubspot:search", 4, 1.0) for _ in range(4)] == [0.0] * 4
    assert box.take("hubspot:search", 4, 1.0) == pytest.approx(1.0)
    now.at += 0.25
    assert box.take("hubspot:search", 4, 1.0) == pytest.approx(0.75)
    now.at += 0.75
    assert box.take("hubspot:search", 4, 1.0) == 0.0


def test_redis_limits_are_seen_by_every_process(redis_url):
    now = Now(time.time())  # the other process reads the real clock
    one = RedisLimits(redis.Redis.from_url(redis_url), now=now)
    other = limits_for({"REDIS_URL": redis_url})
    assert isinstance(other, RedisLimits)
    one.block("salesforce:daily", now.at + 3600)
    assert other.wait("salesforce:daily") > 0
    assert isinstance(limits_for({}), MemoryLimits)
