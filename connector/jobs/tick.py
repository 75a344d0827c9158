"""The periodic tick: every timer is a timestamp column that one of these steps scans.

Each step takes (runtime, now), does what is due, and returns how many things it handled. Steps are
safe to run twice and concurrently: they take rows with conditional updates or leases.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from connector import notify
from connector.capture import inbox, lifecycle
from connector.core.runtime import Runtime
from connector.pursuit import requests
from connector.routing import offers, release, siblings
from connector.store import retention
from connector.sync import deliveries, drain, erasure
from connector.sync import events as crm_events

STEPS: dict[str, Callable[[Runtime, datetime], int]] = {
    "capture.retake_stalled": inbox.retake_stalled,
    "capture.rescore_due": lifecycle.rescore_due,
    "feedback.send_due": requests.send_due,
    "feedback.escalate_overdue": requests.escalate_overdue,
    "outbox.retry_step": notify.retry_step,
    "offers.expire_step": offers.expire_step,
    "offers.release_held": release.release_held,
    "accounts.settle_won": siblings.settle_won,
    "sync.drain_due": drain.drain_due,
    "events.poll_hubspot": crm_events.poll_hubspot_due,
    "events.poll_salesforce": crm_events.poll_salesforce_due,
    "sync.retake_deliveries": deliveries.retake_due,
    "privacy.retention": retention.purge_due,
    "privacy.crm_delete_due": erasure.crm_delete_due,
}


def run_tick(rt: Runtime, now: datetime | None = None) -> dict[str, int]:
    """Run every step once as of `now` (default: the runtime's clock); return what each did."""
    now = now or rt.clock.now()
    done: dict[str, int] = {}
    for name, step in STEPS.items():
        done[name] = step(rt, now)
    return done
