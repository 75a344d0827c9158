"""Lifecycle helpers: the Ann Lee example on the shipped flows.yaml, touching a lead again, reading it back.

Ann Lee is a CTO at a 5,000-employee finance firm in San Francisco: as a newsletter sign-up she is
nurtured (score 42, MQL 1); her demo request a week later makes her MQL 2 in the `qualified` flow.
"""
from __future__ import annotations

import json
import os
import threading
from typing import Any

from sqlalchemy import select

from connector.capture import inbox
from connector.routing import reps
from connector.store import timeline
from connector.store.models import Email, InboxItem, Lead, Offer, OutboxItem, Rep, TimelineEvent
from tests.support.runtime import REPO

ANN = {"first_name": "Ann", "last_name": "Lee", "email": "ann.lee@bigbank.example", "phone": "+1 415 555 0100",
       "company": "BigBank", "website": "https://bigbank.example", "job_title": "CTO", "country": "United States",
       "state": "CA", "city": "San Francisco", "zip": "94105", "role": "CTO", "employees": "5000",
       "industry": "Finance", "product_interest": "Insight Analytics"}

_keys = iter(range(1, 10**9))


def example_reps(rt) -> dict[str, int]:
    """Import examples/reps.yaml; returns {email: rep id}."""
    reps.import_records(rt, reps.read_yaml(REPO / "examples" / "reps.yaml"))
    with rt.db.session() as s:
        return {r.email: r.id for r in s.scalars(select(Rep))}


def submit(rt, form: str | None = None, *, source: str = "website", **fields: Any) -> int:
    """Post Ann's web form (with `form` and any overrides) through the inbox; returns the lead it landed on."""
    payload: dict[str, Any] = {**ANN, **fields}
    if form is not None:
        payload["form"] = form
    payload = {k: v for k, v in payload.items() if v is not None}
    raw = json.dumps(payload).encode()
    receipt = inbox.accept(rt, source=source, channel="form", raw=raw, payload=payload,
                           idempotency_key=f"touch-{os.getpid()}-{next(_keys)}")
    assert not receipt.errors, receipt.errors
    with rt.db.session() as s:
        item = s.get(InboxItem, receipt.inbox_id)
        assert item is not None and item.lead_id is not None, (item.status, item.errors) if item else None
        return item.lead_id


def lead_of(rt, lead_id: int) -> Lead:
    with rt.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None
        s.expunge(lead)
        return lead


def entries(rt, lead_id: int, kind: str | None = None) -> list[TimelineEvent]:
    """The lead's timeline (of one kind), oldest first."""
    with rt.db.session() as s:
        found = timeline.events(s, lead_id)
        for e in found:
            s.expunge(e)
    return [e for e in found if kind is None or e.kind == kind]


def kinds(rt, lead_id: int) -> list[str]:
    return [e.kind for e in entries(rt, lead_id)]


def offers_of(rt, lead_id: int) -> list[Offer]:
    with rt.db.session() as s:
        return list(s.scalars(select(Offer).where(Offer.lead_id == lead_id).order_by(Offer.id)))


def emails_of(rt, lead_id: int, kind: str | None = None) -> list[Email]:
    with rt.db.session() as s:
        found = s.scalars(select(Email).where(Email.lead_id == lead_id).order_by(Email.id)).all()
    return [e for e in found if kind is None or e.kind == kind]


def outbox_of(rt, lead_id: int) -> list[tuple[str, dict]]:
    """(crm, fields) of the lead's CRM outbox rows, oldest first."""
    with rt.db.session() as s:
        return [(o.crm, dict(o.fields)) for o in
                s.scalars(select(OutboxItem).where(OutboxItem.lead_id == lead_id).order_by(OutboxItem.id))]


def own(rt, lead_id: int, rep_id: int) -> None:
    """Make the rep the lead's owner as an accept does (status accepted), without the offers."""
    now = rt.clock.now()
    with rt.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None
        lead.owner_rep_id, lead.status, lead.accepted_at, lead.outcome = rep_id, "accepted", now, "routed"


# ---- a worker process for the concurrency tests (spawned: it builds its own runtime) ---------------------

PAUSE_SECONDS = 5.0  # how long a worker holding the lead waits for the other one to have read it too


def touch_worker(env: dict, now_iso: str, fields: dict, start, pause, results) -> None:
    """Submit one repeat touch once every worker is ready. Between reading the stored lead and writing the
    merge, wait at `pause` until the other worker has read it as well: without the lead lock both read the
    same lead (a lost update is then certain); with it the other is kept out, and this one gives up waiting
    after PAUSE_SECONDS and goes on (the outcome never depends on the wait)."""
    from datetime import datetime

    from connector.core.clock import FakeClock
    from connector.core.config import load_settings
    from connector.flows import merge
    from connector.jobs.boot import build_runtime

    original = merge.merge

    def paused(*args, **kwargs):
        merged = original(*args, **kwargs)
        try:
            pause.wait(PAUSE_SECONDS)
        except threading.BrokenBarrierError:
            pass
        return merged

    merge.merge = paused
    rt = build_runtime(load_settings(env), queue="inline", clock=FakeClock(datetime.fromisoformat(now_iso)),
                       upgrade=False)
    try:
        start.wait(60)
        results.put(submit(rt, **fields))
    finally:
        merge.merge = original
        rt.close()
