"""Entry point for the killed-worker test's child process (spawned: it builds its own runtime)."""
from __future__ import annotations

import os


def die_mid_batch(env: dict, after: int) -> None:
    """Run one batch as `leadwire worker` would, and die (no cleanup, like SIGKILL) after `after` leads
    were stored in its open transaction."""
    from connector.capture import batch, decide
    from connector.core.clock import FakeClock
    from connector.core.config import load_settings
    from connector.jobs.boot import build_runtime

    rt = build_runtime(load_settings(env), queue="inline", clock=FakeClock(), upgrade=False)
    real = decide.decide_and_store
    stored = []

    def store_then_maybe_die(*args, **kwargs):
        lead = real(*args, **kwargs)
        stored.append(lead.id)
        if len(stored) == after:
            args[0].flush()
            os._exit(9)
        return lead

    decide.decide_and_store = store_then_maybe_die
    batch.process_batch(rt)
    os._exit(0)  # pragma: no cover - the batch must have died first
