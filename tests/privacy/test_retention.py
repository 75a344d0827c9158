"""The retention purge: each kind of personal data older than its age in flows.yaml `retention:` is gone
after a tick (on SQLite and PostgreSQL), younger data stays, and each run takes a bounded batch."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from connector.flows.model import Retention
from connector.jobs.tick import run_tick
from connector.store import retention
from connector.store.models import Email, InboxItem, Lead, PrivacyRecord, TimelineEvent
from tests.flows.helpers import BASE, FLOWS, line_of, problems, spec

SECTION = """\
retention:
  inbox_payloads: 90d
  rejected_payloads: 30d
  timelines: 104w
  emails: 26w
  closed_leads: 156w
"""
DAY = timedelta(days=1)


def test_a_retention_section_gives_each_kind_its_age(tmp_path):
    loaded = spec(tmp_path, BASE + SECTION + FLOWS)
    assert loaded.retention.ages() == {"inbox_payloads": 90 * DAY, "rejected_payloads": 30 * DAY,
                                       "timelines": 728 * DAY, "emails": 182 * DAY, "closed_leads": 1092 * DAY}
    assert spec(tmp_path).retention.ages() == {}  # no section: everything is kept


def test_retention_errors_name_their_line(tmp_path):
    text = BASE + "retention:\n  inbox_payload: 90d\n  emails: soon\n  timelines: 2h\n" + FLOWS
    found = problems(tmp_path, text)
    for needle, words in (("inbox_payload:", ('unknown key', 'did you mean "inbox_payloads"')),
                          ("emails: soon", ("retention.emails must be a duration",)),
                          ("timelines: 2h", ("retention.timelines 2h is outside the allowed range",))):
        hits = [p for p in found if p.startswith(f"flows.yaml:{line_of(text, needle)}:") or
                f"flows.yaml:{line_of(text, needle)}:" in p]
        assert hits and all(w in hits[0] for w in words), (needle, found)


@pytest.fixture
def runtime(make_runtime, db_url):
    rt = make_runtime(db_url)
    rt.spec = dataclasses.replace(rt.spec, retention=Retention(
        inbox_payloads=90 * DAY, rejected_payloads=30 * DAY, timelines=365 * DAY, emails=180 * DAY,
        closed_leads=365 * DAY))
    return rt


def seed(rt, age: timedelta, tag: str) -> dict[str, int]:
    """One row of each kind, `age` old; returns their ids."""
    at = rt.clock.now() - age
    with rt.db.session() as s:
        processed = InboxItem(source="api", channel="api", idempotency_key=f"p-{tag}", payload=f'{{"email": "{tag}"}}',
                              received_at=at, status="processed")
        rejected = InboxItem(source="api", channel="api", idempotency_key=f"r-{tag}", payload="{}", received_at=at,
                             status="rejected", errors=[{"field": "email", "message": "missing"}])
        won = Lead(source="api", email=f"won-{tag}@example.com", last_name="Won", status="won", captured_at=at,
                   closed_at=at, updated_at=at)
        open_lead = Lead(source="api", email=f"open-{tag}@example.com", status="accepted", captured_at=at,
                         updated_at=at)
        s.add_all([processed, rejected, won, open_lead])
        s.flush()
        event = TimelineEvent(lead_id=open_lead.id, at=at, kind="note", message="called")
        audit = TimelineEvent(lead_id=won.id, at=at, kind="privacy.erased", message="erased", data={"leads": 1})
        sent = Email(kind="offer", to="rep@example.com", subject="s", body_text="b", status="sent",
                     next_attempt_at=at, created_at=at)
        queued = Email(kind="offer", to="rep@example.com", subject="s", body_text="b", status="queued",
                       next_attempt_at=at, created_at=at)
        s.add_all([event, audit, sent, queued])
        s.flush()
        return {"processed": processed.id, "rejected": rejected.id, "won": won.id, "open": open_lead.id,
                "event": event.id, "audit": audit.id, "sent": sent.id, "queued": queued.id}


def test_the_tick_purges_each_kind_past_its_age_and_keeps_the_rest(runtime):
    old, young = seed(runtime, 400 * DAY, "old"), seed(runtime, 20 * DAY, "young")
    assert run_tick(runtime)["privacy.retention"] == 5
    with runtime.db.session() as s:
        assert s.get(InboxItem, old["processed"]).payload == retention.PURGED
        assert s.get(InboxItem, old["rejected"]) is None
        assert s.get(TimelineEvent, old["event"]) is None
        assert s.get(TimelineEvent, old["audit"]) is not None  # erasure audits stay
        assert s.get(Email, old["sent"]) is None and s.get(Email, old["queued"]) is not None  # unsent still goes
        won = s.get(Lead, old["won"])
        assert (won.status, won.email, won.last_name) == ("won", None, None)  # counted, no longer a person
        assert s.get(Lead, old["open"]).email == "open-old@example.com"  # an open lead is being worked
        assert s.get(InboxItem, young["processed"]).payload == '{"email": "young"}'
        assert s.get(InboxItem, young["rejected"]) is not None and s.get(Lead, young["won"]).email
        assert s.get(TimelineEvent, young["event"]) is not None and s.get(Email, young["sent"]) is not None
        (log,) = s.scalars(select(PrivacyRecord)).all()
        assert (log.action, log.by, log.person) == ("purge", "retention", None)
        assert log.counts == {"inbox_payloads": 1, "rejected_payloads": 1, "timelines": 1, "emails": 1,
                              "closed_leads": 1}
    assert run_tick(runtime)["privacy.retention"] == 0  # nothing twice
    runtime.clock.advance(days=80)  # the young rows' turn: 100 days old now
    assert run_tick(runtime)["privacy.retention"] == 2  # the processed payload (90d) and the rejected row (30d)


def test_each_run_purges_a_bounded_batch(runtime, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)
    at = runtime.clock.now() - 200 * DAY
    with runtime.db.session() as s:
        s.add_all([Email(kind="offer", to="rep@example.com", subject="s", body_text="b", status="sent",
                         next_attempt_at=at, created_at=at) for _ in range(5)])
    assert [retention.purge_due(runtime, runtime.clock.now()) for _ in range(4)] == [2, 2, 1, 0]
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Email)) == 0
