"""Nothing waits unseen: a lead routed while no eligible rep is working is held until the first one's day
starts in their own time zone, and offered by the tick then (shipped flows.yaml: offer.outside_hours hold);
the offer_anyway and escalate variants."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.jobs.tick import run_tick
from connector.store import timeline
from connector.store.models import Email
from connector.store.statuses import LeadStatus
from connector.web import create_app
from tests.support import lifecycle_accounts as h

MON_22_BERLIN = datetime(2026, 1, 5, 21, 0, tzinfo=UTC)    # Monday 22:00 in Berlin (CET, UTC+1)
TUE_09_BERLIN = datetime(2026, 1, 6, 8, 0, tzinfo=UTC)
JO = "jo@northwind.example"


@pytest.fixture
def make_rt(make_runtime, sqlite_url, mailbox, clock):
    """A runtime on `flows` (default: the shipped file) with Jo Rep (Berlin, mon-fri 09:00-17:00) and the
    clock at Monday 22:00 Berlin time; returns (runtime, {rep name: id})."""
    def make(flows=h.SHIPPED, *reps):
        rt = make_runtime(sqlite_url, LEADWIRE_FLOWS=str(flows), SMTP_URL=mailbox.url)
        clock.set(MON_22_BERLIN)
        return rt, h.add_reps(rt, h.BERLIN, *reps)
    return make


def _emails(rt, kind: str) -> list[Email]:
    with rt.db.session() as s:
        return list(s.query(Email).filter(Email.kind == kind).order_by(Email.id))


def test_an_after_hours_lead_is_held_until_09_00_in_the_reps_time_zone_then_offered(make_rt, clock, mailbox):
    rt, ids = make_rt()
    lead_id = h.capture(rt, 0, domain="beispiel.de", country="DE")
    held = h.lead(rt, lead_id)
    assert (held.status, held.hold_until) == (LeadStatus.HELD, TUE_09_BERLIN)
    assert h.messages(rt, lead_id, "held") == ["Held until 2026-01-06 09:00 Europe/Berlin (Jo Rep's day starts): "
                                               "nobody eligible is working now; the offers start then"]
    assert h.offers(rt, lead_id) == [] and _emails(rt, "offer") == [] and _emails(rt, "escalation") == []
    body = create_app(runtime=rt).test_client().get(f"/api/leads/{lead_id}", headers=h.AUTH).get_json()
    assert (body["status"], body["hold_until"]) == ("held", TUE_09_BERLIN.isoformat())

    clock.set(datetime(2026, 1, 6, 7, 59, tzinfo=UTC))     # 08:59 in Berlin
    assert run_tick(rt)["offers.release_held"] == 0
    assert h.offers(rt, lead_id) == [] and h.lead(rt, lead_id).status == LeadStatus.HELD

    clock.set(TUE_09_BERLIN)
    assert run_tick(rt)["offers.release_held"] == 1
    [offer] = h.offers(rt, lead_id)
    released = h.lead(rt, lead_id)
    assert (offer.rep_id, offer.offered_at) == (ids["Jo Rep"], TUE_09_BERLIN)
    assert (released.status, released.hold_until, released.first_offered_at) == ("offered", None, TUE_09_BERLIN)
    [mail] = _emails(rt, "offer")
    assert (mail.to, mail.status) == (JO, "sent") and mailbox.to(JO)
    assert run_tick(rt)["offers.release_held"] == 0        # released once


def test_a_lead_held_on_friday_evening_waits_for_monday_morning(make_rt, clock):
    rt, _ = make_rt()
    clock.set(datetime(2026, 1, 9, 17, 30, tzinfo=UTC))    # Friday 18:30 in Berlin
    lead_id = h.capture(rt, 0, domain="beispiel.de", country="DE")
    assert h.lead(rt, lead_id).hold_until == datetime(2026, 1, 12, 8, 0, tzinfo=UTC)
    clock.set(datetime(2026, 1, 10, 8, 0, tzinfo=UTC))     # Saturday 09:00: not a working day
    assert run_tick(rt)["offers.release_held"] == 0


def test_a_tick_running_late_still_offers_the_lead_as_of_the_end_of_its_hold(make_rt, clock):
    rt, ids = make_rt()
    lead_id = h.capture(rt, 0, domain="beispiel.de", country="DE")
    clock.set(datetime(2026, 1, 6, 21, 0, tzinfo=UTC))     # Tuesday 22:00: the tick was down all day
    assert run_tick(rt)["offers.release_held"] == 1
    [offer] = h.offers(rt, lead_id)
    assert (offer.rep_id, offer.offered_at) == (ids["Jo Rep"], clock.now())


def test_the_hold_ends_when_the_first_eligible_rep_starts(make_rt, clock):
    rt, ids = make_rt(h.SHIPPED, h.TOKYO)                   # Kei's day starts at 00:00 UTC, Jo's at 08:00
    lead_id = h.capture(rt, 0, domain="beispiel.de", country="DE")
    held = h.lead(rt, lead_id)
    assert held.hold_until == datetime(2026, 1, 6, 0, 0, tzinfo=UTC)
    assert "Held until 2026-01-06 09:00 Asia/Tokyo (Kei's day starts)" in h.messages(rt, lead_id, "held")[0]
    clock.set(held.hold_until)
    run_tick(rt)
    assert [o.rep_id for o in h.offers(rt, lead_id)] == [ids["Kei"]]


def test_offer_anyway_offers_at_once_outside_hours(make_rt, tmp_path, mailbox):
    rt, ids = make_rt(h.flows_variant(tmp_path, "outside_hours: hold", "outside_hours: offer_anyway"))
    lead_id = h.capture(rt, 0, domain="beispiel.de", country="DE")
    [offer] = h.offers(rt, lead_id)
    assert offer.rep_id == ids["Jo Rep"] and h.lead(rt, lead_id).status == LeadStatus.OFFERED
    assert h.lead(rt, lead_id).hold_until is None and len(_emails(rt, "offer")) == 1
    [decision] = h.messages(rt, lead_id, "decision")
    assert decision.startswith("routed")
    with rt.db.session() as s:
        data = next(e.data for e in timeline.events(s, lead_id) if e.kind == "decision")
    assert "offered anyway" in data["plan"]["candidates"][0]["reason"]


def test_escalate_escalates_at_once_as_before(make_rt, tmp_path):
    rt, _ = make_rt(h.flows_variant(tmp_path, "outside_hours: hold", "outside_hours: escalate"))
    lead_id = h.capture(rt, 0, domain="beispiel.de", country="DE")
    assert h.lead(rt, lead_id).status == LeadStatus.ESCALATED and h.offers(rt, lead_id) == []
    assert h.lead(rt, lead_id).hold_until is None and len(_emails(rt, "escalation")) == 1
    assert run_tick(rt)["offers.release_held"] == 0
