"""The periodic tick: every timer is a timestamp column that one of these steps scans.

Each step takes (runtime, now), does what is due, and returns how many things it handled. Steps are
safe to run twice and concurrently: they take rows with conditional updates or leases.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Callable

from connector import capture, feedback, notify, offers, sync
from connector.crm import events as crm_events

if TYPE_CHECKING:
    from connector.runtime import Runtime

STEPS: list[Callable[["Runtime", datetime], int]] = [
    capture.retake_stalled,
    feedback.send_due,
    feedback.escalate_overdue,
    notify.retry_step,
    offers.expire_step,
    sync.drain_due,
    crm_events.poll_due,
]


def run_tick(rt: "Runtime", now: datetime | None = None) -> dict[str, int]:
    """Run every step once as of `now` (default: the runtime's clock); return what each did."""
    now = now or rt.clock.now()
    done: dict[str, int] = {}
    for step in STEPS:
        done[f"{step.__module__.rsplit('.', 1)[-1]}.{step.__name__}"] = step(rt, now)
    return done
