"""Entry points for the concurrency tests' child processes (spawned: each builds its own runtime)."""
from __future__ import annotations


def _runtime(env: dict):
    from connector.core.clock import FakeClock
    from connector.core.config import load_settings
    from connector.jobs.boot import build_runtime

    return build_runtime(load_settings(env), queue="inline", clock=FakeClock(), upgrade=False)


def capture_many(env: dict, prefix: str, count: int, barrier) -> None:
    """Capture `count` round-robin leads once every process is ready."""
    from tests.support.routing import capture

    rt = _runtime(env)
    barrier.wait(30)
    for i in range(count):
        capture(rt, email=f"{prefix}{i}@{prefix}x{i}.example", campaign="rr")
    rt.close()


def accept(env: dict, offer_id: int, barrier, results) -> None:
    """Click accept on one offer at the same moment as the others."""
    from connector.routing import offers

    rt = _runtime(env)
    barrier.wait(30)
    results.put((offer_id, offers.accept(rt, offer_id).status))
    rt.close()
